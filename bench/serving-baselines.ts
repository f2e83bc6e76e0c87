/**
 * The serve benchmark's other servers, each started for the run and stopped after it:
 * - seed 004's FastAPI app (bench/scripts/serving_fastapi.py: mnist_serve.create_app under
 *   uvicorn, per-request torch), `workers` uvicorn processes with `threads` torch threads each;
 * - Ray Serve with @serve.batch (runtimes/serving/ray_serve_app.py) on a head of its own
 *   (bench/lib/ray.ts), deployed through the ray backend's own client, the ONNX model read from
 *   the Lakeray lake exactly as a `ray` deployment does; the bench posts to Serve's HTTP proxy.
 */
import { spawn, spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RayJobsClient } from '../src/executors/ray/jobs-client.ts';
import { RayServeBackend } from '../src/serving/ray/ray-serve-backend.ts';
import { RayServeClient } from '../src/serving/ray/serve-client.ts';
import { serveRoutePrefix } from '../src/serving/ray/serve-config.ts';
import { freePort } from '../test/helpers/server-process.ts';
import { killGroup, waitExit } from './lib/child-process.ts';
import { startBenchRayHead } from './lib/ray.ts';

const ROOT = join(import.meta.dirname, '..');

export interface Served {
  url: string;
  path: string;
  close(): Promise<void>;
}

const waitHealthy = async (url: string, what: string, ms: number, alive: () => boolean): Promise<void> => {
  const until = Date.now() + ms;
  for (;;) {
    if (!alive()) throw new Error(`${what} exited before it answered`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${what} did not answer ${url} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

export async function startFastApi(workers: number, threads = 1): Promise<Served> {
  const port = await freePort();
  const child = spawn(join(ROOT, '.venv/bin/python'), [join(import.meta.dirname, 'scripts/serving_fastapi.py'), String(port), String(workers), String(threads)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(`${url}/health`, 'the FastAPI server', 120_000, () => child.exitCode === null);
  } catch (err) {
    killGroup(child, 'SIGKILL');
    throw err;
  }
  return {
    url,
    path: '/predict',
    async close() {
      killGroup(child, 'SIGTERM');
      if (!(await waitExit(child, 10_000))) killGroup(child, 'SIGKILL');
    },
  };
}

/** Serve's modules and onnxruntime in the head's venv, installed as test/helpers/ray-head.ts does (ray-up.sh, RAY_UP_SERVE=1). */
function ensureServeInstalled(): void {
  const home = process.env.RAY_UP_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lakeray', 'ray');
  const python = process.env.RAY_UP_VENV ? join(process.env.RAY_UP_VENV, 'bin/python') : join(home, 'venv/bin/python');
  const imports = 'import ray.serve, mmh3, watchfiles, starlette, fastapi, uvicorn, onnxruntime';
  if (spawnSync(python, ['-c', imports], { stdio: 'ignore', timeout: 120_000 }).status === 0) return;
  const install = spawnSync('bash', [join(ROOT, 'scripts/ray-local/ray-up.sh'), '--install'], { env: { ...process.env, RAY_UP_SERVE: '1' }, stdio: 'inherit' });
  if (install.status !== 0) throw new Error(`ray-up.sh --install (RAY_UP_SERVE=1) failed (exit ${install.status})`);
}

export interface RayServeSide extends Served {
  /** Redeploy with `replicas` replicas (1 CPU each) and @serve.batch(max_batch_size, batch_wait_timeout_s). */
  configure(replicas: number, maxBatch: number, waitMs: number): Promise<void>;
}

export async function startRayServe(lakerayUrl: string, model: string, version: number): Promise<RayServeSide> {
  ensureServeInstalled();
  const head = await startBenchRayHead(2);
  const serve = new RayServeClient({ address: head.url, http: { host: '127.0.0.1', port: await freePort() }, timeoutMs: 120_000 });
  const jobs = new RayJobsClient({ address: head.url });
  const backend = new RayServeBackend(serve, jobs, join(ROOT, 'runtimes/serving'));
  const deployment = 'bench';
  const side: RayServeSide = {
    url: '',
    path: `${serveRoutePrefix(deployment).replace(/\/+$/, '')}/`,
    async configure(replicas, maxBatch, waitMs) {
      await backend.deploy(
        {
          deployment, model, version, lakerayUrl,
          replicas: { min: replicas, max: replicas },
          resources: { cpu: 1, gpu: 0 },
          max_batch_size: maxBatch,
          batch_timeout_ms: waitMs,
          enable_dynamic_batching: true,
        },
        600_000,
      );
      side.url = await serve.proxyUrl();
    },
    async close() {
      await backend.remove(deployment).catch(() => undefined);
      await serve.close();
      await jobs.close();
      head.close();
    },
  };
  return side;
}
