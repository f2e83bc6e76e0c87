/**
 * The lineage log as a Lance table of its own, `<root>/_lakeray/lineage.lance`: one row per
 * version a task wrote. Kept in the lake rather than in the task database so that the lake
 * is self-describing wherever it is read from (another server, a Ray job on S3).
 */
import arrow from '../arrow.ts';
import lancedb, { type Connection, type LanceTable } from './lancedb.ts';
import type { LakeKind, LineageLog, LineageRecord } from '../lake.ts';

const TABLE = 'lineage';

const schema = new arrow.Schema([
  new arrow.Field('kind', new arrow.Utf8(), true),
  new arrow.Field('name', new arrow.Utf8(), true),
  new arrow.Field('version', new arrow.Int64(), true),
  new arrow.Field('task_id', new arrow.Utf8(), true),
  new arrow.Field('script', new arrow.Utf8(), true),
  new arrow.Field('params', new arrow.Utf8(), true),
  new arrow.Field('inputs', new arrow.Utf8(), true),
  new arrow.Field('created_at', new arrow.Int64(), true),
]);

/** A string literal for a Lance SQL filter. */
const sql = (s: string): string => `'${s.replaceAll("'", "''")}'`;

export class LanceLineageLog implements LineageLog {
  private table: LanceTable | null = null;
  /** Writes go one at a time: concurrent commits to one small table only cause retries. */
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly db: Connection) {}

  static async open(root: string, storageOptions: Record<string, string> = {}): Promise<LanceLineageLog> {
    const base = root.replace(/\/+$/, '');
    const db = await lancedb.connect(`${base}/_lakeray`, { storageOptions, readConsistencyInterval: 0 });
    return new LanceLineageLog(db);
  }

  private async handle(create: boolean): Promise<LanceTable | null> {
    if (this.table) return this.table;
    const names = await this.db.tableNames();
    if (names.includes(TABLE)) this.table = await this.db.openTable(TABLE);
    else if (create) this.table = await this.db.createEmptyTable(TABLE, schema, { existOk: true });
    return this.table;
  }

  record(rec: LineageRecord): Promise<void> {
    const run = this.chain.then(async () => {
      const table = (await this.handle(true)) as LanceTable;
      const str = (v: string) => arrow.vectorFromArray([v], new arrow.Utf8());
      const int = (v: number) => arrow.vectorFromArray([BigInt(v)], new arrow.Int64());
      await table.add(
        new arrow.Table({
          kind: str(rec.kind),
          name: str(rec.name),
          version: int(rec.version),
          task_id: str(rec.task_id),
          script: str(rec.script),
          params: str(JSON.stringify(rec.params)),
          inputs: str(JSON.stringify(rec.inputs)),
          created_at: int(rec.created_at),
        }),
      );
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  async of(kind: LakeKind, name: string): Promise<LineageRecord[]> {
    const table = await this.handle(false);
    if (!table) return [];
    const rows = await table
      .query()
      .where(`kind = ${sql(kind)} AND name = ${sql(name)}`)
      .toArray();
    return rows
      .map(
        (r: Record<string, unknown>): LineageRecord => ({
          kind: r.kind as LakeKind,
          name: r.name as string,
          version: Number(r.version),
          task_id: r.task_id as string,
          script: r.script as string,
          params: JSON.parse(r.params as string) as Record<string, unknown>,
          inputs: JSON.parse(r.inputs as string) as LineageRecord['inputs'],
          created_at: Number(r.created_at),
        }),
      )
      .sort((a, b) => b.version - a.version);
  }

  forget(kind: LakeKind, name: string): Promise<void> {
    const run = this.chain.then(async () => {
      const table = await this.handle(false);
      if (table) await table.delete(`kind = ${sql(kind)} AND name = ${sql(name)}`);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.chain;
    this.table?.close();
    this.table = null;
  }
}
