/**
 * The Ray executor from its config (executors.<name>: {kind: ray, …}), and what it does with a
 * cluster it cannot reach: no capacity, not healthy (naming the address), no room, so its tasks
 * stay queued in Lakeray.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rayExecutorSchema } from '../../../src/config/schema.ts';
import { createRayExecutor, driverPools } from '../../../src/executors/ray/factory.ts';
import type { RayJobExecutor } from '../../../src/executors/ray/ray-job-executor.ts';
import { freePort } from '../../helpers/server-process.ts';
import { SCRIPTS } from './ray-job-fixture.ts';

// No job runs here: the reports are never opened.
const reports = { reports: { open: () => ({ close() {} }) }, url: 'http://127.0.0.1:1', token: () => 'unused' };
const ctx = { scriptRoots: [SCRIPTS], dataRoots: [SCRIPTS], runtimesDir: path.join(import.meta.dirname, '../../../runtimes'), reports };
let opened: RayJobExecutor | undefined;
afterEach(() => opened?.close());

describe('Ray executor config', () => {
  it('fills the defaults and refuses what it does not know', () => {
    const config = rayExecutorSchema.parse({ kind: 'ray', address: 'http://127.0.0.1:8265' });
    expect(config).toMatchObject({ mode: 'job', python: 'python', grace_ms: 3000, poll_ms: 200, max_poll_ms: 1000, retention_s: 3600, max_pending: 4, submit_deadline_s: 300, lost_after_s: 300 });
    expect(() => rayExecutorSchema.parse({ kind: 'ray' })).toThrow(/address/);
    expect(() => rayExecutorSchema.parse({ kind: 'ray', address: 'ftp://x' })).toThrow(/http/);
    expect(() => rayExecutorSchema.parse({ kind: 'ray', address: 'http://x:8265', poll: 1 })).toThrow(/poll/);
    expect(() => rayExecutorSchema.parse({ kind: 'ray', address: 'http://x:8265', pools: [{ name: 'py' }] })).toThrow(/pools/);
  });

  it('builds a job-mode executor by name; mode actors needs pools and the server\'s executor tokens', () => {
    opened = createRayExecutor('gpu-cluster', rayExecutorSchema.parse({ kind: 'ray', address: 'http://127.0.0.1:1', grace_ms: 500, max_resources: { cpu: 64, gpu: 8 } }), ctx) as RayJobExecutor;
    expect(opened).toMatchObject({ name: 'gpu-cluster', kind: 'ray', settings: { graceMs: 500 }, maxCapacity: { cpu: 64, gpu: 8, memory_mb: 0, custom: {} } });
    expect(() => rayExecutorSchema.parse({ kind: 'ray', address: 'http://127.0.0.1:1', mode: 'actors' })).toThrow(/pool/);
    const actors = rayExecutorSchema.parse({ kind: 'ray', address: 'http://127.0.0.1:1', mode: 'actors', pools: [{ name: 'py', gpu: 1, gang_size: 2 }] });
    expect(driverPools(actors.pools)).toEqual({ py: { num_cpus: 1, num_gpus: 1, resources: {}, min_actors: 0, max_actors: 2, idle_timeout_s: 300, preload: [], gang: 2 } });
    expect(() => rayExecutorSchema.parse({ kind: 'ray', address: 'http://127.0.0.1:1', mode: 'actors', pools: [{ name: 'py', min: 3, max: 2 }] })).toThrow(/min/);
    expect(() => createRayExecutor('a', actors, ctx)).toThrow(/executor tokens/);
  });

  it('an unreachable cluster: no capacity, unhealthy with its address named, no room', async () => {
    const port = await freePort();
    opened = createRayExecutor('ray', rayExecutorSchema.parse({ kind: 'ray', address: `http://127.0.0.1:${port}` }), ctx) as RayJobExecutor;
    await opened.refreshCapacity();
    expect(opened.capacity).toMatchObject({ cpu: 0, gpu: 0, memory_mb: 0 });
    expect(opened.health()).toMatchObject({ ok: false, message: expect.stringContaining(`127.0.0.1:${port}`) });
    expect(opened.reserve()).toBe(false);
  });
});
