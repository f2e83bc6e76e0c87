/** The lake pins of the SQLite store (store/lake-pin-store.ts). */
import type Database from 'better-sqlite3';
import type { LakePinStore, LakeTableRef } from '../lake-pin-store.ts';

interface Row {
  kind: string;
  name: string;
  access: 'read' | 'write';
  version: number | null;
}

export class SqliteLakePins implements LakePinStore {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      // The first read wins: a later one changes nothing and gets the pin back.
      read: db.prepare<unknown[], { version: number }>(
        `INSERT INTO lake_pins (task_id, tenant, kind, name, access, version, created_at) VALUES (?, ?, ?, ?, 'read', ?, ?)
         ON CONFLICT (task_id, access, kind, name) DO UPDATE SET version = lake_pins.version RETURNING version`,
      ),
      write: db.prepare(
        `INSERT INTO lake_pins (task_id, tenant, kind, name, access, version, created_at) VALUES (?, ?, ?, ?, 'write', NULL, ?) ON CONFLICT DO NOTHING`,
      ),
      of: db.prepare<[string], Row>('SELECT kind, name, access, version FROM lake_pins WHERE task_id = ? ORDER BY created_at, rowid'),
      users: db.prepare<[string, string], { task_id: string }>('SELECT DISTINCT task_id FROM lake_pins WHERE kind = ? AND name = ? ORDER BY task_id'),
      tenantUsers: db.prepare<[string, string, string], { task_id: string }>('SELECT DISTINCT task_id FROM lake_pins WHERE kind = ? AND name = ? AND tenant = ? ORDER BY task_id'),
      tasks: db.prepare<[], { task_id: string }>('SELECT DISTINCT task_id FROM lake_pins'),
      release: db.prepare('DELETE FROM lake_pins WHERE task_id = ?'),
    };
  }

  async pinLakeRead(taskId: string, tenant: string, t: LakeTableRef, version: number, now: number): Promise<number> {
    return (this.q.read.get(taskId, tenant, t.kind, t.name, version, now) as { version: number }).version;
  }

  async noteLakeWrite(taskId: string, tenant: string, t: LakeTableRef, now: number): Promise<void> {
    this.q.write.run(taskId, tenant, t.kind, t.name, now);
  }

  async lakePinsOf(taskId: string): ReturnType<LakePinStore['lakePinsOf']> {
    const rows = this.q.of.all(taskId);
    return {
      reads: rows.filter((r) => r.access === 'read').map((r) => ({ kind: r.kind, name: r.name, version: r.version as number })),
      writes: rows.filter((r) => r.access === 'write').map((r) => ({ kind: r.kind, name: r.name })),
    };
  }

  async lakeTableUsers(t: LakeTableRef, tenant?: string): Promise<string[]> {
    const rows = tenant === undefined ? this.q.users.all(t.kind, t.name) : this.q.tenantUsers.all(t.kind, t.name, tenant);
    return rows.map((r) => r.task_id);
  }

  async lakePinnedTasks(): Promise<string[]> {
    return this.q.tasks.all().map((r) => r.task_id);
  }

  async releaseLakePins(taskIds: readonly string[]): Promise<void> {
    for (const id of taskIds) this.q.release.run(id);
  }
}
