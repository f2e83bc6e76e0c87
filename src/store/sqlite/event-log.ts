/**
 * The SQLite store's event log (TaskStore.appendEvents, readEvents): per-task, gap-free
 * sequence numbers handed out inside the caller's write transaction, the latest progress kept
 * on the task row, and a deposed owner's events dropped (fence).
 */
import type Database from 'better-sqlite3';
import type { NewEvent, TaskEvent } from '../../domain/events.ts';
import { type EventRow, rowToEvent } from '../rows.ts';
import { EventBatchInsert, type EventInserts } from './event-batch.ts';
import type { SqliteOwners } from './owners.ts';
import type { Statements } from './queries.ts';
import type { RowMemory } from './row-memory.ts';

export class SqliteEventLog {
  constructor(
    private readonly db: Database.Database,
    private readonly q: Statements,
    private readonly inserts: EventInserts,
    private readonly owners: SqliteOwners,
    private readonly memory: RowMemory,
  ) {}

  /** The append as a transaction, for the store to run as a write. */
  append(events: NewEvent[]): Database.Transaction<() => TaskEvent[]> {
    return this.db.transaction(() => {
      // Per task in this batch: its tenant, the last seq handed out, and the newest progress.
      const heads = new Map<string, { tenant: string; executor: string; seq: number; progress: string | undefined } | null>();
      const holds = this.owners.checker();
      const out: TaskEvent[] = [];
      const rows = new EventBatchInsert(this.inserts);
      const known = this.memory.current();
      for (const e of events) {
        let head = heads.get(e.task_id);
        if (head === undefined) {
          // A running task's head is usually known: its claim went through this store.
          const row = known(e.task_id);
          const fixed = row && this.memory.fixedOf(e.task_id);
          if (row && fixed) head = { tenant: fixed.tenant, executor: fixed.executor, seq: row.last_seq, progress: undefined };
          else {
            const stored = this.q.eventHead.get({ id: e.task_id }) as { tenant: string; executor: string; last_seq: number } | undefined;
            head = stored ? { tenant: stored.tenant, executor: stored.executor, seq: stored.last_seq, progress: undefined } : null;
          }
          heads.set(e.task_id, head);
        }
        // Events of a deleted or unknown task are dropped: a late line from a finished
        // script must not fail the whole batch of other tasks' events. So are a deposed owner's.
        if (head === null) continue;
        if (e.fence !== undefined && (e.fence.executor !== head.executor || !holds(e.fence))) continue;
        head.seq += 1;
        const data = JSON.stringify(e.data);
        rows.add(e.task_id, head.seq, e.type, e.ts, data);
        if (e.type === 'progress') head.progress = data;
        // The stored tenant wins over the caller's: the log belongs to the task.
        out.push({ task_id: e.task_id, tenant: head.tenant, seq: head.seq, type: e.type, ts: e.ts, data: e.data });
      }
      rows.flush();
      // One row update per task, not per event: this is what keeps 20k events cheap.
      for (const [id, head] of heads) {
        if (head === null) continue;
        if (head.progress === undefined) this.q.setLastSeq.run({ id, last_seq: head.seq });
        else this.q.setLastSeqAndProgress.run({ id, last_seq: head.seq, progress: head.progress });
        this.memory.appended(id, head.seq, head.progress);
      }
      return out;
    });
  }

  read(taskId: string, afterSeq: number, limit: number, types?: readonly string[]): TaskEvent[] {
    const params = { task_id: taskId, after: afterSeq, limit: Math.max(0, Math.floor(limit)) };
    // An empty type list means "all types", as an absent one does.
    const rows = (
      types !== undefined && types.length > 0
        ? this.q.readEventsOfTypes.all({ ...params, types: JSON.stringify(types) })
        : this.q.readEvents.all(params)
    ) as EventRow[];
    return rows.map(rowToEvent);
  }
}
