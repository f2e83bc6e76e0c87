/**
 * Where a tenant's files live under a root the server keeps per tenant (the lake, uploads,
 * eval reports): the `default` tenant keeps the root itself (what was written before tenants
 * existed stays where it was), tenant T goes under `tenants/T/`. Pure (domain/ imports no
 * node:path): callers join the segments to their root, and say what a name that is no safe
 * directory name means for them (an error of their own).
 */
export const DEFAULT_TENANT = 'default';

/** Tenant names that are also safe directory names (no `/`, never `.` or `..`). */
export const TENANT_DIR_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** The path segments of `tenant`'s directory under its root: none for `default`; null when the name is no safe directory name. */
export function tenantSegments(tenant: string): string[] | null {
  if (tenant === DEFAULT_TENANT) return [];
  return TENANT_DIR_NAME.test(tenant) ? ['tenants', tenant] : null;
}
