/**
 * The Lake on LanceDB: one directory per kind (`<root>/datasets`, `<root>/models`) whose
 * tables are exactly its `<name>.lance` directories.
 *
 * Reads ask the table's latest handle for the current version (which re-checks the disk, so
 * every commit made before the read is seen), then run on a handle pinned to that version
 * (see handles.ts): a page and its total, and a whole streamed scan, see one version even
 * while writes land, and reading an old version never moves the latest handle. A page does
 * not wait for that question: it reads the version last seen while asking, and reads again
 * only when the answer differs.
 *
 * Names are checked here too (a TypeError, not a LakeError: callers validate them first), and
 * so are offset and limit (RangeError).
 *
 * Writes, tags and deletes of one table run one at a time here (KeyedQueue); LanceDB
 * resolves conflicts with other processes when it commits.
 */
import arrow from '../arrow.ts';
import type { RecordBatch, Schema, Table } from '../arrow.ts';
import { LakeError } from '../lake.ts';
import type { Lake, LakeKind, ListPage, RowsOptions, ScanOptions, TableInfo, VersionInfo, VersionRef, WriteMode, WriteResult } from '../lake.ts';
import { cleanMessage, isTableMissing, message, isTagTaken, readError, singular, tableNotFound, tagError, tagNotFound, versionNotFound, writeError } from './errors.ts';
import { asOneExpression, checkFilter } from './filter.ts';
import { TableHandles } from './handles.ts';
import type { HandleOptions } from './handles.ts';
import { KeyedQueue } from './keyed-queue.ts';
import type { LanceTable } from './lancedb.ts';
import { dirSize, locate, TABLE_NAME } from './location.ts';
import type { Location } from './location.ts';
import { columnsOf } from '../types.ts';
import { appendTo, createTable } from './writes.ts';

export type LanceLakeOptions = HandleOptions;

type Pinned = { table: LanceTable; version: number };

const WRITE_MODES: readonly WriteMode[] = ['create', 'overwrite', 'append'];

export class LanceLake implements Lake {
  private readonly queue = new KeyedQueue();

  private constructor(
    private readonly where: Location,
    private readonly handles: TableHandles,
  ) {}

  get root(): string {
    return this.where.root;
  }

  static async open(root: string, opts: LanceLakeOptions = {}): Promise<LanceLake> {
    const where = locate(root);
    const handles = new TableHandles(where, opts);
    try {
      await Promise.all([handles.connection('datasets'), handles.connection('models')]);
    } catch (err) {
      throw new Error(`cannot open the lake at ${root}: ${cleanMessage(message(err))}`, { cause: err });
    }
    return new LanceLake(where, handles);
  }

  async list(kind: LakeKind, page?: ListPage): Promise<TableInfo[]> {
    const all = (await (await this.handles.connection(kind)).tableNames()).filter((n) => TABLE_NAME.test(n)).sort();
    const names = page ? all.slice(page.offset, page.offset + page.limit) : all;
    const infos = await Promise.all(names.map((n) => this.describe(kind, n).catch((err: unknown) => (isLake(err, 'NOT_FOUND') ? undefined : Promise.reject(err)))));
    return infos.filter((i): i is TableInfo => i !== undefined);
  }

  async describe(kind: LakeKind, name: string): Promise<TableInfo> {
    assertName(name);
    try {
      const latest = await this.handles.latest(kind, name);
      const [versions, tags] = await Promise.all([latest.listVersions(), tagMap(latest)]);
      versions.sort((a, b) => a.version - b.version);
      const first = versions[0];
      const last = versions[versions.length - 1];
      if (!first || !last) throw tableNotFound(kind, name);
      const pinned = await this.handles.pinned(kind, name, last.version);
      const uri = this.where.tableUri(kind, name);
      const [schema, numRows, size] = await Promise.all([
        pinned.schema(),
        last.metadata.total_rows !== undefined ? Number(last.metadata.total_rows) : pinned.countRows(),
        // Object stores: Lance's own count of the latest version's data files.
        this.where.localDir ? dirSize(uri) : Number(last.metadata.total_files_size ?? 0),
      ]);
      return {
        kind,
        name,
        uri,
        columns: columnsOf(schema),
        num_rows: numRows,
        size_bytes: size,
        version: last.version,
        created_at: epochMs(first.timestamp),
        updated_at: epochMs(last.timestamp),
        tags,
      };
    } catch (err) {
      throw this.failed(err, kind, name);
    }
  }

  async exists(kind: LakeKind, name: string): Promise<boolean> {
    assertName(name);
    try {
      await (await this.handles.latest(kind, name)).version();
      return true;
    } catch (err) {
      const mapped = this.failed(err, kind, name);
      if (isLake(mapped, 'NOT_FOUND')) return false;
      throw mapped;
    }
  }

  async rows(kind: LakeKind, name: string, rowsOpts: RowsOptions): Promise<{ table: Table; total: number; version: number }> {
    const opts = readOptions(rowsOpts, kind, name);
    if (!isCount(opts.offset) || !isCount(opts.limit)) throw new RangeError(`offset and limit must be non-negative integers (got ${opts.offset}, ${opts.limit})`);
    const page = async ({ table, version }: Pinned): Promise<{ table: Table; total: number; version: number }> => {
      const query = table.query().offset(opts.offset).limit(opts.limit);
      if (opts.columns) query.select([...opts.columns]);
      const filter = opts.filter === undefined ? undefined : asOneExpression(opts.filter);
      if (filter !== undefined) query.where(filter);
      const [rows, total] = await settled(query.toArrow(), this.handles.count(kind, name, version, table, filter));
      // An empty result has no batches, hence no schema: give the page the table's.
      const result = rows.batches.length > 0 ? rows : new arrow.Table(project(await table.schema(), opts.columns, kind, name));
      return { table: result, total, version };
    };
    // Asking for the latest version costs a round trip of its own; rather than wait for it,
    // read the version last seen meanwhile, and read again only if the table has moved on.
    const guess = opts.version === undefined ? this.handles.lastSeen(kind, name) : undefined;
    if (guess !== undefined) {
      const [current, result] = await Promise.allSettled([this.latestVersion(kind, name), this.read(kind, name, { ...opts, version: guess }, page)]);
      if (current.status === 'fulfilled' && current.value === guess) {
        if (result.status === 'rejected') throw result.reason;
        return result.value;
      }
    }
    return this.read(kind, name, opts, page);
  }

  async resolve(kind: LakeKind, name: string, ref: VersionRef): Promise<number> {
    assertName(name);
    return (await this.at(kind, name, ref)).version;
  }

  async versions(kind: LakeKind, name: string): Promise<VersionInfo[]> {
    assertName(name);
    try {
      const latest = await this.handles.latest(kind, name);
      const [versions, tags] = await Promise.all([latest.listVersions(), tagMap(latest)]);
      return versions
        .sort((a, b) => a.version - b.version)
        .map((v) => ({
          version: v.version,
          timestamp: epochMs(v.timestamp),
          num_rows: Number(v.metadata.total_rows ?? 0),
          tags: Object.keys(tags).filter((t) => tags[t] === v.version),
        }));
    } catch (err) {
      throw this.failed(err, kind, name);
    }
  }

  async scan(kind: LakeKind, name: string, scanOpts: ScanOptions): Promise<{ schema: Schema; version: number; batches: AsyncIterable<RecordBatch> }> {
    const opts = readOptions(scanOpts, kind, name);
    return this.read(kind, name, opts, async ({ table, version }) => {
      const query = table.query();
      if (opts.columns) query.select([...opts.columns]);
      if (opts.filter !== undefined) query.where(asOneExpression(opts.filter));
      const stream = query[Symbol.asyncIterator]();
      // Pull the first batch now: a bad filter or column fails here, before the caller has
      // committed to a response; and the batches' own schema is the one to announce.
      const first = await stream.next();
      const schema = first.done ? project(await table.schema(), opts.columns, kind, name) : first.value.schema;
      async function* batches(): AsyncGenerator<RecordBatch> {
        try {
          if (first.done) return;
          yield first.value;
          for (let next = await stream.next(); !next.done; next = await stream.next()) yield next.value;
        } finally {
          await stream.return?.();
        }
      }
      return { schema, version, batches: batches() };
    });
  }

  async write(kind: LakeKind, name: string, data: Table, mode: WriteMode): Promise<WriteResult> {
    assertName(name);
    if (!(data instanceof arrow.Table)) throw new TypeError('data must be an apache-arrow Table loaded through src/lake/arrow.ts');
    if (!WRITE_MODES.includes(mode)) throw new TypeError(`unknown write mode ${JSON.stringify(mode)}`);
    const names = data.schema.fields.map((f) => f.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (names.length === 0 || twice !== undefined) {
      throw new LakeError('BAD_DATA', `cannot write ${singular(kind)} "${name}": ${twice === undefined ? 'the data has no columns' : `column "${twice}" appears twice`}`);
    }
    return this.queue.run(`${kind}/${name}`, async () => {
      try {
        const version = mode === 'append' ? await appendTo(this.handles, kind, name, data) : await createTable(this.handles, kind, name, data, mode);
        const pinned = await this.handles.pinned(kind, name, version);
        return { version, num_rows: await this.handles.count(kind, name, version, pinned, undefined) };
      } catch (err) {
        throw this.failed(writeError(err, kind, name), kind, name);
      }
    });
  }

  async tag(kind: LakeKind, name: string, tag: string, version: number): Promise<void> {
    assertName(name);
    if (!isVersion(version)) throw versionNotFound(kind, name, version);
    return this.queue.run(`${kind}/${name}`, async () => {
      try {
        const tags = await (await this.handles.latest(kind, name)).tags();
        await tags.create(tag, version).catch((err: unknown) => (isTagTaken(err) ? tags.update(tag, version) : Promise.reject(err)));
      } catch (err) {
        throw this.failed(tagError(err, kind, name, tag, version), kind, name);
      }
    });
  }

  async untag(kind: LakeKind, name: string, tag: string): Promise<void> {
    assertName(name);
    return this.queue.run(`${kind}/${name}`, async () => {
      try {
        await (await (await this.handles.latest(kind, name)).tags()).delete(tag);
      } catch (err) {
        throw this.failed(tagError(err, kind, name, tag), kind, name);
      }
    });
  }

  forgetCached(kind?: LakeKind, name?: string): void {
    if (kind !== undefined && name !== undefined) this.handles.forget(kind, name);
    else this.handles.forgetAll();
  }

  async delete(kind: LakeKind, name: string): Promise<void> {
    assertName(name);
    return this.queue.run(`${kind}/${name}`, async () => {
      this.handles.forget(kind, name);
      try {
        await (await this.handles.connection(kind)).dropTable(name);
      } catch (err) {
        throw isTableMissing(err) ? tableNotFound(kind, name) : err;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue.idle();
    await this.handles.close();
  }

  // ── reads ─────────────────────────────────────────────────────────────────────────────

  /**
   * Run `fn` on the version `opts.version` names, mapping what fails to LakeErrors. A table
   * gone from under a cached handle (deleted and made again by another process) reads as
   * NOT_FOUND once: the handles are then dropped and the read is tried once more.
   */
  private async read<T>(kind: LakeKind, name: string, opts: ScanOptions, fn: (pinned: Pinned) => Promise<T>): Promise<T> {
    assertName(name);
    for (let attempt = 1; ; attempt++) {
      const pinned = await this.at(kind, name, opts.version);
      try {
        return await fn(pinned);
      } catch (err) {
        const mapped = await this.readFailed(err, pinned.table, kind, name, opts);
        if (attempt === 1 && isLake(mapped, 'NOT_FOUND')) continue;
        throw mapped;
      }
    }
  }

  private async latestVersion(kind: LakeKind, name: string): Promise<number> {
    const version = await (await this.handles.latest(kind, name)).version();
    this.handles.sawLatest(kind, name, version);
    return version;
  }

  /** Resolve a VersionRef to a version number and a handle pinned to it. */
  private async at(kind: LakeKind, name: string, ref: VersionRef): Promise<Pinned> {
    let version: number;
    try {
      if (ref === undefined) version = await this.latestVersion(kind, name);
      else if (typeof ref === 'number') version = ref;
      else version = await (await (await this.handles.latest(kind, name)).tags()).getVersion(ref);
    } catch (err) {
      throw this.failed(typeof ref === 'string' ? tagError(err, kind, name, ref) : err, kind, name);
    }
    if (!isVersion(version)) throw typeof ref === 'string' ? tagNotFound(kind, name, ref) : versionNotFound(kind, name, version);
    try {
      return { table: await this.handles.pinned(kind, name, version), version };
    } catch (err) {
      throw this.failed(err, kind, name);
    }
  }

  /** A query failed: name the unknown column if one was asked for, else read the error. */
  private async readFailed(err: unknown, table: LanceTable, kind: LakeKind, name: string, opts: ScanOptions): Promise<unknown> {
    if (opts.columns && !(err instanceof LakeError) && !isTableMissing(err)) {
      const schema = await table.schema().catch(() => undefined);
      if (schema) {
        try {
          project(schema, opts.columns, kind, name);
        } catch (columnErr) {
          return columnErr;
        }
      }
    }
    return this.failed(readError(err, kind, name, opts.filter), kind, name);
  }

  /** Map an error to a LakeError where it is one; a table gone underneath drops its handles. */
  private failed(err: unknown, kind: LakeKind, name: string): unknown {
    if (isLake(err, 'NOT_FOUND') || (!(err instanceof LakeError) && isTableMissing(err))) {
      this.handles.forget(kind, name);
      return tableNotFound(kind, name);
    }
    return err;
  }
}

/** Both results; when either fails, its error, but only once neither is still running on the handle. */
async function settled<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

async function tagMap(table: LanceTable): Promise<Record<string, number>> {
  const tags = await (await table.tags()).list();
  return Object.fromEntries(Object.entries(tags).map(([t, c]) => [t, c.version]));
}

/** `schema` narrowed to `columns`, in that order; BAD_COLUMN naming the first unknown one. */
function project(schema: Schema, columns: readonly string[] | undefined, kind: LakeKind, name: string): Schema {
  if (!columns) return schema;
  const fields = columns.map((c) => {
    const field = schema.fields.find((f) => f.name === c);
    if (!field) throw new LakeError('BAD_COLUMN', `${singular(kind)} "${name}" has no column "${c}" (columns: ${schema.fields.map((f) => f.name).join(', ')})`);
    return field;
  });
  return new arrow.Schema(fields, schema.metadata);
}

/**
 * The options with a blank filter (`?filter=`) read as none; BAD_COLUMN for a column asked
 * twice; BAD_FILTER for a filter that is not one expression (filter.ts).
 */
function readOptions<T extends ScanOptions>(opts: T, kind: LakeKind, name: string): T {
  const twice = opts.columns?.find((c, i) => opts.columns?.indexOf(c) !== i);
  if (twice !== undefined) throw new LakeError('BAD_COLUMN', `column "${twice}" of ${singular(kind)} "${name}" is asked for twice`);
  if (opts.filter === undefined) return opts;
  if (opts.filter.trim() === '') return { ...opts, filter: undefined };
  checkFilter(opts.filter);
  return opts;
}

function assertName(name: string): void {
  if (!TABLE_NAME.test(name)) throw new TypeError(`invalid table name ${JSON.stringify(name)}: must match ${TABLE_NAME}`);
}

const isLake = (err: unknown, kind: LakeError['kind']): boolean => err instanceof LakeError && err.kind === kind;
const isCount = (n: number): boolean => Number.isInteger(n) && n >= 0;
const isVersion = (n: number): boolean => Number.isInteger(n) && n >= 1;
const epochMs = (t: Date | number): number => (t instanceof Date ? t.getTime() : Number(t));
