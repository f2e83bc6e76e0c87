/** Conformance: the deployments table (create, update, delete, list) per tenant. */
import { expect, it } from 'vitest';
import { type OpenStore, T0, uniq, useStore } from './fixtures.ts';

export function deploymentConformance(open: OpenStore): void {
  const store = useStore(open);
  const mine = async (tenant: string) => (await store().deployments.listDeployments()).filter((d) => d.tenant === tenant);

  it('creates once per tenant and name, and returns the spec as it was stored', async () => {
    const tenant = uniq('tenant');
    const spec = { name: 'mnist', model: 'cnn@3', replicas: { min: 0, max: 2 }, routing: { 'English -> Chinese': '0' } };
    expect(await store().deployments.createDeployment({ tenant, name: 'mnist', spec, created_at: T0, updated_at: T0 })).toBe(true);
    expect(await store().deployments.createDeployment({ tenant, name: 'mnist', spec: { other: 1 }, created_at: T0 + 1, updated_at: T0 + 1 })).toBe(false);
    // Another tenant may use the same name.
    const other = uniq('tenant');
    expect(await store().deployments.createDeployment({ tenant: other, name: 'mnist', spec: {}, created_at: T0, updated_at: T0 })).toBe(true);
    expect(await mine(tenant)).toEqual([{ tenant, name: 'mnist', spec, created_at: T0, updated_at: T0 }]);
  });

  it('updates and deletes only what exists', async () => {
    const tenant = uniq('tenant');
    expect(await store().deployments.updateDeployment(tenant, 'a', { x: 1 }, T0)).toBe(false);
    expect(await store().deployments.deleteDeployment(tenant, 'a')).toBe(false);
    await store().deployments.createDeployment({ tenant, name: 'a', spec: { v: 1 }, created_at: T0, updated_at: T0 });
    await store().deployments.createDeployment({ tenant, name: 'b', spec: { v: 1 }, created_at: T0, updated_at: T0 });
    expect(await store().deployments.updateDeployment(tenant, 'a', { v: 2 }, T0 + 5)).toBe(true);
    expect(await store().deployments.deleteDeployment(tenant, 'b')).toBe(true);
    expect(await mine(tenant)).toEqual([{ tenant, name: 'a', spec: { v: 2 }, created_at: T0, updated_at: T0 + 5 }]);
  });
}
