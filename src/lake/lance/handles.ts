/**
 * LanceDB connections and table handles, cached.
 *
 * Per kind there are two connections. The `read` one re-checks for new versions on every read
 * (readConsistencyInterval 0 by default; well under 0.1 ms on a local disk), so a commit by
 * anyone, this process or another, is seen by the next read. The
 * `write` one never re-checks: on a re-checking handle `add()` reports the latest version after
 * its commit instead of the version it committed, which is wrong when another process
 * commits in between (seen with 0.39).
 *
 * Per table there is one cached `latest` handle on the read connection; it answers "which
 * version is current" and lists versions and tags. Reads run on handles pinned to a version
 * (immutable, so they are shared and cached, least recently used dropped first), and so are
 * their row counts per filter. Dropped handles are not closed: a scan may still be streaming
 * from one; the GC frees them.
 */
import type { LakeKind } from '../lake.ts';
import { isTableMissing, isVersionMissing, tableNotFound, versionNotFound } from './errors.ts';
import lancedb from './lancedb.ts';
import type { Connection, LanceTable } from './lancedb.ts';
import type { Location } from './location.ts';
import { Lru } from './lru.ts';

export interface HandleOptions {
  /** Passed to LanceDB for object stores (aws_access_key_id, aws_endpoint, …). */
  storageOptions?: Record<string, string>;
  /** Seconds a read may trail other processes' commits; 0 (the default) checks on every read. */
  readConsistencyInterval?: number;
  /** Lance file format of new tables ('2.0', '2.1', 'stable'…); LanceDB's default when unset. */
  dataStorageVersion?: string;
}

const PINNED_HANDLES = 64;
const COUNTS = 512;

export class TableHandles {
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly latestHandles = new Map<string, Promise<LanceTable>>();
  private readonly pinnedHandles = new Lru<Promise<LanceTable>>(PINNED_HANDLES);
  private readonly counts = new Lru<Promise<number>>(COUNTS);
  /** The latest version each table was last seen at: what a read may guess before asking. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly where: Location,
    private readonly opts: HandleOptions,
  ) {}

  connection(kind: LakeKind, role: 'read' | 'write' = 'read'): Promise<Connection> {
    const key = `${kind}:${role}`;
    let conn = this.connections.get(key);
    if (!conn) {
      const storageOptions = { ...this.opts.storageOptions };
      if (this.opts.dataStorageVersion) storageOptions.new_table_data_storage_version = this.opts.dataStorageVersion;
      const consistency = role === 'read' ? { readConsistencyInterval: this.opts.readConsistencyInterval ?? 0 } : {};
      conn = lancedb.connect(this.where.kindUri(kind), { ...consistency, storageOptions });
      this.connections.set(key, conn);
      conn.catch(() => this.connections.delete(key));
    }
    return conn;
  }

  /** The handle that follows the latest version. NOT_FOUND when the table is absent. */
  latest(kind: LakeKind, name: string): Promise<LanceTable> {
    const key = `${kind}/${name}`;
    let handle = this.latestHandles.get(key);
    if (!handle) {
      const opened = this.connection(kind).then((db) => db.openTable(name));
      handle = opened.catch((err: unknown) => {
        if (this.latestHandles.get(key) === handle) this.latestHandles.delete(key);
        throw isTableMissing(err) ? tableNotFound(kind, name) : err;
      });
      this.latestHandles.set(key, handle);
    }
    return handle;
  }

  /** A read-only handle on one version. VERSION_NOT_FOUND / NOT_FOUND when there is none. */
  pinned(kind: LakeKind, name: string, version: number): Promise<LanceTable> {
    const key = `${kind}/${name}@${version}`;
    let handle = this.pinnedHandles.get(key);
    if (!handle) {
      const opened = this.connection(kind).then((db) => db.openTable(name, undefined, { version }));
      const pending: Promise<LanceTable> = opened.catch((err: unknown) => {
        this.pinnedHandles.deleteIf(key, pending);
        if (isVersionMissing(err)) throw versionNotFound(kind, name, version);
        throw isTableMissing(err) ? tableNotFound(kind, name) : err;
      });
      this.pinnedHandles.set(key, pending);
      handle = pending;
    }
    return handle;
  }

  /** Rows of a pinned version matching `filter`, counted once per version and filter. */
  count(kind: LakeKind, name: string, version: number, table: LanceTable, filter: string | undefined): Promise<number> {
    const key = `${kind}/${name}@${version}?${filter ?? ''}`;
    let count = this.counts.get(key);
    if (!count) {
      const pending: Promise<number> = table.countRows(filter).catch((err: unknown) => {
        this.counts.deleteIf(key, pending);
        throw err;
      });
      this.counts.set(key, pending);
      count = pending;
    }
    return count;
  }

  lastSeen(kind: LakeKind, name: string): number | undefined {
    return this.seen.get(`${kind}/${name}`);
  }

  sawLatest(kind: LakeKind, name: string, version: number): void {
    this.seen.set(`${kind}/${name}`, version);
  }

  /** Drop every cached handle and count of a table (deleted, or gone underneath us). */
  forget(kind: LakeKind, name: string): void {
    this.seen.delete(`${kind}/${name}`);
    this.latestHandles.delete(`${kind}/${name}`);
    this.pinnedHandles.deletePrefix(`${kind}/${name}@`);
    this.counts.deletePrefix(`${kind}/${name}@`);
  }

  /** Drop every cached handle and count (connections stay). */
  forgetAll(): void {
    this.latestHandles.clear();
    this.pinnedHandles.clear();
    this.counts.clear();
    this.seen.clear();
  }

  async close(): Promise<void> {
    const handles = [...this.latestHandles.values(), ...this.pinnedHandles.values()];
    const connections = [...this.connections.values()];
    this.latestHandles.clear();
    this.pinnedHandles.clear();
    this.counts.clear();
    this.seen.clear();
    this.connections.clear();
    for (const h of [...(await Promise.allSettled(handles)), ...(await Promise.allSettled(connections))]) {
      // Best effort: a handle still busy (a scan nobody finished) refuses, and is left to GC.
      if (h.status === 'fulfilled' && h.value.isOpen()) closeQuietly(h.value);
    }
  }
}

function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // "cannot be borrowed mutably while another borrow is active": in use; GC frees it later.
  }
}
