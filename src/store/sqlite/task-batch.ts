/**
 * Bulk insert of task rows for insert(): a batch submit of thousands of tasks spends most of
 * its store time in per-statement overhead, as appendEvents did. The statement text is
 * constant (the fixed column list, 16 rows of placeholders); values are always bound.
 */
import type Database from 'better-sqlite3';
import type { TaskRow } from '../rows.ts';

const COLUMNS = [
  'id', 'tenant', 'name', 'script', 'input', 'output', 'params', 'executor', 'pool', 'resources',
  'priority', 'timeout_s', 'retry', 'webhook', 'labels', 'status', 'attempt', 'created_at', 'updated_at',
  'started_at', 'finished_at', 'not_before', 'progress', 'result', 'error', 'lease_owner', 'lease_expires_at',
  'assignment', 'idempotency_key', 'body_hash', 'last_seq', 'cancel_reason', 'service', 'webhook_options',
] as const satisfies readonly (keyof TaskRow)[];

/** 16 × 34 = 544 parameters per statement, far below SQLite's limit. */
const CHUNK = 16;
const ROW = `(${COLUMNS.map(() => '?').join(', ')})`;
const insertSql = (rows: number) => `INSERT INTO tasks (${COLUMNS.join(', ')}) VALUES ${Array<string>(rows).fill(ROW).join(', ')}`;

/** The two statements, prepared once per connection. */
export const prepareTaskInserts = (db: Database.Database): { one: Database.Statement; many: Database.Statement } => ({
  one: db.prepare(insertSql(1)),
  many: db.prepare(insertSql(CHUNK)),
});

/** One per insert() call: a failed call cannot leave rows buffered for the next. */
export class TaskBatchInsert {
  private readonly args: unknown[] = [];

  constructor(private readonly stmts: { one: Database.Statement; many: Database.Statement }) {}

  /** Buffers a row; call flush() before anything reads the table and before the transaction ends. */
  add(r: TaskRow): void {
    // In COLUMNS order, written out: a loop over the names is a keyed (megamorphic) load per
    // column, and this runs for every task of every batch submit.
    this.args.push(
      r.id, r.tenant, r.name, r.script, r.input, r.output, r.params, r.executor, r.pool, r.resources,
      r.priority, r.timeout_s, r.retry, r.webhook, r.labels, r.status, r.attempt, r.created_at, r.updated_at,
      r.started_at, r.finished_at, r.not_before, r.progress, r.result, r.error, r.lease_owner, r.lease_expires_at,
      r.assignment, r.idempotency_key, r.body_hash, r.last_seq, r.cancel_reason, r.service, r.webhook_options,
    );
    if (this.args.length === CHUNK * COLUMNS.length) {
      this.stmts.many.run(this.args);
      this.args.length = 0;
    }
  }

  flush(): void {
    for (let i = 0; i < this.args.length; i += COLUMNS.length) this.stmts.one.run(this.args.slice(i, i + COLUMNS.length));
    this.args.length = 0;
  }
}
