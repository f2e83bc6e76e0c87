/**
 * Issue 15 §3: GPU-seconds are charged while replicas hold GPUs, as for tasks. A local
 * deployment of tenant acme with a 1-GPU replica (configured GPU inventory; no GPU here, the
 * replica falls back to the CPU provider) is charged GPUs × time to acme and to no one else;
 * once acme's `gpu_seconds_per_day` is used up, a further GPU replica is refused like a GPU
 * task's submit (QUOTA_EXCEEDED, the deployment's last_error says so) and the running one
 * keeps serving.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/main.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { startKeyedServer, type KeyedServer } from './keyed-server.ts';

const QUOTA_S = 4;
let server: RunningServer;
let call: KeyedServer['call'];
const key = { acme: '', globex: '' };

const gpuSeconds = async (tenant: 'acme' | 'globex'): Promise<number> => (await call(key[tenant], 'GET', `/api/v1/tenants/${tenant}`)).body.usage.gpu_seconds_today as number;

beforeAll(async () => {
  const dir = tempDir('lakeray-gpu-quota-');
  writeFileSync(join(dir, 'gpu_job.py'), 'def run(input_path, output_path, params, ctx):\n    return {}\n');
  const keyed = await startKeyedServer(dir, {
    tenants: { acme: { gpu_seconds_per_day: QUOTA_S } },
    executors: { local: { cpu: 4, gpus: ['0', '1'], kill_grace_ms: 1500 } },
    keys: ['acme', 'globex'],
    modelTenant: 'acme',
  });
  ({ server, call } = keyed);
  key.acme = keyed.keys.acme!;
  key.globex = keyed.keys.globex!;
}, 90_000);

afterAll(async () => {
  await server?.close();
}, 60_000);

it("a GPU replica is charged GPU-seconds to its tenant, and the used-up quota holds the next GPU replica", async () => {
  expect(await gpuSeconds('acme')).toBe(0);
  const created = await call(key.acme, 'POST', '/api/v1/deployments', { name: 'g', model: 'cnn', replicas: { min: 1, max: 1 }, resources: { cpu: 1, gpu: 1 } });
  expect(created.status, created.text).toBe(201);
  await until('a ready replica', async () => ((await call(key.acme, 'GET', '/api/v1/deployments/g')).body.status === 'ready' ? true : undefined), 120_000, 100);

  // Charged while it holds its GPU: one GPU × wall time, to acme only.
  const first = await gpuSeconds('acme');
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 1500));
  const second = await gpuSeconds('acme');
  const elapsed = (Date.now() - t0) / 1000;
  expect(second - first).toBeGreaterThan(elapsed * 0.7);
  expect(second - first).toBeLessThan(elapsed * 1.5 + 0.5);
  expect(await gpuSeconds('globex')).toBe(0);

  // Past the quota: a GPU task's submit is refused, and so is a second GPU replica's start.
  await until('the quota used up', async () => ((await gpuSeconds('acme')) >= QUOTA_S ? true : undefined), 60_000, 200);
  const task = await call(key.acme, 'POST', '/api/v1/tasks', { script: 'gpu_job.py', resources: { gpu: 1 } });
  expect(task.status, task.text).toBe(429);
  expect(task.body.error.code).toBe('QUOTA_EXCEEDED');
  expect((await call(key.acme, 'PATCH', '/api/v1/deployments/g', { replicas: { min: 2, max: 2 } })).status).toBe(200);
  const held = await until(
    'the second replica held back',
    async () => {
      const d = (await call(key.acme, 'GET', '/api/v1/deployments/g')).body;
      return String(d.last_error ?? '').includes('gpu_seconds_per_day') ? d : undefined;
    },
    30_000,
    100,
  );
  expect(held.replica_status.filter((r: { state: string }) => r.state !== 'draining')).toHaveLength(1);
  // The replica that runs keeps serving.
  expect((await call(key.acme, 'POST', '/api/v1/deployments/g/predict', { image: Array(784).fill(0.5) })).status).toBe(200);
}, 240_000);
