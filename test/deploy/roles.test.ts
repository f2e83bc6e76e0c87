/**
 * The processes of deploy/, started as their pods start them: the image's ENTRYPOINT (without
 * tini) and each Deployment's container args and env, with its config mount (/etc/lakeray)
 * mapped to a directory here. Each answers its own probes; the API process queues and owns
 * nothing, and its /metrics, read as the ScaledObject reads it, shows that queue; a scheduler
 * started as its pod is then runs what the API accepted. The configs here use SQLite (one
 * process at a time on its file, so they run one after the other) where the pods use PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { api, freePort, ROOT, tempDir } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { execForm, readDockerfile } from './dockerfile.ts';
import { kedaPrometheusValue } from './keda-reader.ts';
import { find, renderOverlay } from './render.ts';

const objects = renderOverlay('in-cluster');
const entrypoint = execForm(readDockerfile().at(-1)!, 'ENTRYPOINT').slice(2); // after `tini --`
const valueLocation: string = (find(objects, 'ScaledObject', 'lakeray-worker') as any).spec.triggers[0].metadata.valueLocation;

interface Pod {
  url: string;
  child: ChildProcess;
  probe(kind: 'livenessProbe' | 'readinessProbe' | 'startupProbe'): Promise<number>;
  stop(): Promise<number | null>;
}

/** Starts the Deployment's container as its pod would, its config mount at `etc`. */
async function startPod(deployment: string, etc: string): Promise<Pod> {
  const d = find(objects, 'Deployment', deployment) as any;
  const c = d.spec.template.spec.containers[0];
  const mount: string = c.volumeMounts.find((m: any) => m.name === 'config').mountPath;
  const remap = (s: string) => s.replace(mount, etc).replace(/^\/app\//, `${ROOT}/`);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, LAKERAY_PORT: String(port), LAKERAY_LOG_LEVEL: 'warn' };
  for (const e of c.env) if (e.value !== undefined) env[e.name] = remap(e.value); // the Secret's URLs: the pods' store, not ours
  const argv = [...entrypoint, ...c.args].map(remap);
  const child = spawn(process.execPath, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const url = `http://127.0.0.1:${port}`;
  const probe = async (kind: 'livenessProbe' | 'readinessProbe' | 'startupProbe') => {
    const r = await request(`${url}${c[kind].httpGet.path}`);
    await r.body.text();
    return r.statusCode;
  };
  await until(`${deployment} ready:\n${out}`, async () => child.exitCode === null && (await probe('readinessProbe').catch(() => 0)) === 200, 60_000, 200).catch((e: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n${out}`);
  });
  return {
    url,
    child,
    probe,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe("deploy/'s processes, started as their pods start them", () => {
  const pods: Pod[] = [];
  afterEach(async () => {
    for (const p of pods.splice(0)) if (p.child.exitCode === null) await p.stop();
  });

  it('api queues and owns nothing (KEDA sees the queue on its /metrics); a scheduler then runs it; a worker starts on its own config', { timeout: 180_000 }, async () => {
    const dir = tempDir('lakeray-pods-');
    const etc = join(dir, 'etc');
    const base = { state_dir: join(dir, 'state'), script_roots: [join(ROOT, 'test/fixtures/scripts')], data_roots: [join(dir, 'data')], server: { host: '127.0.0.1' } };
    mkdirSync(etc);
    // More CPUs than the machine has: only worker.yaml can have given the worker its capacity.
    const workerCpus = availableParallelism() + 1;
    writeFileSync(join(etc, 'lakeray.yaml'), stringify({ ...base, scheduler: { ownership_renew_ms: 100 } }));
    writeFileSync(join(etc, 'worker.yaml'), stringify({ ...base, executors: { local: { cpu: workerCpus } } }));

    const apiPod = await startPod('lakeray-api', etc);
    pods.push(apiPod);
    expect(await apiPod.probe('startupProbe')).toBe(200);
    expect(await apiPod.probe('livenessProbe')).toBe(200);
    const r = await api(apiPod.url, 'POST', '/api/v1/tasks/batch', { tasks: Array.from({ length: 3 }, () => ({ script: 'waits.mjs', params: { ms: 10 } })) });
    expect(r.status).toBe(201);
    await new Promise((res) => setTimeout(res, 500)); // several ownership rounds: an api process must still dispatch nothing
    const metrics = await (await request(`${apiPod.url}/metrics`)).body.text();
    expect(kedaPrometheusValue(metrics, valueLocation)).toBe(3);
    expect(await apiPod.stop()).toBe(0);

    const scheduler = await startPod('lakeray-scheduler', etc);
    pods.push(scheduler);
    expect(await scheduler.probe('livenessProbe')).toBe(200);
    const ids = (r.body.tasks as { id: string }[]).map((t) => t.id);
    await until('the scheduler runs what the api accepted', async () => {
      const states = await Promise.all(ids.map(async (id) => (await api(scheduler.url, 'GET', `/api/v1/tasks/${id}`)).body.status));
      return states.every((s) => s === 'succeeded');
    }, 60_000, 100);
    expect(await scheduler.stop()).toBe(0);

    const worker = await startPod('lakeray-worker', etc);
    pods.push(worker);
    expect(await worker.probe('livenessProbe')).toBe(200);
    // Its own config (--config …/worker.yaml): the local executor with the CPUs that file gives it.
    const { executors } = (await api(worker.url, 'GET', '/api/v1/executors')).body as { executors: { name: string; capacity: { cpu: number } }[] };
    expect(executors.map((e) => [e.name, e.capacity.cpu])).toEqual([['local', workerCpus]]);
    expect(await worker.stop()).toBe(0);
  });
});
