/**
 * The lake's use cases (DESIGN.md §6) over the Lake adapter and the task store: browse
 * datasets and models, stream them as Arrow, take uploads, and keep lineage.
 *
 * Tasks reach the lake through the same HTTP endpoints as anyone, naming themselves with
 * X-Lakeray-Task. For such a reader the service
 *   - pins the version it read first, so every later read of that table in the same task
 *     (train split, then test split) sees the same snapshot;
 *   - records what it read, so a version the task then writes carries exact lineage
 *     (task, script, params, and each input with the version read);
 *   - refuses to delete a table a running task reads or writes (409), instead of pulling
 *     the data from under it.
 * What it keeps per task (task-pins.ts) lives only while the task runs.
 */
import { resolve } from 'node:path';
import { LakerayError } from '../../domain/errors.ts';
import { isTerminal, type Task } from '../../domain/task.ts';
import type { EventBus } from '../../events/event-bus.ts';
import { type Lake, type LakeKind, type LineageLog, type ListPage, type ScanOptions, type TableInfo, type VersionInfo, type WriteMode } from '../lake.ts';
import type { Snapshot, SnapshotCache } from '../snapshot-cache.ts';
import { columnsOf } from '../types.ts';
import type { TaskStore } from '../../store/task-store.ts';
import { renderRows } from './cells.ts';
import { ipcStream, modelTable, readIpc } from './ipc.ts';
import { type PinnedRead, TaskPins } from './task-pins.ts';
import { counted, LAKE_NAME, MODEL_META_COLUMNS, notFound, noun, parseJson, toApiError, versionRef, view, type ArrowRead, type LakeQuery, type RowsPage, type RowsQuery, type TableDetail, type TableView, type WriteSummary } from './views.ts';

export { LAKE_NAME, type ArrowRead, type LakeQuery, type ModelFile, type RowsPage, type RowsQuery, type TableDetail, type TableView, type WriteSummary } from './views.ts';


export interface LakeServiceDeps {
  lake: Lake;
  lineage: LineageLog;
  store: TaskStore;
  /** Where the service learns that tasks ended (and forgets what they read and wrote). */
  bus: EventBus;
  /** Local Arrow IPC snapshots for readers on this machine (none: always stream). */
  snapshots?: SnapshotCache;
  /** The tenant whose namespace this is (tenant-lakes.ts): tasks of other tenants are not found here. */
  tenant?: string;
  /** The tenant's lake storage quota in bytes (config tenants.<T>.lake_bytes), null for none. */
  lakeBytes?: () => Promise<number | null>;
  now?: () => number;
}

/** Where deletes are told to the other nodes (events/lake-invalidations.ts). */
export interface TableDeletes {
  publish(table: { tenant: string; kind: LakeKind; name: string }): void;
}

export class LakeService {
  private invalidations: TableDeletes | undefined;
  private readonly pins: TaskPins;
  private readonly now: () => number;
  readonly tenant: string;

  constructor(private readonly deps: LakeServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.tenant = deps.tenant ?? 'default';
    this.pins = new TaskPins(deps.bus, deps.store, this.now);
  }

  /** Stop following task ends. */
  close(): void {
    this.pins.close();
  }

  /** What the service keeps for a running task: its pins and the tables it writes (null: nothing). */
  heldFor(taskId: string): Promise<{ reads: PinnedRead[]; writes: string[] } | null> {
    return this.pins.heldFor(taskId);
  }

  get root(): string {
    return this.deps.lake.root;
  }

  async list(kind: LakeKind, page?: ListPage): Promise<TableView[]> {
    return (await this.deps.lake.list(kind, page)).map(view);
  }

  /** The table now; for a model, its card (files, params, metrics) is read at `version` when given (default: the latest). */
  async describe(kind: LakeKind, name: string, version?: number): Promise<TableDetail> {
    this.checkName(kind, name);
    const info = await this.call(kind, () => this.deps.lake.describe(kind, name));
    const detail: TableDetail = { ...view(info), lineage: (await this.deps.lineage.of(kind, name)).slice(0, 20) };
    if (kind === 'models') Object.assign(detail, await this.call(kind, () => this.modelCard(info, version)), version === undefined ? {} : { version });
    return detail;
  }

  async rows(kind: LakeKind, name: string, q: RowsQuery): Promise<RowsPage> {
    this.checkName(kind, name);
    return this.call(kind, async () => {
      const page = await this.deps.lake.rows(kind, name, { offset: q.offset, limit: q.limit, columns: q.columns, filter: q.filter, version: versionRef(q.version) });
      const columns = columnsOf(page.table.schema);
      const types = new Map(columns.map((c) => [c.name, c.type]));
      return {
        id: name,
        version: page.version,
        offset: q.offset,
        limit: q.limit,
        total: page.total,
        columns,
        rows: renderRows(page.table, types, new Set(q.expand ?? [])),
      };
    });
  }

  async versions(kind: LakeKind, name: string): Promise<VersionInfo[]> {
    this.checkName(kind, name);
    return this.call(kind, () => this.deps.lake.versions(kind, name));
  }

  async tag(kind: LakeKind, name: string, tag: string, version: number): Promise<void> {
    this.checkName(kind, name);
    if (!LAKE_NAME.test(tag) || /^\d+$/.test(tag)) throw new LakerayError('INVALID_REQUEST', `tag: "${tag}" must be a name (letters, digits, _ and -), not a number`);
    await this.call(kind, () => this.deps.lake.tag(kind, name, tag, version));
  }

  async untag(kind: LakeKind, name: string, tag: string): Promise<void> {
    this.checkName(kind, name);
    await this.call(kind, () => this.deps.lake.untag(kind, name, tag));
  }

  async delete(kind: LakeKind, name: string): Promise<void> {
    this.checkName(kind, name);
    if (!(await this.deps.lake.exists(kind, name))) throw new LakerayError(notFound(kind), `${noun(kind)} "${name}" does not exist`);
    const user = await this.activeUser(kind, name);
    if (user)
      throw new LakerayError(
        kind === 'datasets' ? 'DATASET_IN_USE' : 'MODEL_IN_USE',
        `${noun(kind)} "${name}" is in use by running task ${user.id} (${user.name}); cancel it or wait for it to finish`,
      );
    await this.call(kind, () => this.deps.lake.delete(kind, name));
    this.deps.snapshots?.forget(kind, name);
    // Every other node drops its caches of it too (a table made again under this name restarts at version 1).
    this.invalidations?.publish({ tenant: this.tenant, kind, name });
    await this.deps.lineage.forget(kind, name);
  }

  /** Tell the other nodes of every table deleted here (none: one process). */
  publishDeletesTo(invalidations: TableDeletes): void {
    this.invalidations = invalidations;
  }

  /** Another node deleted a table (kind and name), or deletes may have been missed (neither): drop what is cached. */
  dropCached(kind?: LakeKind, name?: string): void {
    this.deps.snapshots?.forget(kind, name);
    this.deps.lake.forgetCached(kind, name);
  }

  /** A scan as an Arrow IPC stream. `taskId` names the running task that reads (pins and lineage). */
  async readArrow(kind: LakeKind, name: string, q: LakeQuery, taskId?: string): Promise<ArrowRead> {
    const scan = await this.pinnedRead(kind, name, q, taskId, (opts) => this.deps.lake.scan(kind, name, opts));
    return { version: scan.version, body: ipcStream(scan.schema, scan.batches) };
  }

  /**
   * The scan as a local Arrow IPC file a reader on this machine memory-maps (same pins and
   * lineage as readArrow). Null when this server keeps no snapshots: stream instead.
   */
  async readArrowFile(kind: LakeKind, name: string, q: LakeQuery, taskId?: string): Promise<Snapshot | null> {
    const cache = this.deps.snapshots;
    if (!cache) return null;
    return this.pinnedRead(kind, name, q, taskId, (opts) => cache.get(kind, name, opts));
  }

  /**
   * One read of a table on behalf of a task (or anyone): an explicit version wins, else the
   * version this task read before; the version actually read becomes the task's pin.
   */
  private async pinnedRead<R extends { version: number }>(kind: LakeKind, name: string, q: LakeQuery, taskId: string | undefined, read: (opts: ScanOptions) => Promise<R>): Promise<R> {
    this.checkName(kind, name);
    const task = taskId === undefined ? null : await this.activeTask(taskId);
    const pinned = task ? await this.pins.pinOf(task.id, kind, name) : undefined;
    const version = versionRef(q.version) ?? pinned?.version;
    const result = await this.call(kind, () => read({ columns: q.columns, filter: q.filter, version }));
    if (task && !pinned) {
      await this.pins.noteRead(task, kind, name, result.version);
      await this.pins.forgetIfEnded(task.id);
    }
    return result;
  }

  /**
   * Write an uploaded Arrow IPC stream as a new version. Models get the platform's model
   * layout: one row per file plus metrics, params and lineage (DESIGN §6).
   */
  async writeArrow(kind: LakeKind, name: string, body: AsyncIterable<Uint8Array>, mode: WriteMode, taskId?: string): Promise<WriteSummary> {
    this.checkName(kind, name);
    const task = taskId === undefined ? null : await this.activeTask(taskId);
    const limit = (await this.deps.lakeBytes?.()) ?? null;
    const upload = { bytes: 0 };
    let table = await readIpc(limit === null ? body : counted(body, upload));
    if (limit !== null) await this.checkQuota(limit, upload.bytes);
    const inputs = task ? await this.pins.readsOf(task.id) : [];
    const now = this.now();
    if (kind === 'models') table = modelTable(table, task, inputs, now);
    if (task) await this.pins.noteWrite(task, kind, name);
    let result: Awaited<ReturnType<Lake['write']>>;
    try {
      result = await this.call(kind, () => this.deps.lake.write(kind, name, table, mode));
    } finally {
      if (task) await this.pins.forgetIfEnded(task.id);
    }
    if (task) {
      await this.deps.lineage.record({ kind, name, version: result.version, task_id: task.id, script: task.script, params: task.params, inputs, created_at: now });
    }
    return { name, kind, version: result.version, num_rows: result.num_rows };
  }

  /** One file of a model (e.g. model.onnx) at a version. */
  async modelFile(name: string, file: string, version?: string): Promise<{ content_type: string; data: Uint8Array; version: number }> {
    this.checkName('models', name);
    return this.call('models', async () => {
      const filter = `file = '${file.replaceAll("'", "''")}'`;
      const page = await this.deps.lake.rows('models', name, { offset: 0, limit: 1, columns: ['file', 'content_type', 'data'], filter, version: versionRef(version) });
      if (page.table.numRows === 0) throw new LakerayError('MODEL_NOT_FOUND', `model "${name}" has no file "${file}"`);
      const row = page.table.get(0) as unknown as { content_type: string | null; data: Uint8Array };
      return { content_type: row.content_type ?? 'application/octet-stream', data: row.data, version: page.version };
    });
  }

  private async modelCard(info: TableInfo, version?: number): Promise<Partial<TableDetail>> {
    const have = new Set(info.columns.map((c) => c.name));
    if (!have.has('file')) return {};
    const columns = MODEL_META_COLUMNS.filter((c) => have.has(c));
    const page = await this.deps.lake.rows('models', info.name, { offset: 0, limit: 1000, columns, version });
    const rows = page.table.toArray() as Record<string, unknown>[];
    const first = rows[0] ?? {};
    return {
      files: rows.map((r) => ({ file: String(r.file), content_type: (r.content_type as string | null) ?? null, size: Number(r.size ?? 0) })),
      metrics: parseJson(first.metrics),
      params: parseJson(first.params),
      task_id: (first.task_id as string | null | undefined) ?? null,
    };
  }

  private async activeTask(taskId: string): Promise<Task> {
    const task = await this.deps.store.get(taskId);
    if (!task || task.tenant !== this.tenant) throw new LakerayError('TASK_NOT_FOUND', `X-Lakeray-Task: task ${taskId} does not exist`);
    if (isTerminal(task.status) || task.status === 'pending') {
      await this.pins.forget(taskId);
      throw new LakerayError('INVALID_REQUEST', `X-Lakeray-Task: task ${taskId} is ${task.status}, not running`);
    }
    return task;
  }

  /** A running task that has this table as input/output, or read or wrote it. */
  private async activeUser(kind: LakeKind, name: string): Promise<Task | null> {
    for (const id of await this.pins.usersOf(kind, name, this.tenant)) {
      const task = await this.deps.store.get(id);
      if (task && task.tenant === this.tenant && !isTerminal(task.status) && task.status !== 'pending') return task;
      await this.pins.forget(id);
    }
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.list({ status: ['running', 'cancelling'], tenant: this.tenant, cursor, limit: 500 });
      const user = page.tasks.find((t) => t.input === name || t.output === name);
      if (user) return user;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return null;
  }

  /**
   * The namespace's bytes on disk (every version of every table) plus this upload must fit the
   * tenant's lake_bytes. Checked before each write: writes racing each other may overshoot by
   * what they upload at once (docs/security.md).
   */
  private async checkQuota(limit: number, incoming: number): Promise<void> {
    let used = 0;
    for (const kind of ['datasets', 'models'] as const) for (const t of await this.deps.lake.list(kind)) used += t.size_bytes;
    if (used + incoming > limit) {
      throw new LakerayError('QUOTA_EXCEEDED', `lake storage: tenant "${this.tenant}" uses ${used} bytes; this upload of ${incoming} bytes would pass its lake_bytes quota of ${limit}`);
    }
  }

  private checkName(kind: LakeKind, name: string): void {
    if (!LAKE_NAME.test(name)) throw new LakerayError('INVALID_REQUEST', `${noun(kind)} name "${name}" must start with a letter or _ and hold only letters, digits, _ and - (at most 128)`);
  }

  private async call<T>(kind: LakeKind, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.withoutRoot(toApiError(err, kind));
    }
  }

  /** An API error never names the lake's root (a LanceDB message may quote a table's URI): `<lake>` instead. */
  private withoutRoot(err: unknown): unknown {
    if (!(err instanceof LakerayError)) return err;
    const given = this.deps.lake.root.replace(/^file:\/\//, '').replace(/\/+$/, '');
    const roots = /^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? [given] : [resolve(given), given];
    const message = roots.reduce((m, root) => (root === '' ? m : m.replaceAll(root, '<lake>')), err.message);
    return message === err.message ? err : new LakerayError(err.code, message);
  }
}
