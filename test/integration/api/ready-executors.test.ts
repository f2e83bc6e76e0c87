/**
 * /ready names an executor that is down (its health, e.g. an unreachable Ray cluster) and
 * stays ready: local work goes on, the down executor's tasks wait queued.
 */
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.ts';
import type { Task } from '../../../src/domain/task.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { makeExecutor } from '../executor/helpers.ts';
import { CALLER, newCluster, SCRIPTS, startServer, taskUntil } from '../engine/server.ts';

describe('/ready with an executor down', () => {
  it('answers 200, names the executor and why; local tasks run, its own wait queued until it is back', async () => {
    const cluster = newCluster(1);
    const local = makeExecutor({ cpu: 1 }, { scriptRoots: [SCRIPTS] });
    const server = await startServer(tempDir('lakeray-ready-'), cluster, new Map([['local', local]]));
    const app = await buildApp({ tasks: server.engine, version: '9.9.9-test' });
    try {
      expect((await app.inject('/ready')).json()).toEqual({ status: 'ready', executors_down: [] });
      cluster.reachable = false;
      const res = await app.inject('/ready');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ready', executors_down: [{ name: 'cluster', message: `cluster ${cluster.owner} is unreachable` }] });

      const submit = async (executor: string): Promise<string> => {
        const r = await app.inject({ method: 'POST', url: '/api/v1/tasks', payload: { script: 'echo.py', executor } });
        expect(r.statusCode).toBe(201);
        return (r.json() as Task).id;
      };
      const onCluster = await submit('cluster');
      await taskUntil(server, await submit('local'), (t) => t.status === 'completed', 'the local task');
      expect((await server.engine.get(CALLER, onCluster)).status).toBe('pending');
      cluster.reachable = true; // the lease loop's sweep looks at the queue again
      await taskUntil(server, onCluster, (t) => t.status === 'completed', 'the cluster task once it is back');
      expect((await app.inject('/ready')).json()).toEqual({ status: 'ready', executors_down: [] });
    } finally {
      await app.close();
      await server.stop();
      await local.close();
    }
  });

  it('a task naming an executor that is not configured is a 400 that lists the configured ones', async () => {
    const server = await startServer(tempDir('lakeray-ready-'), newCluster(1));
    const app = await buildApp({ tasks: server.engine, version: '9.9.9-test' });
    try {
      const r = await app.inject({ method: 'POST', url: '/api/v1/tasks', payload: { script: 'echo.py', executor: 'gpu-farm' } });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({ error: { code: 'UNKNOWN_EXECUTOR', message: 'executor "gpu-farm" is not configured (have: cluster)' } });
    } finally {
      await app.close();
      await server.stop();
    }
  });
});
