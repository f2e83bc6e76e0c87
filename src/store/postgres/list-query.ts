/**
 * list() for PostgreSQL: keyset pagination over (created_at DESC, id DESC) with the same opaque
 * cursor as the SQLite store (encodeCursor/decodeCursor), so a cursor means the same on both.
 *
 * The statement is assembled from the constant clauses below, picked by WHICH filters are
 * present, never by their values (those are bound, numbered in the order they are added).
 * Leaving absent filters out lets the planner use tasks_tenant_created.
 */
import type { TaskFilter } from '../task-store.ts';
import { decodeCursor } from '../sqlite/list-query.ts';

export { encodeCursor } from '../sqlite/list-query.ts';

/** Each clause with `?` where its values go, in order. */
const CLAUSES = {
  tenant: 'tenant = ?',
  status: 'status = ANY(?::text[])',
  name: 'name = ?',
  // left()/char_length() count characters: an exact prefix test with no LIKE escaping.
  namePrefix: 'left(name, char_length(?)) = ?',
  executor: 'executor = ?',
  cursor: '(created_at, id) < (?, ?)',
} as const;

type Clause = keyof typeof CLAUSES;

export const buildListQuery = (filter: TaskFilter): { sql: string; params: unknown[] } => {
  const used: [Clause, unknown[]][] = [];
  if (filter.tenant !== undefined) used.push(['tenant', [filter.tenant]]);
  // An empty status list means "no status filter", as an absent one does.
  if (filter.status !== undefined && filter.status.length > 0) used.push(['status', [filter.status]]);
  if (filter.name !== undefined) {
    if (filter.name.endsWith('*')) {
      const prefix = filter.name.slice(0, -1);
      used.push(['namePrefix', [prefix, prefix]]);
    } else used.push(['name', [filter.name]]);
  }
  if (filter.executor !== undefined) used.push(['executor', [filter.executor]]);
  if (filter.cursor !== undefined) {
    const c = decodeCursor(filter.cursor);
    used.push(['cursor', [c.created_at, c.id]]);
  }
  const params: unknown[] = [];
  const where = used.map(([clause, values]) => {
    params.push(...values);
    let n = params.length - values.length;
    return CLAUSES[clause].replace(/\?/g, () => `$${++n}`);
  });
  params.push(Math.max(0, Math.floor(filter.limit)) + 1);
  const sql = `SELECT * FROM tasks ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`;
  return { sql, params };
};
