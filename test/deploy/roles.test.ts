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
import Database from 'better-sqlite3';
import { request } from 'undici';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.ts';
import { api, freePort, ROOT, tempDir } from '../helpers/server-process.ts';
import { taskFixture } from '../helpers/task-fixture.ts';
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

  it('api queues and owns nothing (KEDA sees the queue on its /metrics); a scheduler then runs it and serves only probes, metrics and its tasks\' lake; a worker starts on its own config', { timeout: 180_000 }, async () => {
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
    expect(await scheduler.probe('readinessProbe')).toBe(200);
    const ids = (r.body.tasks as { id: string }[]).map((t) => t.id);
    // A scheduler serves no user API (api/scheduler-surface.ts): the store says what it ran.
    const db = join(dir, 'state', 'lakeray.db');
    const statuses = (wanted: string[]) => {
      const conn = new Database(db, { readonly: true, fileMustExist: true });
      try {
        return wanted.map((id) => (conn.prepare('SELECT status FROM tasks WHERE id = ?').get(id) as { status: string } | undefined)?.status);
      } finally {
        conn.close();
      }
    };
    await until('the scheduler runs what the api accepted', async () => statuses(ids).every((s) => s === 'completed'), 60_000, 100);
    expect((await api(scheduler.url, 'GET', `/api/v1/tasks/${ids[0]}`)).status).toBe(404);
    expect((await api(scheduler.url, 'POST', '/api/v1/tasks', { script: 'waits.mjs' })).status).toBe(404);
    expect((await request(`${scheduler.url}/metrics`)).statusCode).toBe(200);
    // The lake is there for its tasks' tokens only.
    const lake = await api(scheduler.url, 'GET', '/api/v1/datasets');
    expect([lake.status, (lake.body as { error: { code: string } }).error.code]).toEqual([403, 'FORBIDDEN']);
    expect(await scheduler.stop()).toBe(0);

    // A task only the worker's own config (--config …/worker.yaml, workerCpus) has room for.
    const store = SqliteTaskStore.open(db);
    const big = taskFixture({ id: 't_worker_cpus', created_at: Date.now(), script: 'waits.mjs', params: { ms: 10 }, resources: { cpu: workerCpus, memory_mb: 0, gpu: 0, custom: {} } });
    await store.insert([{ task: big, body_hash: null }], Date.now());
    await store.close();
    const worker = await startPod('lakeray-worker', etc);
    pods.push(worker);
    expect(await worker.probe('livenessProbe')).toBe(200);
    await until('the worker runs a task as big as its own config', async () => statuses([big.id])[0] === 'completed', 60_000, 100);
    expect(await worker.stop()).toBe(0);
  });
});
