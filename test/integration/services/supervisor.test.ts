/**
 * The service supervisor inside the local executor, without a server: callbacks in order,
 * the port handed to every incarnation, restarts on the same port, close() stops services.
 */
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE, restartDelayMs, shouldRestart, type ServiceSpec } from '../../../src/domain/service.ts';
import { allocatePort } from '../../../src/executors/local/service-port.ts';
import { probeOnce } from '../../../src/executors/local/service-health.ts';
import { exists, makeExecutor, makeTask, recorder, waitFor } from '../executor/helpers.ts';

const service = (over: Partial<ServiceSpec> = {}): ServiceSpec => ({ ...DEFAULT_SERVICE, ...over });
const states = (rec: ReturnType<typeof recorder>): string[] => rec.events.filter((e) => e.type === 'service').map((e) => String(e.data.state));

describe('service policy (pure)', () => {
  it('restarts per policy and backs off', () => {
    expect(shouldRestart('never', false)).toBe(false);
    expect(shouldRestart('on-failure', false)).toBe(true);
    expect(shouldRestart('on-failure', true)).toBe(false);
    expect(shouldRestart('always', true)).toBe(true);
    expect([1, 2, 3, 10].map(restartDelayMs)).toEqual([200, 400, 800, 5000]);
  });

  it('allocates distinct free ports and probes them', async () => {
    const [a, b] = await Promise.all([allocatePort(), allocatePort()]);
    expect(a).toBeGreaterThan(0);
    expect(b).not.toBe(a);
    expect(await probeOnce(`http://127.0.0.1:${a}/health`)).toBe(false); // nothing listens: refused, fast
  });
});

describe('local executor: service tasks', () => {
  it('runs a service in its own process, restarts it on the same port, and cancels it', async () => {
    const executor = makeExecutor({ pools: [{ name: 'py', runtime: 'python', preload: [], min: 0, max: 1, idle_timeout_s: 60, concurrency: 1 }], default_pools: { python: 'py' } });
    const task = makeTask({ script: 'services/http_service.py', params: { a: 1 }, service: service({ max_restarts: 1 }) });
    const rec = recorder();
    executor.run(task, [], rec.callbacks);
    await waitFor(() => states(rec).includes('ready'), 15_000, 'ready');
    const ep = executor.serviceEndpoint(task.id);
    expect(ep).toMatchObject({ state: 'ready', restarts: 0 });
    expect(task.params).toEqual({ a: 1 }); // the task is not touched; the job got the port
    expect(rec.started[0]?.worker).toBe('cold');
    expect(executor.poolStats()[0]?.workers).toBe(0);

    const echo = await request(`${ep!.url}/echo`);
    const body = (await echo.body.json()) as { pid: number; params_port: number };
    expect(body.params_port).toBe(ep!.port);
    const crash = await request(`${ep!.url}/crash`);
    await crash.body.dump();
    await waitFor(() => states(rec).join() === 'starting,ready,restarting,starting,ready', 15_000, 'restart');
    expect(exists(body.pid)).toBe(false);
    expect(executor.serviceEndpoint(task.id)).toMatchObject({ state: 'ready', port: ep!.port, restarts: 1 });
    expect(rec.started.map((s) => s.pid)).toHaveLength(2);

    executor.cancel(task.id, 1000);
    expect(await rec.exited).toEqual({ kind: 'cancelled' });
    expect(states(rec).at(-1)).toBe('stopped');
    expect(executor.serviceEndpoint(task.id)).toBeNull();
    expect(exists(rec.started[1]!.pid!)).toBe(false);
    await executor.close();
  });

  it('close() stops a running service (the task exits cancelled)', async () => {
    const executor = makeExecutor();
    const task = makeTask({ script: 'services/http_service.py', service: service() });
    const rec = recorder();
    executor.run(task, [], rec.callbacks);
    await waitFor(() => states(rec).includes('ready'), 15_000, 'ready');
    await executor.close();
    expect(rec.exits).toEqual([{ kind: 'cancelled' }]);
    expect(exists(rec.started[0]!.pid!)).toBe(false);
  });

  it('cancel before the first process started ends at once', async () => {
    const executor = makeExecutor();
    const task = makeTask({ script: 'services/http_service.py', service: service() });
    const rec = recorder();
    executor.run(task, [], rec.callbacks);
    executor.cancel(task.id, 1000);
    expect(await rec.exited).toEqual({ kind: 'cancelled' });
    expect(rec.started).toEqual([]);
    await executor.close();
  });
});
