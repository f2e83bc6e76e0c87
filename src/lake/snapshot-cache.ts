/**
 * Arrow snapshots of lake scans as local Arrow IPC files, for readers on the same machine.
 *
 * A version of a Lance table never changes, so the result of a scan (table, version, columns,
 * filter) can be written once as an Arrow IPC *file* and handed to local readers by path: a
 * Python task memory-maps it (pyarrow.memory_map + ipc.open_file), which costs a page-table
 * update instead of decoding Lance and copying the data through a socket. Training jobs that
 * read the same dataset again (another epoch, another hyperparameter trial, the test split
 * after the train split) read at the speed of a local file. Remote readers (Ray, Kubernetes)
 * keep using the Arrow stream over HTTP.
 *
 * Files are written to a temp name and renamed, so a reader never sees half a file. The cache
 * is bounded (least recently used files go first) and starts empty: files of a previous run
 * are removed at open. A file removed while a reader has it mapped stays readable to it.
 */
import { createWriteStream, mkdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import arrow, { type RecordBatch, type Schema } from './arrow.ts';
import type { Lake, LakeKind, ScanOptions } from './lake.ts';

export interface Snapshot {
  path: string;
  version: number;
  bytes: number;
  rows: number;
}

interface Entry extends Snapshot {
  kind: LakeKind;
  name: string;
  used: number;
}

export class SnapshotCache {
  private readonly entries = new Map<string, Entry>();
  /** One export per key at a time; later askers wait for it. */
  private readonly pending = new Map<string, Promise<Snapshot>>();
  private total = 0;
  private seq = 0;

  constructor(
    private readonly lake: Lake,
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }

  /** The scan as a local Arrow IPC file: from the cache, or exported now. */
  async get(kind: LakeKind, name: string, opts: ScanOptions): Promise<Snapshot> {
    const version = await this.lake.resolve(kind, name, opts.version);
    const key = keyOf(kind, name, version, opts);
    const hit = this.entries.get(key);
    if (hit && exists(hit.path)) {
      hit.used = ++this.seq;
      return hit;
    }
    let job = this.pending.get(key);
    if (!job) {
      job = (async () => {
        const scan = await this.lake.scan(kind, name, { ...opts, version });
        return this.export(kind, name, key, scan.version, scan.schema, scan.batches);
      })().finally(() => this.pending.delete(key));
      this.pending.set(key, job);
    }
    return job;
  }

  /** Drop every snapshot of a table (it was deleted), or of every table. */
  forget(kind?: LakeKind, name?: string): void {
    for (const [key, e] of this.entries) if (kind === undefined || (e.kind === kind && e.name === name)) this.drop(key, e);
  }

  private async export(kind: LakeKind, name: string, key: string, version: number, schema: Schema, batches: AsyncIterable<RecordBatch>): Promise<Snapshot> {
    const path = join(this.dir, `${key}.arrow`);
    const tmp = `${path}.${process.pid}.${++this.seq}.tmp`;
    const writer = new arrow.RecordBatchFileWriter();
    let rows = 0;
    const feed = (async () => {
      let wrote = false;
      for await (const b of batches) {
        writer.write(b);
        rows += b.numRows;
        wrote = true;
      }
      if (!wrote) writer.write(new arrow.Table(schema));
      writer.finish();
    })();
    try {
      await Promise.all([pipeline(writer.toNodeStream(), createWriteStream(tmp)), feed.catch((err: unknown) => {
        writer.abort();
        throw err;
      })]);
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    const bytes = statSync(path).size;
    const entry: Entry = { kind, name, path, version, bytes, rows, used: ++this.seq };
    this.entries.set(key, entry);
    this.total += bytes;
    this.evict(key);
    return entry;
  }

  private evict(keep: string): void {
    if (this.total <= this.maxBytes) return;
    const byAge = [...this.entries].filter(([k]) => k !== keep).sort((a, b) => a[1].used - b[1].used);
    for (const [key, e] of byAge) {
      if (this.total <= this.maxBytes) break;
      this.drop(key, e);
    }
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    this.total -= e.bytes;
    try {
      unlinkSync(e.path);
    } catch {
      // already gone
    }
  }
}

const keyOf = (kind: LakeKind, name: string, version: number, o: ScanOptions): string => {
  const what = JSON.stringify({ columns: o.columns ?? null, filter: o.filter ?? null });
  return `${kind}-${name}-v${version}-${createHash('sha256').update(what).digest('hex').slice(0, 16)}`;
};

const exists = (p: string): boolean => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};
