/** The lake pins of the PostgreSQL store (store/lake-pin-store.ts). */
import type { LakePinStore, LakeTableRef } from '../lake-pin-store.ts';
import type { Connection } from './connection.ts';

interface Row {
  kind: string;
  name: string;
  access: 'read' | 'write';
  version: number | null;
}

const SQL = {
  // The first read wins: a later one changes nothing and gets the pin back.
  read: `INSERT INTO lake_pins (task_id, tenant, kind, name, access, version, created_at) VALUES ($1, $2, $3, $4, 'read', $5, $6)
         ON CONFLICT (task_id, access, kind, name) DO UPDATE SET version = lake_pins.version RETURNING version`,
  write: `INSERT INTO lake_pins (task_id, tenant, kind, name, access, version, created_at) VALUES ($1, $2, $3, $4, 'write', NULL, $5) ON CONFLICT DO NOTHING`,
  of: 'SELECT kind, name, access, version FROM lake_pins WHERE task_id = $1 ORDER BY created_at, kind, name',
  users: 'SELECT DISTINCT task_id FROM lake_pins WHERE kind = $1 AND name = $2 AND ($3::text IS NULL OR tenant = $3) ORDER BY task_id',
  tasks: 'SELECT DISTINCT task_id FROM lake_pins',
  release: 'DELETE FROM lake_pins WHERE task_id = ANY($1::text[])',
} as const;

export class PostgresLakePins implements LakePinStore {
  constructor(private readonly db: Connection) {}

  async pinLakeRead(taskId: string, tenant: string, t: LakeTableRef, version: number, now: number): Promise<number> {
    const r = await this.db.execute<{ version: number }>({ name: 'lakeray_pins_read', text: SQL.read, values: [taskId, tenant, t.kind, t.name, version, now] });
    return r.rows[0]!.version;
  }

  async noteLakeWrite(taskId: string, tenant: string, t: LakeTableRef, now: number): Promise<void> {
    await this.db.execute({ name: 'lakeray_pins_write', text: SQL.write, values: [taskId, tenant, t.kind, t.name, now] });
  }

  async lakePinsOf(taskId: string): ReturnType<LakePinStore['lakePinsOf']> {
    const rows = await this.db.query<Row>({ name: 'lakeray_pins_of', text: SQL.of, values: [taskId] });
    return {
      reads: rows.filter((r) => r.access === 'read').map((r) => ({ kind: r.kind, name: r.name, version: r.version as number })),
      writes: rows.filter((r) => r.access === 'write').map((r) => ({ kind: r.kind, name: r.name })),
    };
  }

  async lakeTableUsers(t: LakeTableRef, tenant?: string): Promise<string[]> {
    const rows = await this.db.query<{ task_id: string }>({ name: 'lakeray_pins_users', text: SQL.users, values: [t.kind, t.name, tenant ?? null] });
    return rows.map((r) => r.task_id);
  }

  async lakePinnedTasks(): Promise<string[]> {
    return (await this.db.query<{ task_id: string }>({ name: 'lakeray_pins_tasks', text: SQL.tasks })).map((r) => r.task_id);
  }

  async releaseLakePins(taskIds: readonly string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.db.execute({ name: 'lakeray_pins_release', text: SQL.release, values: [taskIds] });
  }
}
