/**
 * The multi-process fault suite (issue 14): 2 API (`--role api`) and 2 scheduler
 * (`--role scheduler`) processes over a real PostgreSQL and a real redis-server run
 * LAKERAY_FAULT_TASKS (default 5,000) mixed tasks — no-ops, sleeps with progress, failures,
 * and cancels sent from both API nodes — while the suite kill -9s the owning scheduler twice
 * (restarting it as a standby each time), kill -9s one API node (restarted), restarts
 * PostgreSQL once and Redis once, and freezes the owner (SIGSTOP) past its ownership ttl so
 * that a deposed owner is alive and writing when it resumes. Submits that fail during an outage are retried on the other
 * API node with the same idempotency keys, as a client would; only a 2xx counts as accepted.
 *
 * Then: every accepted task is in the store and terminal; none has two terminal events; no
 * event was written by a scheduler that did not own the task's executor at that moment
 * (write-audit.ts: triggers record the writer and the owner inside each write's transaction);
 * every task whose cancel was accepted before it ended is cancelled; the SSE clients of the
 * killed API node, resumed on the other with Last-Event-ID, saw every seq once with no gap;
 * no script process outlived the run. The figures go to docs/reliability.md.
 */
import { hostname } from 'node:os';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresTaskStore } from '../../src/store/postgres/postgres-store.ts';
import { startCluster, type Cluster } from '../helpers/cluster.ts';
import { ROOT, tempDir } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { openSse, type SseClient } from '../integration/api/helpers.ts';
import { installWriteAudit, ownerApp, readWriteAudit } from './write-audit.ts';

const TOTAL = Number(process.env.LAKERAY_FAULT_TASKS ?? 5000);
const BATCHES = 100;
// Both schedulers run on this machine under its default node name: one node, owner and standby of its `local@<node>`.
const EXECUTOR = `local@${hostname()}`;
const TERMINAL = ['completed', 'failed', 'cancelled'];
const SSE_TASKS = 10;
/** No-ops submitted at each scheduler kill, so the new owner has something to dispatch. */
const PROBES = 5;

type Kind = 'noop' | 'sleep' | 'fail' | 'cancel';
const kindOf = (i: number): Kind => {
  const r = i % 20;
  return r <= 10 ? 'noop' : r <= 15 ? 'sleep' : r <= 17 ? 'fail' : 'cancel';
};

const pids = join(tempDir('lakeray-fault-pids-'), 'pids');
mkdirSync(pids);

function taskOf(i: number): Record<string, unknown> {
  const kind = kindOf(i);
  const params =
    kind === 'sleep' ? { kind, steps: 3, step_ms: 30, pids } : kind === 'cancel' ? { kind: 'sleep', steps: 10, step_ms: 150, pids } : { kind, pids };
  // Attempts enough to survive every fault (a kill takes the attempt it interrupts); a
  // failure fails at once.
  return { script: 'mixed.js', params, resources: { cpu: 1 }, max_attempts: kind === 'fail' ? 1 : 6, idempotency_key: `fault-${i}`, labels: { kind } };
}

/** POST JSON; a connection error or 5xx is `null` (retried by the caller), anything else is returned. */
async function post(url: string, path: string, body: unknown): Promise<{ status: number; body: any } | null> {
  try {
    const r = await request(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'return=minimal' },
      body: JSON.stringify(body),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await r.body.text();
    if (r.statusCode >= 500) return null;
    return { status: r.statusCode, body: text ? JSON.parse(text) : null };
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: Cluster | undefined;
let db: pg.Client | undefined;
const sse: SseClient[] = [];

describe('multi-process faults', () => {
  afterAll(async () => {
    for (const c of sse) c.close();
    await db?.end().catch(() => {});
    await cluster?.stop();
  });

  it(`keeps ${TOTAL} tasks through scheduler, API, PostgreSQL and Redis faults`, { timeout: 900_000 }, async () => {
    const began = Date.now();
    cluster = await startCluster({
      apis: 2,
      schedulers: 2,
      config: {
        script_roots: [join(ROOT, 'test/fault/scripts')],
        executors: {
          local: { cpu: 16, pools: [{ name: 'js', runtime: 'node', min: 1, max: 2, concurrency: 8 }], default_pools: { node: 'js' } },
        },
      },
      migrate: async (url) => (await PostgresTaskStore.open({ url, poolSize: 1 })).close(),
      beforeNodes: installWriteAudit,
    });
    const c = cluster;
    try {
      await scenario(c, began);
    } catch (err) {
      console.log(c.output().slice(-30_000));
      throw err;
    }
  });
});

async function scenario(c: Cluster, began: number): Promise<void> {
  db = new pg.Client({ connectionString: c.databaseUrl });
  db.on('error', () => {}); // the PostgreSQL restart ends this connection: reconnect below
  await db.connect();
  const query = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> => {
    for (;;) {
      try {
        return (await db!.query<T>(text, values)).rows;
      } catch {
        await db!.end().catch(() => {});
        db = new pg.Client({ connectionString: c.databaseUrl });
        db.on('error', () => {});
        await db.connect().catch(() => {});
        await sleep(200);
      }
    }
  };
  const done = async () => Number((await query<{ n: string }>(`SELECT count(*) AS n FROM tasks WHERE status = ANY($1)`, [TERMINAL]))[0]!.n);
  const apiUrl = (k: number) => c.apis()[k % 2]!.url;

  // --- submit and cancel, alternating API nodes; a failed call goes to the other node ---
  const accepted = new Map<number, string>();
  const cancelsAccepted = new Set<string>();
  let cancelsLate = 0;
  let submitRetries = 0;
  const cancels: Promise<void>[] = [];
  const cancel = async (id: string, k: number) => {
    for (let t = k; ; t++) {
      const r = await post(apiUrl(t), `/api/v1/tasks/${id}/cancel`, {});
      if (r?.status === 200) return void cancelsAccepted.add(id);
      if (r?.status === 409) return void cancelsLate++;
      if (r !== null) throw new Error(`cancel ${id}: ${r.status} ${JSON.stringify(r.body)}`);
      await sleep(300);
    }
  };
  const per = Math.ceil(TOTAL / BATCHES);
  const submitting = (async () => {
    for (let b = 0; b * per < TOTAL; b++) {
      const first = b * per;
      const idx = Array.from({ length: Math.min(per, TOTAL - first) }, (_, j) => first + j);
      for (let t = b; ; t++) {
        const r = await post(apiUrl(t), '/api/v1/tasks/batch', { tasks: idx.map(taskOf) });
        if (r !== null && (r.status === 200 || r.status === 201)) {
          idx.forEach((i, j) => accepted.set(i, r.body.tasks[j].id));
          break;
        }
        if (r !== null) throw new Error(`batch ${b}: ${r.status} ${JSON.stringify(r.body)}`);
        submitRetries++;
        await sleep(300);
      }
      for (const i of idx) {
        if (kindOf(i) !== 'cancel') continue;
        const id = accepted.get(i)!;
        cancels.push(sleep(100 + ((i * 37) % 1400)).then(() => cancel(id, i)));
      }
      await sleep(250);
    }
  })();

  // --- the faults, one after the other, each once the run has moved on ---
  const figures: Record<string, number> = {};
  const note = (what: string) => console.log(`${((Date.now() - began) / 1000).toFixed(1)} s: ${what}`);
  const atLeast = (fraction: number) => until(`${fraction * 100}% of the tasks done`, async () => (await done()) >= fraction * TOTAL, 600_000, 200);
  /** The first task a process set running after `since`, in seconds after it (from the write audit). */
  const firstDispatch = (app: string, since: number) =>
    until(`${app} to dispatch`, async () => {
      const [r] = await query<{ s: number }>(
        `SELECT extract(epoch FROM min(at)) * 1000 - $2 AS s FROM fault_event_writes
         WHERE app = $1 AND type = 'state' AND data::json->>'status' = 'running' AND at >= to_timestamp($2 / 1000.0)`,
        [app, since],
      );
      return r?.s === null || r?.s === undefined ? null : Number(r.s) / 1000;
    }, 120_000, 200);
  const ownerNow = () => until('an owner of the executor', () => ownerApp(db!, EXECUTOR), 60_000, 100);
  const newOwner = (old: { app: string; epoch: number }) =>
    until('a new owner', async () => {
      const o = await ownerApp(db!, EXECUTOR);
      return o && o.app !== old.app && o.epoch > old.epoch ? o : null;
    }, 60_000, 100);
  let probes = 0;
  const submitProbes = async (label: string, k: number) => {
    const tasks = Array.from({ length: PROBES }, (_, i) => ({ script: 'mixed.js', params: { kind: 'noop', pids }, max_attempts: 6, idempotency_key: `${label}-${i}`, labels: { kind: 'noop' } }));
    for (let t = k; ; t++) {
      const r = await post(apiUrl(t), '/api/v1/tasks/batch', { tasks });
      if (r?.status === 201 || r?.status === 200) return void (probes += PROBES);
      await sleep(300);
    }
  };
  const killOwner = async (label: string) => {
    const owner = await ownerNow();
    const slot = c.schedulers().find((n) => n.name === owner.app)!.slot;
    const at = Date.now();
    await c.kill(slot);
    const restarted = c.restart(slot); // back as a standby
    // Work for the new owner even if the run's own tasks are all done or held by the dead one.
    await submitProbes(label, at);
    const next = await newOwner(owner);
    figures[`${label}_takeover_s`] = (Date.now() - at) / 1000;
    figures[`${label}_first_dispatch_s`] = await firstDispatch(next.app, at);
    await restarted;
  };
  const readiness = () =>
    Promise.all(
      [...c.nodes.values()].map(async (n) => {
        try {
          const r = await request(`${n.url}/ready`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
          return { name: n.name, status: r.statusCode, body: await r.body.text() };
        } catch (err) {
          return { name: n.name, status: 0, body: String(err) };
        }
      }),
    );
  const allReady = async () => {
    try {
      await until('every node ready', async () => (await readiness()).every((r) => r.status === 200), 120_000, 200);
    } catch (err) {
      console.log(JSON.stringify(await readiness()));
      throw err;
    }
  };

  await atLeast(0.05);
  await killOwner('kill1');
  note(`scheduler kill 1: new owner dispatched after ${figures.kill1_first_dispatch_s} s`);

  // SSE clients on api-a follow long tasks; api-a dies; they resume on api-b.
  await atLeast(0.2);
  const apiA = c.nodes.get('api-a')!;
  const apiB = c.nodes.get('api-b')!;
  const followed = await post(apiA.url, '/api/v1/tasks/batch', {
    tasks: Array.from({ length: SSE_TASKS }, (_, i) => ({ script: 'mixed.js', params: { kind: 'sleep', steps: 40, step_ms: 150, pids }, max_attempts: 6, idempotency_key: `sse-${i}`, priority: 10 })),
  });
  expect(followed?.status).toBe(201);
  const sseIds: string[] = followed!.body.tasks.map((t: { id: string }) => t.id);
  const hostOf = (url: string) => url.replace('http://', '');
  const before = await Promise.all(sseIds.map((id) => openSse(hostOf(apiA.url), `/api/v1/tasks/${id}/events`)));
  sse.push(...before);
  // Ahead of the queue (priority), but behind what runs and a loaded machine: give it time.
  await until('each SSE client to see progress', async () => before.every((s) => s.frames.length >= 3), 240_000, 50);
  await c.kill('api-a');
  await Promise.all(before.map((s) => s.ended));
  const after = await Promise.all(
    before.map((s, k) => openSse(hostOf(apiB.url), `/api/v1/tasks/${sseIds[k]}/events`, { 'last-event-id': s.frames.at(-1)!.id! })),
  );
  sse.push(...after);
  await c.restart('api-a');
  note('api-a killed and restarted; its SSE clients resumed on api-b');

  await atLeast(0.35);
  const pgAt = Date.now();
  await c.pg.halt();
  await sleep(3_000);
  await c.pg.start();
  await allReady();
  figures.postgres_outage_s = (Date.now() - pgAt) / 1000;
  note(`PostgreSQL restarted; every node ready after ${figures.postgres_outage_s} s`);

  await atLeast(0.5);
  const redisAt = Date.now();
  await c.redis.restart(async () => {
    await sleep(2_000);
  });
  figures.redis_outage_s = (Date.now() - redisAt) / 1000;
  note('Redis restarted');

  // A live owner that stops answering past its ttl (a long GC pause, a frozen VM): the
  // standby takes over; when it runs again, whatever it still writes must be refused.
  await atLeast(0.6);
  const paused = await ownerNow();
  const pausedNode = c.schedulers().find((n) => n.name === paused.app)!;
  const pauseAt = Date.now();
  process.kill(pausedNode.pid, 'SIGSTOP');
  try {
    await newOwner(paused);
  } finally {
    process.kill(pausedNode.pid, 'SIGCONT');
  }
  figures.pause_takeover_s = (Date.now() - pauseAt) / 1000;
  note(`owner paused; standby took over after ${figures.pause_takeover_s} s`);
  await until('the paused owner to notice it was deposed', async () => pausedNode.proc.output().includes('taken over by another process'), 60_000, 200);

  await atLeast(0.7);
  await killOwner('kill2');
  note(`scheduler kill 2: new owner dispatched after ${figures.kill2_first_dispatch_s} s`);

  await submitting;
  await Promise.all(cancels);
  await until(
    'every task terminal',
    async () => Number((await query<{ n: string }>(`SELECT count(*) AS n FROM tasks WHERE status <> ALL($1)`, [TERMINAL]))[0]!.n) === 0,
    600_000,
    500,
  );
  await Promise.all(after.map((s) => s.ended));
  note('every task terminal');
  figures.wall_s = (Date.now() - began) / 1000;

  // Script processes alive now must belong to a live scheduler (the killed ones' are gone).
  const scriptPids = readdirSync(pids).map(Number);
  const live = new Set(c.schedulers().map((n) => n.pid));
  const strays = scriptPids.filter((pid) => alive(pid) && !live.has(parentOf(pid)));

  // --- the checks ---
  const rows = await query<{ id: string; status: string; key: string; kind: string }>(
    `SELECT id, status, idempotency_key AS key, labels::json->>'kind' AS kind FROM tasks`,
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const lost = [...accepted.values()].filter((id) => !byId.has(id));
  const twice = await query<{ task_id: string }>(
    `SELECT task_id FROM events WHERE type = 'state' AND data::json->>'status' = ANY($1) GROUP BY task_id HAVING count(*) > 1`,
    [TERMINAL],
  );
  const audit = await readWriteAudit(db!);
  const notCancelled = [...cancelsAccepted].filter((id) => byId.get(id)?.status !== 'cancelled');
  const gaps: string[] = [];
  for (const [k, id] of sseIds.entries()) {
    const seen = [...before[k]!.frames, ...after[k]!.frames].map((f) => Number(f.id));
    const stored = (await query<{ seq: number }>(`SELECT seq FROM events WHERE task_id = $1 ORDER BY seq`, [id])).map((r) => r.seq);
    if (JSON.stringify(seen) !== JSON.stringify(stored)) gaps.push(`${id}: saw ${seen.join(',')}; stored ${stored.join(',')}`);
  }
  const unexpected = rows.filter((r) => {
    if (r.kind === 'noop' || r.kind === 'sleep') return r.status !== 'completed';
    if (r.kind === 'fail') return r.status !== 'failed';
    return false;
  });
  const statuses = Object.fromEntries(
    (await query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM tasks GROUP BY status`)).map((r) => [r.status, Number(r.n)]),
  );
  const leaseLost = Number(
    (await query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE type = 'state' AND data::json->>'reason' = 'lease_lost'`))[0]!.n,
  );
  console.log(
    JSON.stringify({
      tasks: TOTAL,
      accepted: accepted.size,
      submit_retries: submitRetries,
      cancels_accepted: cancelsAccepted.size,
      cancels_too_late: cancelsLate,
      statuses,
      lease_lost: leaseLost,
      scheduler_writes: audit.schedulerWrites,
      deposed_writes: audit.deposedWrites.length,
      sse_clients_resumed: after.length,
      script_processes: scriptPids.length,
      ...figures,
    }),
  );

  await c.stop();
  const orphans = await until('the script processes to end with their servers', async () => {
    const left = scriptPids.filter(alive);
    return left.length === 0 ? [] : null;
  }, 30_000, 200).catch(() => scriptPids.filter(alive));

  if (audit.deposedWrites.length > 0) console.log(audit.owners.join('\n'));
  const failed = { lost, twice, deposed: audit.deposedWrites.slice(0, 10), notCancelled, gaps, strays, orphans, unexpected: unexpected.slice(0, 10) };
  expect(accepted.size).toBe(TOTAL);
  expect(rows.length).toBe(TOTAL + SSE_TASKS + probes);
  expect(rows.filter((r) => !TERMINAL.includes(r.status))).toEqual([]);
  expect(audit.schedulerWrites).toBeGreaterThan(0);
  expect(failed).toEqual({ lost: [], twice: [], deposed: [], notCancelled: [], gaps: [], strays: [], orphans: [], unexpected: [] });
  expect(cancelsAccepted.size).toBeGreaterThan(0);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat); // a zombie has ended
  } catch {
    return false;
  }
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}
