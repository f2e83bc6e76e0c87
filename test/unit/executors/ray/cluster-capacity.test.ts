/**
 * A Ray cluster's capacity from its node list (`GET /api/v0/nodes` as Ray 2.58 answers it):
 * the total of the live nodes, and whether one node has a task's resources whole.
 */
import { describe, expect, it } from 'vitest';
import { ClusterCapacity, capacityOfNodes } from '../../../../src/executors/ray/cluster-capacity.ts';
import type { RayNode } from '../../../../src/executors/ray/jobs-client.ts';
import { resources } from '../../../../src/domain/resources.ts';

const GiB = 1024 ** 3;
const node = (id: string, total: Record<string, number>, state = 'ALIVE'): RayNode =>
  ({ node_id: id, state, is_head_node: id === 'head', resources_total: total }) as RayNode;
const twoGpuNodes = [
  node('head', { CPU: 4, memory: 8 * GiB, object_store_memory: GiB, 'node:127.0.0.1': 1, 'node:__internal_head__': 1 }),
  node('w1', { CPU: 8, GPU: 2, memory: 16 * GiB, 'accelerator_type:A10G': 1, lakeray_test: 1 }),
  node('w2', { CPU: 8, GPU: 2, memory: 16 * GiB }),
  node('gone', { CPU: 64, GPU: 8 }, 'DEAD'),
];

describe('Ray cluster capacity', () => {
  it('sums the live nodes, without Ray bookkeeping resources', () => {
    expect(capacityOfNodes(twoGpuNodes)).toEqual({ cpu: 20, gpu: 4, memory_mb: 40 * 1024, custom: { lakeray_test: 1 } });
  });

  it('places a task on one node: 4 GPUs over two 2-GPU nodes do not fit, 2 GPUs do', async () => {
    const capacity = new ClusterCapacity({ address: 'http://ray:8265', nodes: () => Promise.resolve(twoGpuNodes) }, 60_000);
    await capacity.refresh();
    expect(capacity.current.gpu).toBe(4);
    expect(capacity.fitsOneNode(resources({ cpu: 4, gpu: 4 }))).toBe(false);
    expect(capacity.fitsOneNode(resources({ cpu: 4, gpu: 2 }))).toBe(true);
    expect(capacity.fitsOneNode(resources({ cpu: 1, custom: { lakeray_test: 1 }, gpu: 2 }))).toBe(true);
    expect(capacity.fitsOneNode(resources({ cpu: 9 }))).toBe(false);
  });

  it('an unreachable cluster has no nodes, and says so', async () => {
    const capacity = new ClusterCapacity({ address: 'http://ray:8265', nodes: () => Promise.reject(new Error('connect ECONNREFUSED')) }, 60_000);
    await capacity.refresh();
    expect(capacity.nodes).toEqual([]);
    expect(capacity.health).toEqual({ ok: false, message: 'Ray at http://ray:8265: connect ECONNREFUSED' });
  });
});
