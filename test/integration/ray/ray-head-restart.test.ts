/**
 * Issue 12 §7: the Ray head stopped and started again during a task → the task is retried per
 * its policy on the restarted head, or fails EXECUTOR_LOST; it never stays `running`.
 *
 * While the head is down, a task for it waits queued, /ready names it, and a local task runs.
 *
 * Against a head of this file's own (dedicatedRayHead: its own ports; the run's shared head is
 * never stopped), through the real server (`startServer` from a config), for mode `job` and
 * mode `actors`:
 *   - `rj`/`ra` (lost_after_s large): the head's processes are killed while attempt 1 sleeps
 *     and the head is started again on the same ports; Ray no longer knows the job (mode job)
 *     or the driver (mode actors: a new driver is submitted on the new head). max_attempts 2 →
 *     attempt 2 runs on the new head and succeeds; max_attempts 1 → failed EXECUTOR_LOST.
 *   - `rjl`/`ral` (lost_after_s 10): Ray unreachable that long fails the task EXECUTOR_LOST
 *     while the head is still down.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { RayJobsClient } from '../../../src/executors/ray/jobs-client.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { dedicatedRayHead, type DedicatedRayHead } from '../../helpers/ray-head.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const SCRIPTS = join(import.meta.dirname, 'restart-fixtures');
let head: DedicatedRayHead | undefined;
let server: RunningServer | undefined;

afterAll(async () => {
  head?.stop(); // first: whatever happens to the server's close, no head of ours is left
  await Promise.race([server?.close(), new Promise((r) => setTimeout(r, 60_000).unref())]);
}, 240_000);

interface TaskView { id: string; status: string; attempt: number; result: { attempt?: number } | null; error: { code: string; message: string } | null }

const get = async (id: string) => (await api(server!.url, 'GET', `/api/v1/tasks/${id}`)).body as TaskView;
const submit = async (executor: string, maxAttempts: number, params: Record<string, unknown> = {}): Promise<string> => {
  const body = { script: 'first_attempt_sleeps.py', executor, params, resources: { cpu: 0.1 }, retry: { max_attempts: maxAttempts, backoff_ms: 100 } };
  const r = await api(server!.url, 'POST', '/api/v1/tasks', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return (r.body as { id: string }).id;
};
const logsOf = async (id: string): Promise<string[]> => {
  const r = await api(server!.url, 'GET', `/api/v1/tasks/${id}/events?types=log&limit=1000`);
  return (r.body as { events: { data: { message: string } }[] }).events.map((e) => String(e.data.message));
};
const isOver = (t: TaskView) => ['completed', 'failed', 'cancelled'].includes(t.status);

it('the Ray head killed and started again mid-task: retried on the new head with attempts left, else EXECUTOR_LOST; never left running', { timeout: 1_800_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'ray-restart-head-'));
  head = await dedicatedRayHead(root, 4);
  console.info(`[measure] dedicated head started in ${head.startMs} ms`);
  const dir = tempDir();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const pool = [{ name: 'py', cpu: 0.1, min: 1, max: 2 }];
  const address = head.url;
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [SCRIPTS],
      data_roots: [join(dir, 'data')],
      executors: {
        rj: { kind: 'ray', mode: 'job', address, lost_after_s: 900 },
        rjl: { kind: 'ray', mode: 'job', address, lost_after_s: 10 },
        ra: { kind: 'ray', mode: 'actors', address, lost_after_s: 900, pools: pool },
        ral: { kind: 'ray', mode: 'actors', address, lost_after_s: 10, pools: pool },
      },
    },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });

  const tasks = {
    job2: await submit('rj', 2),
    job1: await submit('rj', 1),
    jobUnreachable: await submit('rjl', 1),
    actors2: await submit('ra', 2),
    actors1: await submit('ra', 1),
    actorsUnreachable: await submit('ral', 1),
  };
  for (const [name, id] of Object.entries(tasks)) {
    await until(`${name}: attempt 1 sleeps on Ray`, async () => (await logsOf(id)).some((m) => m.startsWith('attempt 1 running')), 600_000, 200);
  }
  const firstDriver = (await ray(address)).filter((j) => j.startsWith('lr-driver-ra-'));

  const killedAt = performance.now();
  head.kill();
  console.info(`[measure] head crashed (SIGKILL to all its processes) in ${Math.round(performance.now() - killedAt)} ms`);

  // Down: /ready names the executors, and lost_after_s (10 s) fails what ran on rjl and ral.
  const ready = await until('/ready names the executors that are down', async () => {
    const r = (await api(server!.url, 'GET', '/ready')).body as { executors_down?: { name: string }[] };
    const down = r.executors_down?.map((e) => e.name) ?? [];
    return ['rj', 'rjl'].every((n) => down.includes(n)) ? down : null;
  }, 60_000, 200);
  expect(ready).toEqual(expect.arrayContaining(['rj', 'rjl']));
  for (const name of ['jobUnreachable', 'actorsUnreachable'] as const) {
    const t = await until(`${name} lost while the head is down`, async () => {
      const v = await get(tasks[name]);
      return isOver(v) ? v : null;
    }, 120_000, 200);
    expect(t.status).toBe('failed');
    if (name === 'actorsUnreachable' && t.error?.code === 'PROCESS_EXITED') {
      // The driver outlived the crash by a moment and saw its actor die with the node: it
      // reported that death before it died itself (seen under load). A clear code as well.
      expect(t.error.message).toMatch(/actor died/);
    } else {
      expect(t.error).toMatchObject({ code: 'EXECUTOR_LOST', message: expect.stringMatching(/unreachable/) });
    }
    console.info(`[measure] ${name}: head killed → failed EXECUTOR_LOST (lost_after_s 10) ${Math.round(performance.now() - killedAt)} ms`);
  }
  // The others wait for the head (lost_after_s 900): still running, not failed.
  for (const name of ['job2', 'job1', 'actors2', 'actors1'] as const) expect((await get(tasks[name])).status).toBe('running');
  // §7's third bullet on a real head: a task for the executor that is down waits queued; local tasks run.
  const queuedOnRay = await submit('rj', 1, { sleep: 0 });
  const local = await submit('local', 1, { sleep: 0 });
  const localDone = await until('a local task while Ray is down', async () => {
    const v = await get(local);
    return isOver(v) ? v : null;
  }, 120_000, 100);
  expect(localDone).toMatchObject({ status: 'completed', result: { attempt: 1 } });
  expect((await get(queuedOnRay)).status).toBe('pending');

  const restartMs = await head.start();
  const backAt = performance.now();
  console.info(`[measure] head started again on the same ports in ${restartMs} ms`);

  const settled = async (name: keyof typeof tasks) => {
    const t = await until(`${name} settled after the restart`, async () => {
      const v = await get(tasks[name]);
      return isOver(v) ? v : null;
    }, 600_000, 100);
    console.info(`[measure] ${name}: head back → settled ${t.status} ${Math.round(performance.now() - backAt)} ms`);
    return t;
  };
  const [job1, actors1, job2, actors2] = await Promise.all([settled('job1'), settled('actors1'), settled('job2'), settled('actors2')]);
  expect(job1).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'EXECUTOR_LOST', message: expect.stringMatching(/no longer knows the job/) } });
  expect(actors1).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'EXECUTOR_LOST', message: expect.stringMatching(/lr-driver-ra-1/) } });
  expect(job2, JSON.stringify(job2.error)).toMatchObject({ status: 'completed', attempt: 2, result: { attempt: 2 } });
  expect(actors2, JSON.stringify(actors2.error)).toMatchObject({ status: 'completed', attempt: 2, result: { attempt: 2 } });

  const afterDown = await until('the task queued while Ray was down', async () => {
    const v = await get(queuedOnRay);
    return isOver(v) ? v : null;
  }, 600_000, 100);
  expect(afterDown, JSON.stringify(afterDown.error)).toMatchObject({ status: 'completed', attempt: 1 });

  // Mode actors: its driver was submitted again on the new head, and new tasks run there.
  expect(firstDriver).toContain('lr-driver-ra-1');
  expect(await ray(address)).toContain('lr-driver-ra-2');
  const fresh = await submit('ra', 1, { sleep: 0 });
  const t = await until('a new task on ra', async () => {
    const v = await get(fresh);
    return isOver(v) ? v : null;
  }, 300_000, 100);
  expect(t, JSON.stringify(t.error)).toMatchObject({ status: 'completed', result: { attempt: 1 } });
});

/** The submission ids Ray knows at `address`. */
async function ray(address: string): Promise<string[]> {
  const client = new RayJobsClient({ address });
  try {
    return (await client.list()).flatMap((j) => (j.submission_id === null ? [] : [j.submission_id]));
  } finally {
    await client.close();
  }
}
