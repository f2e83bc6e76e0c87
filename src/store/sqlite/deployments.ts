/** The deployments table of the SQLite store (store/deployment-store.ts). */
import type Database from 'better-sqlite3';
import type { DeploymentRecord, DeploymentStore } from '../deployment-store.ts';

interface Row {
  tenant: string;
  name: string;
  spec: string;
  created_at: number;
  updated_at: number;
}

export class SqliteDeployments implements DeploymentStore {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      list: db.prepare<[], Row>('SELECT tenant, name, spec, created_at, updated_at FROM deployments ORDER BY tenant, name'),
      insert: db.prepare('INSERT INTO deployments (tenant, name, spec, created_at, updated_at) VALUES (@tenant, @name, @spec, @created_at, @updated_at) ON CONFLICT DO NOTHING'),
      update: db.prepare('UPDATE deployments SET spec = @spec, updated_at = @updated_at WHERE tenant = @tenant AND name = @name'),
      delete: db.prepare('DELETE FROM deployments WHERE tenant = @tenant AND name = @name'),
    };
  }

  async listDeployments(): Promise<DeploymentRecord[]> {
    return this.q.list.all().map((r) => ({ ...r, spec: JSON.parse(r.spec) as unknown }));
  }

  async createDeployment(r: DeploymentRecord): Promise<boolean> {
    return this.q.insert.run({ ...r, spec: JSON.stringify(r.spec) }).changes === 1;
  }

  async updateDeployment(tenant: string, name: string, spec: unknown, updatedAt: number): Promise<boolean> {
    return this.q.update.run({ tenant, name, spec: JSON.stringify(spec), updated_at: updatedAt }).changes === 1;
  }

  async deleteDeployment(tenant: string, name: string): Promise<boolean> {
    return this.q.delete.run({ tenant, name }).changes === 1;
  }
}
