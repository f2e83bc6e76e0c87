/**
 * What an API key may do (docs/api.md "Authentication"): a viewer reads, a member reads and
 * writes its tenant's objects, an admin also manages keys, reads the audit log and administers
 * the tenant. Each role includes the ones below it.
 */
export const ROLES = ['viewer', 'member', 'admin'] as const;

export type Role = (typeof ROLES)[number];

export const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);

/** Whether `role` is at least `needed`. */
export const roleAllows = (role: Role, needed: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(needed);
