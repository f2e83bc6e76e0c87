/**
 * What the SQLite store remembers of recent tasks, so the hot paths read less:
 *
 * - the fixed part (params, resources, labels…: never changes after insert), so a transition
 *   or a dispatch candidate needs only the mutable columns;
 * - the mutable columns of rows this connection wrote or read last, so a transition reads back
 *   only `last_seq` (transition-query.ts) and the dispatcher's candidates need no row at all.
 *
 * Every write of the store updates or forgets the entries it touches. What another connection
 * commits is noticed through `PRAGMA data_version` (checked inside the caller's transaction),
 * and a write transaction that fails forgets everything: either way the next reads go to the
 * rows. Both maps are bounded (the oldest entry goes first), enough for every active task.
 */
import type Database from 'better-sqlite3';
import type { Task } from '../../domain/task.ts';
import { type FixedPart, fixedPart, type MutableRow } from './rows.ts';

const MAX_ENTRIES = 50_000;

const TERMINAL = new Set<string>(['succeeded', 'failed', 'cancelled']);

const put = <V>(map: Map<string, V>, id: string, value: V): void => {
  if (map.size >= MAX_ENTRIES && !map.has(id)) map.delete(map.keys().next().value as string);
  map.set(id, value);
};

export class RowMemory {
  private readonly fixed = new Map<string, FixedPart>();
  private readonly mutable = new Map<string, MutableRow>();
  private readonly dataVersion: Database.Statement;
  private seenVersion = -1;

  constructor(db: Database.Database) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  fixedOf(id: string): FixedPart | undefined {
    return this.fixed.get(id);
  }

  /** Keeps (and returns) the task's fixed part. */
  rememberFixed(task: Task): FixedPart {
    const part = fixedPart(task);
    put(this.fixed, task.id, part);
    return part;
  }

  /** The row's mutable columns as last written or read here, if still known. */
  rowOf(id: string): MutableRow | undefined {
    return this.mutable.get(id);
  }

  /** The row now has these mutable columns (the object is kept: pass one of its own). A finished task is forgotten. */
  rememberRow(id: string, row: MutableRow): void {
    if (TERMINAL.has(row.status)) this.mutable.delete(id);
    else put(this.mutable, id, row);
  }

  /** Its log grew (and maybe its progress changed) through this connection. */
  appended(id: string, lastSeq: number, progress: string | undefined): void {
    const row = this.mutable.get(id);
    if (row === undefined) return;
    row.last_seq = lastSeq;
    if (progress !== undefined) row.progress = progress;
  }

  /** Its placement was recorded (the row's `assignment`, as stored). */
  placed(id: string, assignment: string): void {
    const row = this.mutable.get(id);
    if (row !== undefined) row.assignment = assignment;
  }

  /** The row changed in a way not worth tracking: read it next time. */
  forgetRow(id: string): void {
    this.mutable.delete(id);
  }

  forget(id: string): void {
    this.fixed.delete(id);
    this.mutable.delete(id);
  }

  /** Inside a read: the lookup of rows current in its snapshot (what another connection changed is forgotten first). */
  readonly current = (): ((id: string) => MutableRow | undefined) => {
    this.checkVersion();
    return this.lookup;
  };

  private readonly lookup = (id: string): MutableRow | undefined => this.mutable.get(id);

  /** Call inside a transaction before trusting rows: forgets them if another connection committed. */
  checkVersion(): void {
    const version = this.dataVersion.get() as number;
    if (version === this.seenVersion) return;
    this.mutable.clear();
    this.seenVersion = version;
  }

  /** A write transaction failed: what was remembered during it may be ahead of the rows. */
  writeFailed(): void {
    this.mutable.clear();
  }
}
