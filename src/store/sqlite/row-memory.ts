/**
 * What the SQLite store remembers of its active tasks, so the hot paths read less:
 *
 * - the fixed part (params, resources, labels…: never changes after insert), so a transition
 *   or a dispatch candidate needs only the mutable columns;
 * - the mutable columns of rows this connection wrote or read last, so a transition returns
 *   nothing (transition-query.ts) and the dispatcher's candidates need no row at all.
 *
 * One entry per task, dropped when the task finishes: a finished task is never a candidate
 * again, and a late write to it (a log line after its end) reads its row. Every write of the
 * store updates or forgets the entries it touches. What another connection commits is noticed
 * through `PRAGMA data_version` (checked inside the caller's transaction), and a write
 * transaction that fails forgets every row: either way the next reads go to the rows. Fixed
 * parts survive that (their columns never change). Bounded: past MAX_ENTRIES the oldest entry
 * goes first.
 */
import type Database from 'better-sqlite3';
import { isTerminal, type Task } from '../../domain/task.ts';
import { type FixedPart, fixedPart, type MutableRow } from '../rows.ts';

const MAX_ENTRIES = 50_000;

interface Entry {
  fixed: FixedPart | undefined;
  row: MutableRow | undefined;
  /** The row is current only while this equals the memory's generation. */
  gen: number;
}

export class RowMemory {
  private readonly entries = new Map<string, Entry>();
  /** Bumped to forget every row at once (fixed parts stay). */
  private gen = 0;
  private readonly dataVersion: Database.Statement;
  private seenVersion = -1;

  constructor(db: Database.Database) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  private add(id: string, entry: Entry): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(id, entry);
  }

  /** A task just inserted: its fixed part and its row (the object is kept: pass one of its own). */
  rememberNew(task: Task, row: MutableRow): void {
    this.entries.delete(task.id); // a reused id takes its insertion place anew
    this.add(task.id, { fixed: fixedPart(task), row, gen: this.gen });
  }

  fixedOf(id: string): FixedPart | undefined {
    return this.entries.get(id)?.fixed;
  }

  /** Keeps (and returns) the task's fixed part. */
  rememberFixed(task: Task): FixedPart {
    const part = fixedPart(task);
    const entry = this.entries.get(task.id);
    if (entry === undefined) this.add(task.id, { fixed: part, row: undefined, gen: this.gen });
    else entry.fixed = part;
    return part;
  }

  /** The row's mutable columns as last written or read here, if still known. */
  rowOf(id: string): MutableRow | undefined {
    const entry = this.entries.get(id);
    return entry !== undefined && entry.gen === this.gen ? entry.row : undefined;
  }

  /**
   * The row now has these mutable columns (the object is kept: pass one of its own); a
   * finished task is forgotten. Returns the task's fixed part if known: one lookup for both
   * (a transition needs both, twice per task).
   */
  rememberRow(id: string, row: MutableRow): FixedPart | undefined {
    const entry = this.entries.get(id);
    if (isTerminal(row.status)) {
      if (entry !== undefined) this.entries.delete(id);
      return entry?.fixed;
    }
    if (entry === undefined) {
      this.add(id, { fixed: undefined, row, gen: this.gen });
      return undefined;
    }
    entry.row = row;
    entry.gen = this.gen;
    return entry.fixed;
  }

  /** Its log grew (and maybe its progress changed) through this connection. */
  appended(id: string, lastSeq: number, progress: string | undefined): void {
    const row = this.rowOf(id);
    if (row === undefined) return;
    row.last_seq = lastSeq;
    if (progress !== undefined) row.progress = progress;
  }

  /** Its placement was recorded (the row's `assignment`, as stored). */
  placed(id: string, assignment: string): void {
    const row = this.rowOf(id);
    if (row !== undefined) row.assignment = assignment;
  }

  /** The row changed in a way not worth tracking: read it next time. */
  forgetRow(id: string): void {
    const entry = this.entries.get(id);
    if (entry !== undefined) entry.row = undefined;
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  /** Inside a read: the lookup of rows current in its snapshot (what another connection changed is forgotten first). */
  readonly current = (): ((id: string) => MutableRow | undefined) => {
    this.checkVersion();
    return this.lookup;
  };

  private readonly lookup = (id: string): MutableRow | undefined => this.rowOf(id);

  /** Call inside a transaction before trusting rows: forgets them if another connection committed. */
  checkVersion(): void {
    const version = this.dataVersion.get() as number;
    if (version === this.seenVersion) return;
    this.gen++;
    this.seenVersion = version;
  }

  /** A write transaction failed: what was remembered during it may be ahead of the rows. */
  writeFailed(): void {
    this.gen++;
  }
}
