/**
 * list(): keyset pagination over (created_at DESC, id DESC).
 *
 * The cursor is the (created_at, id) of the last row of a page, so a page starts strictly
 * after it whatever was inserted meanwhile: no duplicates and no skips among rows that
 * existed when paging began. It is base64url JSON, opaque to clients.
 *
 * Lists are per tenant (the API scopes every read to the caller's), on tasks_tenant_created. A
 * list across tenants has no index of its own and sorts what it reads: the one such caller
 * lists leased tasks, which tasks_leased finds.
 *
 * The statement text is assembled from the constant clauses below, picked by WHICH filters
 * are present, never by their values (those are bound parameters). Leaving absent filters
 * out, instead of `(@x IS NULL OR x = @x)`, lets SQLite use the tenant index.
 */
import { LakerayError } from '../../domain/errors.ts';
import type { TaskFilter } from '../task-store.ts';

const CLAUSES = {
  tenant: 'tenant = @tenant',
  status: 'status IN (SELECT value FROM json_each(@statuses))',
  // Names tasks_leased's own condition, so SQLite may use that partial index (it does only for
  // a WHERE that states it): listing active tasks across tenants then reads only them.
  leased: "status IN ('running', 'cancelling')",
  name: 'name = @name',
  // substr/length count characters, so this is an exact prefix test with no LIKE escaping.
  namePrefix: 'substr(name, 1, length(@name_prefix)) = @name_prefix',
  executor: 'executor = @executor',
  cursor: '(created_at, id) < (@cursor_created_at, @cursor_id)',
} as const;

type Clause = keyof typeof CLAUSES;

export interface ListQuery {
  /** Identifies the statement shape, to cache one prepared statement per shape. */
  key: string;
  sql: string;
  params: Record<string, unknown>;
}

export const encodeCursor = (createdAt: number, id: string): string =>
  Buffer.from(JSON.stringify([createdAt, id]), 'utf8').toString('base64url');

export const decodeCursor = (cursor: string): { created_at: number; id: string } => {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length !== 2 || !Number.isFinite(value[0]) || typeof value[1] !== 'string') {
    throw new LakerayError('INVALID_REQUEST', 'invalid list cursor');
  }
  return { created_at: value[0] as number, id: value[1] };
};

/** Builds the statement for `filter`, asking for one row more than a page to detect the last page. */
export const buildListQuery = (filter: TaskFilter): ListQuery => {
  const used: Clause[] = [];
  const params: Record<string, unknown> = { limit: Math.max(0, Math.floor(filter.limit)) + 1 };
  if (filter.tenant !== undefined) {
    used.push('tenant');
    params.tenant = filter.tenant;
  }
  // An empty status list means "no status filter", as an absent one does.
  if (filter.status !== undefined && filter.status.length > 0) {
    if (filter.status.every((s) => s === 'running' || s === 'cancelling')) used.push('leased');
    used.push('status');
    params.statuses = JSON.stringify(filter.status);
  }
  if (filter.name !== undefined) {
    if (filter.name.endsWith('*')) {
      used.push('namePrefix');
      params.name_prefix = filter.name.slice(0, -1);
    } else {
      used.push('name');
      params.name = filter.name;
    }
  }
  if (filter.executor !== undefined) {
    used.push('executor');
    params.executor = filter.executor;
  }
  if (filter.cursor !== undefined) {
    const c = decodeCursor(filter.cursor);
    used.push('cursor');
    params.cursor_created_at = c.created_at;
    params.cursor_id = c.id;
  }
  const where = used.length === 0 ? '' : `WHERE ${used.map((c) => CLAUSES[c]).join(' AND ')}`;
  return {
    key: used.join(','),
    sql: `SELECT * FROM tasks ${where} ORDER BY created_at DESC, id DESC LIMIT @limit`,
    params,
  };
};
