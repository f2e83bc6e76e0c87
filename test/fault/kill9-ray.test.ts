/**
 * The kill -9 test with half of its tasks on Ray (issue 12): one `lakeray up` process with the
 * local executor and two Ray executors on the run's real head (test/helpers/ray-head.ts), killed
 * with SIGKILL twice while Ray tasks run, each time restarted on the same port and state dir.
 * At the end every task is terminal (succeeded: each had attempts to spare), none is lost
 * (total == submitted), and none finished twice — by the database (one `completed` state event
 * and one stored result per task), by the scripts themselves (scripts/ledger.py and ledger.js
 * note each run() entered and returned in a file of the task's own: no attempt ran twice, the
 * attempt that succeeded returned) and by Ray (one job per task attempt, one actors driver
 * adopted across both restarts, never replaced).
 *
 * The split, 1,208 tasks, max_attempts 3 each, submitted in two waves (one at the start, one
 * right after the first restart, so both kills find tasks of every kind in flight):
 * - 600 on the local executor (ledger.js, 300–690 ms, a warm node pool held to 3 at once, so
 *   local tasks still run at each kill instead of all ending in the first seconds);
 * - 600 on Ray in mode `actors` (ledger.py, 20–58 ms, a pool of 2–4 warm actors of 0.1 CPU):
 *   the mode that runs hundreds of short Python tasks, tens of ms each;
 * - 8 on Ray in mode `job` (ledger.py sleeping 60 s, 0.25 CPU each): a job takes seconds to
 *   start here (runtime env, a new interpreter), minutes when the machine is loaded, so a few
 *   long ones instead of hundreds.
 * Half of the 1,208 are on Ray (608), half local. A wave submits its jobs and 200 actor and 200
 * local tasks; once ≥ 100 of each have succeeded and a Ray job is inside run() (however long
 * the jobs took to start), it submits its last 100 actor and 100 local tasks, and the kill
 * waits for a Ray job and a local task inside run() and an actor task running. Ends in a few
 * minutes on this 2-core machine (the `[measure]` lines give the times); the deadlines allow
 * for a loaded one.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { RayJobsClient } from '../../src/executors/ray/jobs-client.ts';
import { rayHead } from '../helpers/ray-head.ts';
import { api, ROOT, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { checkLedger, readDb, readLedger, runningNow } from './ledger.ts';

const LOCAL = 600;
const ACTORS = 600;
const JOBS = 8;
/** kills, and waves of submissions: wave k is submitted before kill k */
const KILLS = 2;
/** tasks of each kind of the current wave that must have succeeded before its kill */
const SHARE = 100;
/** tasks of each kind of a wave submitted at its start; the rest (its tail) once a Ray job is inside run() */
const HEAD = 200;
/** how long a Ray-job task sleeps inside run(): long enough to still run when the wave's tail runs */
const JOB_MS = 60_000;

const address = process.env.LAKERAY_TEST_RAY_URL ?? (await rayHead()).url;
const ray = new RayJobsClient({ address });
const suffix = Math.random().toString(36).slice(2, 8);
const ACTORS_EXECUTOR = `k9a-${suffix}`;
const JOB_EXECUTOR = `k9j-${suffix}`;
let server: ServerProcess | null = null;

afterAll(async () => {
  await server?.kill('SIGKILL');
  for (const j of await ray.list()) {
    const ours = [ACTORS_EXECUTOR, JOB_EXECUTOR].includes(String(j.metadata?.lakeray_executor));
    if (ours && j.submission_id && !['SUCCEEDED', 'FAILED', 'STOPPED'].includes(j.status)) await ray.stop(j.submission_id);
  }
  await ray.close();
});

const log = (msg: string) => console.info(`[measure] ${msg}`);

it('survives two kill -9 of the server with half of 1,208 tasks on Ray: every task terminal, none lost, none finished twice', { timeout: 1_500_000 }, async () => {
  const t0 = Date.now();
  const dir = tempDir('lakeray-kill9-ray-');
  const ledger = join(dir, 'ledger');
  mkdirSync(ledger);
  const config = writeConfig(dir, {
    script_roots: [join(ROOT, 'test/fault/scripts')],
    data_roots: [join(dir, 'data')],
    executors: {
      local: { cpu: 3, pools: [{ name: 'js', runtime: 'node', min: 1, max: 1, concurrency: 3 }], default_pools: { node: 'js' } },
      [ACTORS_EXECUTOR]: { kind: 'ray', mode: 'actors', address, grace_ms: 1000, pools: [{ name: 'py', cpu: 0.1, min: 2, max: 4 }] },
      [JOB_EXECUTOR]: { kind: 'ray', mode: 'job', address, poll_ms: 200, max_pending: 4 },
    },
  });
  server = await startServerProcess(dir, config);
  const port = Number(new URL(server.url).port);

  const submit = async (tasks: Record<string, unknown>[]): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < tasks.length; i += 500) {
      const r = await api(server!.url, 'POST', '/api/v1/tasks/batch', { tasks: tasks.slice(i, i + 500) });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      ids.push(...(r.body.tasks as { id: string }[]).map((t) => t.id));
    }
    return ids;
  };
  const wave = (n: number) => {
    const local = Array.from({ length: LOCAL / KILLS }, (_, i) => ({ script: 'ledger.js', params: { ledger, ms: 300 + (i % 40) * 10 }, resources: { cpu: 1 }, max_attempts: 3 }));
    const actors = Array.from({ length: ACTORS / KILLS }, (_, i) => ({ script: 'ledger.py', executor: ACTORS_EXECUTOR, pool: 'py', params: { ledger, ms: 20 + (i % 20) * 2 }, resources: { cpu: 0.1 }, max_attempts: 3 }));
    const jobs = Array.from({ length: JOBS / KILLS }, () => ({ script: 'ledger.py', executor: JOB_EXECUTOR, params: { ledger, ms: JOB_MS }, resources: { cpu: 0.25 }, max_attempts: 3 }));
    return { n, local, actors, jobs };
  };
  const submitted = new Set<string>();
  const succeeded = async (ids: Set<string>, executor: string) => {
    const r = await api(server!.url, 'GET', `/api/v1/tasks?executor=${executor}&status=completed&limit=1000`);
    return (r.body.tasks as { id: string }[]).filter((t) => ids.has(t.id)).length;
  };
  const actorRunning = async () => (await api(server!.url, 'GET', `/api/v1/tasks?executor=${ACTORS_EXECUTOR}&status=running&limit=1`)).body.tasks.length > 0;

  for (let kill = 1; kill <= KILLS; kill++) {
    const w = wave(kill);
    // The jobs first: a job takes seconds to start when the machine is idle, minutes under load.
    const ids = { jobs: new Set(await submit(w.jobs)), actors: new Set(await submit(w.actors.slice(0, HEAD))), local: new Set(await submit(w.local.slice(0, HEAD))) };
    let seen = {};
    const share = async () => {
      const now = { actors: await succeeded(ids.actors, ACTORS_EXECUTOR), local: await succeeded(ids.local, 'local'), jobsInRun: runningNow(ledger, ids.jobs).length };
      seen = now;
      return now.actors >= SHARE && now.local >= SHARE && now.jobsInRun > 0;
    };
    await until(`kill ${kill}: ${SHARE} actor and local tasks of wave ${kill} succeeded, and a Ray job inside run()`, share, 360_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(seen)}`);
    });
    // The wave's tail only now, so actor and local tasks run at the kill, whenever the jobs started.
    for (const id of await submit(w.actors.slice(HEAD))) ids.actors.add(id);
    for (const id of await submit(w.local.slice(HEAD))) ids.local.add(id);
    for (const set of Object.values(ids)) for (const id of set) submitted.add(id);
    log(`wave ${kill}: ${submitted.size} tasks submitted by ${Date.now() - t0} ms`);
    const caught = await until(`kill ${kill}: a Ray job and a local task inside run(), an actor task running`, async () => {
      const jobs = runningNow(ledger, ids.jobs);
      const locals = runningNow(ledger, ids.local);
      seen = { jobs: jobs.length, locals: locals.length };
      if (jobs.length === 0 || locals.length === 0 || !(await actorRunning())) return null;
      const [actors, local] = [await succeeded(ids.actors, ACTORS_EXECUTOR), await succeeded(ids.local, 'local')];
      return { actors, local, jobs, locals, actorsInRun: runningNow(ledger, ids.actors).length };
    }, 120_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(seen)}`);
    });
    await server.kill('SIGKILL');
    log(
      `kill ${kill} at ${Date.now() - t0} ms: wave ${kill} had ${caught.actors} actor and ${caught.local} local tasks succeeded; inside run(): ` +
        `${caught.jobs.length} Ray jobs, ${caught.actorsInRun} actor tasks, ${caught.locals.length} local tasks`,
    );
    server = await startServerProcess(dir, config, port);
    log(`restart ${kill} ready at ${Date.now() - t0} ms`);
  }

  await until('every task to end after the last restart', async () => {
    const r = await api(server!.url, 'GET', '/api/v1/tasks?status=pending,running,cancelling&limit=1');
    return r.body.tasks.length === 0;
  }, 480_000, 250);
  log(`all ended at ${Date.now() - t0} ms`);
  await server.kill('SIGTERM');
  server = null;

  const db = readDb(join(dir, 'state'));
  expect(db.tasks.length).toBe(submitted.size);
  expect(db.tasks.filter((t) => !submitted.has(t.id))).toEqual([]);
  const notSucceeded = db.tasks.filter((t) => t.status !== 'completed');
  expect(notSucceeded, JSON.stringify(notSucceeded.slice(0, 5))).toEqual([]); // every task had attempts to spare
  expect(db.succeededTwice).toEqual([]);
  expect(db.tasks.filter((t) => db.results.get(t.id) !== 1).map((t) => `${t.id}: ${db.results.get(t.id) ?? 0} results`)).toEqual([]);
  expect(db.tasks.filter((t) => t.executor === ACTORS_EXECUTOR)).toHaveLength(ACTORS);
  expect(db.tasks.filter((t) => t.executor === JOB_EXECUTOR)).toHaveLength(JOBS);

  const findings = checkLedger(readLedger(ledger), db.tasks);
  expect(findings.attemptRanTwice).toEqual([]);
  expect(findings.succeededWithoutRun).toEqual([]);

  const ours = (await ray.list()).filter((j) => j.metadata?.lakeray_executor === JOB_EXECUTOR);
  const perAttempt = new Map<string, string[]>();
  for (const j of ours) {
    const key = `${j.metadata?.lakeray_task} ${j.metadata?.lakeray_attempt}`;
    perAttempt.set(key, [...(perAttempt.get(key) ?? []), String(j.submission_id)]);
  }
  expect([...perAttempt].filter(([, ids]) => ids.length > 1)).toEqual([]);
  for (const t of db.tasks.filter((x) => x.executor === JOB_EXECUTOR)) expect(perAttempt.get(`${t.id} ${t.attempt}`), t.id).toEqual([`lr-${t.id}-${t.attempt}`]);
  const drivers = (await ray.list()).filter((j) => j.metadata?.lakeray_executor === ACTORS_EXECUTOR).map((j) => j.submission_id);
  expect(drivers).toEqual([`lr-driver-${ACTORS_EXECUTOR}-1`]); // adopted by each restarted server, never replaced

  const retried = db.tasks.filter((t) => t.attempt > 1);
  log(
    `${submitted.size} tasks in ${Date.now() - t0} ms; lease_lost re-queues ${db.leaseLost}; tasks on a later attempt: ` +
      `local ${retried.filter((t) => t.executor === 'local').length}, actors ${retried.filter((t) => t.executor === ACTORS_EXECUTOR).length}, ` +
      `jobs ${retried.filter((t) => t.executor === JOB_EXECUTOR).length}; run() returned in two attempts (an outcome lost to a kill): ${findings.returnedInSeveralAttempts.length}; retries by why: ${JSON.stringify(db.retries)}`,
  );
});
