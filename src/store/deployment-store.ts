/**
 * Where serving deployments are kept (src/serving/deployments.ts). Part of the task store's
 * database, so a deployment and the replica tasks it starts share one durable place.
 */

export interface DeploymentRecord {
  tenant: string;
  name: string;
  /** The complete spec as JSON (serving/deployment-spec.ts DeploymentSpec). */
  spec: unknown;
  created_at: number;
  updated_at: number;
}

export interface DeploymentStore {
  listDeployments(): Promise<DeploymentRecord[]>;
  /** Insert; false when (tenant, name) exists already. */
  createDeployment(record: DeploymentRecord): Promise<boolean>;
  /** Replace spec and updated_at; false when absent. */
  updateDeployment(tenant: string, name: string, spec: unknown, updatedAt: number): Promise<boolean>;
  /** false when absent. */
  deleteDeployment(tenant: string, name: string): Promise<boolean>;
}
