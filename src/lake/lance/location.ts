/**
 * Where tables live: `<root>/<kind>/<name>.lance`, the root being a local directory (a plain
 * path or file://) or an object-store URI (s3://, gs://, az://…). Size on disk is walked with
 * fs for local roots; object stores have no cheap listing here, so the caller falls back to
 * Lance's own metadata for them.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tenantSegments } from '../../domain/tenant-dir.ts';
import type { LakeKind } from '../lake.ts';

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Table names: what a URL path segment and a directory name can both carry unescaped. */
export const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export interface Location {
  /** The root as given, for display. */
  readonly root: string;
  /** A local directory, or undefined for an object store. */
  readonly localDir: string | undefined;
  kindUri(kind: LakeKind): string;
  tableUri(kind: LakeKind, name: string): string;
}

export function locate(root: string): Location {
  const localDir = root.startsWith('file://') ? fileURLToPath(root) : SCHEME.test(root) ? undefined : resolve(root);
  const base = localDir ?? root.replace(/\/+$/, '');
  const kindUri = (kind: LakeKind): string => (localDir ? join(localDir, kind) : `${base}/${kind}`);
  return {
    root,
    localDir,
    kindUri,
    tableUri: (kind, name) => (localDir ? join(kindUri(kind), `${name}.lance`) : `${kindUri(kind)}/${name}.lance`),
  };
}

export { DEFAULT_TENANT, TENANT_DIR_NAME as TENANT_NAME } from '../../domain/tenant-dir.ts';

/**
 * The lake root of a tenant's namespace (domain/tenant-dir.ts): the `default` tenant keeps the
 * root itself (lakes made before tenants existed open unchanged); tenant T lives under
 * `<root>/tenants/T`. `tenants` is no kind directory, so the default namespace never lists
 * another tenant's tables.
 */
export function tenantRoot(root: string, tenant: string): string {
  const segments = tenantSegments(tenant);
  if (segments === null) throw new Error(`tenant "${tenant}" cannot name a lake namespace (letters, digits, _ . -)`);
  if (segments.length === 0) return root;
  if (root.startsWith('file://') || !SCHEME.test(root)) return join(root.startsWith('file://') ? fileURLToPath(root) : root, ...segments);
  return [root.replace(/\/+$/, ''), ...segments].join('/');
}

/** Sum of the sizes of every file under `dir` (0 when it vanished meanwhile). */
export async function dirSize(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const sizes = await Promise.all(
    entries.map(async (e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return dirSize(path);
      try {
        return (await lstat(path)).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw err;
      }
    }),
  );
  return sizes.reduce((a, b) => a + b, 0);
}
