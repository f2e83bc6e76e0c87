/** The deployments table of the PostgreSQL store (store/deployment-store.ts). */
import type { DeploymentRecord, DeploymentStore } from '../deployment-store.ts';
import type { Connection } from './connection.ts';

/** A row: the record with its spec as JSON text. */
type Row = Omit<DeploymentRecord, 'spec'> & { spec: string };

const SQL = {
  list: 'SELECT tenant, name, spec, created_at, updated_at FROM deployments ORDER BY tenant, name',
  insert: 'INSERT INTO deployments (tenant, name, spec, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
  update: 'UPDATE deployments SET spec = $3, updated_at = $4 WHERE tenant = $1 AND name = $2',
  delete: 'DELETE FROM deployments WHERE tenant = $1 AND name = $2',
} as const;

export class PostgresDeployments implements DeploymentStore {
  constructor(private readonly db: Connection) {}

  async listDeployments(): Promise<DeploymentRecord[]> {
    return (await this.db.query<Row>({ name: 'lakeray_deployments_list', text: SQL.list })).map((r) => ({ ...r, spec: JSON.parse(r.spec) as unknown }));
  }

  async createDeployment(r: DeploymentRecord): Promise<boolean> {
    const values = [r.tenant, r.name, JSON.stringify(r.spec), r.created_at, r.updated_at];
    return (await this.db.execute({ name: 'lakeray_deployments_insert', text: SQL.insert, values })).rowCount === 1;
  }

  async updateDeployment(tenant: string, name: string, spec: unknown, updatedAt: number): Promise<boolean> {
    const values = [tenant, name, JSON.stringify(spec), updatedAt];
    return (await this.db.execute({ name: 'lakeray_deployments_update', text: SQL.update, values })).rowCount === 1;
  }

  async deleteDeployment(tenant: string, name: string): Promise<boolean> {
    return (await this.db.execute({ name: 'lakeray_deployments_delete', text: SQL.delete, values: [tenant, name] })).rowCount === 1;
  }
}
