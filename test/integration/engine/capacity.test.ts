/**
 * Capacity that changes at run time (Executor.onCapacity, e.g. a Ray cluster's nodes coming
 * and going): the engine never admits beyond what the executor has now, a shrink stops no
 * running task, a growth starts what waited; submit refuses only what can never fit.
 */
import { describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import type { Task } from '../../../src/domain/task.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { CALLER, newCluster, startServer, submit, taskUntil } from './server.ts';

const cpus = (cpu: number) => ({ cpu, memory_mb: 1_000_000, gpu: 0, custom: {} });

describe('engine: capacity that changes at run time', () => {
  it('a shrink keeps running tasks and admits nothing beyond the new capacity; a growth starts what waited', async () => {
    const cluster = newCluster(1);
    const server = await startServer(tempDir('lakeray-capacity-'), cluster);
    try {
      const first = await submit(server, { ms: 1200 });
      const second = await submit(server, { ms: 10 });
      await taskUntil(server, first, (t) => t.status === 'running', 'the first running');
      server.executor.resize(cpus(0));
      // The first runs on to its end; the second never starts on a cluster with nothing left.
      expect((await taskUntil(server, first, (t) => t.status !== 'running', 'the first ending')).status).toBe('completed');
      await new Promise((r) => setTimeout(r, 300));
      expect((await server.engine.get(CALLER, second)).status).toBe('pending');
      server.executor.resize(cpus(2));
      await taskUntil(server, second, (t) => t.status === 'completed', 'the second, once the cluster grew');
      expect((await server.engine.stats()).executors.find((e) => e.name === 'cluster')?.capacity).toMatchObject({ cpu: 2 });
    } finally {
      await server.stop();
    }
  });

  it('two tasks on a cluster grown from 1 to 2 CPUs run side by side, never three', async () => {
    const cluster = newCluster(1);
    const server = await startServer(tempDir('lakeray-capacity-'), cluster);
    try {
      server.executor.resize(cpus(2));
      const ids = [await submit(server, { ms: 1500 }), await submit(server, { ms: 1500 }), await submit(server, { ms: 1500 })];
      await taskUntil(server, ids[1] as string, (t) => t.status === 'running', 'the second running');
      const statuses = await Promise.all(ids.map(async (id) => (await server.engine.get(CALLER, id)).status));
      expect(statuses.filter((s) => s === 'running')).toHaveLength(2);
      expect(statuses.filter((s) => s === 'pending')).toHaveLength(1);
      await taskUntil(server, ids[2] as string, (t) => t.status === 'completed', 'the third');
    } finally {
      await server.stop();
    }
  });

  it('submit refuses what does not fit the capacity as it is, unless the executor may grow to it (maxCapacity)', async () => {
    const cluster = newCluster(1);
    const server = await startServer(tempDir('lakeray-capacity-'), cluster);
    try {
      server.executor.resize(cpus(0)); // scaled to zero
      const refused = await submit(server, { ms: 10 }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(LakerayError);
      expect((refused as LakerayError).code).toBe('RESOURCES_UNSATISFIABLE');
      cluster.maxCapacity = cpus(4);
      const id = await submit(server, { ms: 10 }, { resources: { cpu: 3 } });
      await new Promise((r) => setTimeout(r, 300));
      expect((await server.engine.get(CALLER, id)).status).toBe('pending');
      expect(await submit(server, { ms: 10 }, { resources: { cpu: 5 } }).catch((e: LakerayError) => e.code)).toBe('RESOURCES_UNSATISFIABLE');
      server.executor.resize(cpus(4)); // the autoscaler brought a node
      const done: Task = await taskUntil(server, id, (t) => t.status === 'completed', 'the task, once the cluster scaled up');
      expect(done.attempt).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it('submit refuses a task that fits the total but no single node (a job runs on one node), and takes one that fits a node', async () => {
    const cluster = newCluster(4);
    cluster.nodes = [cpus(2), cpus(2)];
    const server = await startServer(tempDir('lakeray-capacity-'), cluster);
    try {
      const refused = await submit(server, { ms: 10 }, { resources: { cpu: 3 } }).catch((e: unknown) => e);
      expect((refused as LakerayError).code).toBe('RESOURCES_UNSATISFIABLE');
      expect((refused as LakerayError).message).toMatch(/no single node has it/);
      const id = await submit(server, { ms: 10 }, { resources: { cpu: 2 } });
      expect((await taskUntil(server, id, (t) => t.status === 'completed', 'the task that fits a node')).attempt).toBe(1);
    } finally {
      await server.stop();
    }
  });
});
