/**
 * Micro-measure of the PostgreSQL store's appendEvents, the scheduler's event path
 * (bench/REPORT.md, events-multi): TASKS running tasks, one fenced progress event each per
 * call (what one group-commit flush of the events bench holds), CALLS calls one after
 * another. Prints ms per call (p50/p99) and events/s.
 * `node --import tsx bench/micro/append-events-pg.ts [tasks] [calls]`
 */
import { PostgresTaskStore } from '../../src/store/postgres/postgres-store.ts';
import { startPostgresServer } from '../../test/helpers/postgres-server.ts';
import { taskFixture } from '../../test/helpers/task-fixture.ts';
import { summarize } from '../lib/stats.ts';

const TASKS = Number(process.argv[2] ?? 100);
const CALLS = Number(process.argv[3] ?? 300);

const server = await startPostgresServer();
try {
  const store = await PostgresTaskStore.open({ url: await server.createDatabase(), poolSize: 2 });
  const now = Date.now();
  const owner = await store.claimExecutor('local', 'bench', now, 600_000);
  if (!owner) throw new Error('no ownership');
  const fence = { executor: 'local', epoch: owner.epoch };
  const tasks = Array.from({ length: TASKS }, (_, i) => taskFixture({ id: `t${String(i).padStart(5, '0')}`, executor: 'local', created_at: now }));
  await store.insert(tasks.map((task) => ({ task, body_hash: null })), now);
  await store.transition(tasks.map((t) => ({ id: t.id, from: ['pending' as const], to: 'running' as const, patch: { attempt: 1, started_at: now, lease_owner: 'bench', lease_expires_at: now + 600_000 }, now, fence })));
  const ms: number[] = [];
  const t0 = performance.now();
  for (let c = 0; c < CALLS; c++) {
    const events = tasks.map((t) => ({ task_id: t.id, tenant: t.tenant, type: 'progress' as const, ts: Date.now(), data: { fraction: c / CALLS, message: String(Date.now()) }, fence }));
    const s = performance.now();
    const out = await store.appendEvents(events);
    ms.push(performance.now() - s);
    if (out.length !== TASKS) throw new Error(`stored ${out.length} of ${TASKS}`);
  }
  const total = performance.now() - t0;
  const s = summarize(ms);
  console.log(JSON.stringify({ tasks: TASKS, calls: CALLS, p50_ms: +s.p50_ms.toFixed(2), p99_ms: +s.p99_ms.toFixed(2), events_per_s: Math.round((TASKS * CALLS * 1000) / total), loadavg: (await import('node:os')).loadavg().map((x) => +x.toFixed(2)) }));
  await store.close();
} finally {
  await server.stop();
}
