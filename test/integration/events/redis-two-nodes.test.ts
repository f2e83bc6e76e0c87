/**
 * Two API nodes on one store and one Redis Stream, in this process: node A runs the tasks (its
 * engine has the executor), node B has no executor and only serves clients — each with its own
 * RedisEventBus and its own HTTP app, as two `lakeray up --role api` processes over a shared
 * store would. (The store is one in-memory SQLite both engines hold: the test of the bus does
 * not need PostgreSQL.) What must hold (issue 14 §2): events stored on A reach SSE and
 * WebSocket clients of B in order; a client that reconnects to the other node resumes from its
 * seq with no gap; after Redis restarts — the task ending while it is away — B's clients catch
 * up from the store once B hears of the gap (its reader reconnects, A's notice).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { RedisEventBus } from '../../../src/events/redis-event-bus.ts';
import { LocalExecutor } from '../../../src/executors/local/local-executor.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import type { TaskStore } from '../../../src/store/task-store.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { eventsOf, listen, openSse, openWs, seqsOf, type SseClient, type WsClient } from '../api/helpers.ts';

const ROOT = join(import.meta.dirname, '../../..');
const CALLER = { tenant: 'default' };
const dir = tempDir('lakeray-two-nodes-');
const config = parseConfig(
  {
    state_dir: join(dir, 'state'),
    script_roots: [join(import.meta.dirname, 'scripts')],
    data_roots: [join(dir, 'data')],
    executors: { local: { cpu: 4, work_dirs: false, pools: [{ name: 'js', runtime: 'node', min: 1, max: 1, concurrency: 8 }], default_pools: { node: 'js' } } },
  },
  dir,
  {},
);

interface Node {
  bus: RedisEventBus;
  engine: Engine;
  app: FastifyInstance;
  base: string;
}
let redis: RedisServer;
let store: TaskStore;
let executor: LocalExecutor;
let a: Node;
let b: Node;
const clients: { close(): unknown }[] = [];

async function node(withExecutor: boolean): Promise<Node> {
  const bus = new RedisEventBus({ url: redis.url, stream: 'two-nodes', blockMs: 1_000, retryDelayMs: 50 });
  await bus.ready;
  const engine = new Engine({ config, store, bus, executors: new Map(withExecutor ? [[executor.name, executor]] : []), exclusiveStore: false });
  const app = await buildApp({ tasks: engine, version: '9.9.9-test' });
  await engine.start();
  return { bus, engine, app, base: await listen(app) };
}

beforeAll(async () => {
  redis = await startRedisServer();
  store = SqliteTaskStore.open(':memory:');
  executor = new LocalExecutor({
    config: config.executors.local,
    pythonInterpreter: 'python3',
    scriptRoots: [...config.script_roots],
    dataRoots: [...config.data_roots],
    runtimesDir: join(ROOT, 'runtimes'),
  });
  a = await node(true);
  b = await node(false);
}, 60_000);
afterAll(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const n of [a, b]) {
    if (!n) continue;
    await n.app.close();
    await n.engine.stop();
    await n.bus.close();
  }
  await executor?.close();
  await store?.close();
  await redis?.stop();
});

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function submitTicks(name: string): Promise<{ id: string; stop: () => void }> {
  const stopFile = join(dir, `stop-${name}`);
  const [r] = await a.engine.submit(CALLER, [{ script: 'ticks.mjs', params: { stop: stopFile, every_ms: 20 }, resources: { cpu: 1 } }]);
  return { id: (r as { task: { id: string } }).task.id, stop: () => writeFileSync(stopFile, '') };
}
const storedLast = async (id: string): Promise<number> => (await store.get(id))?.last_seq ?? 0;
async function sse(on: Node, id: string, lastEventId?: number): Promise<SseClient> {
  const c = await openSse(on.base, `/api/v1/tasks/${id}/events`, lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) });
  clients.push(c);
  return c;
}
async function ws(on: Node, id: string): Promise<WsClient> {
  const c = await openWs(on.base);
  clients.push(c);
  c.send({ op: 'subscribe', tasks: [id] });
  await c.waitFor((m) => m.type === 'subscribed');
  return c;
}
const wsSeqs = (c: WsClient, id: string): number[] => eventsOf(c.messages, id).map((e: { seq: number }) => e.seq);

describe('two API nodes on the Redis bus', () => {
  it('a task run on node A streams to SSE and WebSocket clients of node B, in order, to its end', { timeout: 60_000 }, async () => {
    const t = await submitTicks('one');
    const onB = await sse(b, t.id);
    const wsB = await ws(b, t.id);
    await until('ticks on B', async () => onB.frames.length >= 10, 20_000);
    t.stop();
    await onB.ended;
    const last = await storedLast(t.id);
    expect(seqsOf(onB.frames)).toEqual(range(1, last));
    await until('the WebSocket of B', async () => wsSeqs(wsB, t.id).length === last, 20_000);
    expect(wsSeqs(wsB, t.id)).toEqual(range(1, last));
    expect(b.bus.stats()).toMatchObject({ lost: 0, gaps: 0, published: 0 }); // B carried, A published
  });

  it('a client that drops from node A and reconnects to node B with Last-Event-ID resumes with no gap and no duplicate', { timeout: 60_000 }, async () => {
    const t = await submitTicks('move');
    const onA = await sse(a, t.id);
    await until('ticks on A', async () => onA.frames.length >= 8, 20_000);
    onA.close();
    const seenOnA = seqsOf(onA.frames);
    await new Promise((r) => setTimeout(r, 100)); // more ticks are stored meanwhile
    const onB = await sse(b, t.id, seenOnA.at(-1));
    await until('ticks on B', async () => onB.frames.length >= 5, 20_000);
    t.stop();
    await onB.ended;
    expect([...seenOnA, ...seqsOf(onB.frames)]).toEqual(range(1, await storedLast(t.id)));
  });

  it('Redis restarts and the task ends while it is away: node B’s clients catch up from the store once B hears of it', { timeout: 90_000 }, async () => {
    const t = await submitTicks('outage');
    const onB = await sse(b, t.id);
    const wsB = await ws(b, t.id);
    await until('ticks on B', async () => onB.frames.length >= 5, 20_000);
    const gapsBefore = b.bus.stats().gaps;
    let endedWhileDown = false;
    await redis.restart(async () => {
      await new Promise((r) => setTimeout(r, 300));
      t.stop();
      await until('the task to end (in the store)', async () => (await store.get(t.id))?.status === 'completed', 20_000);
      await new Promise((r) => setTimeout(r, 300));
      endedWhileDown = await Promise.race([onB.ended.then(() => true), Promise.resolve(false)]);
    });
    // B could not know before Redis came back (A's failures are A's); afterwards it must.
    expect(endedWhileDown).toBe(false);
    await Promise.race([onB.ended, new Promise((_, reject) => setTimeout(() => reject(new Error('B’s SSE stream did not end after Redis came back')), 20_000))]);
    const last = await storedLast(t.id);
    expect(seqsOf(onB.frames)).toEqual(range(1, last));
    await until('the WebSocket of B', async () => wsSeqs(wsB, t.id).length === last, 20_000);
    expect(wsSeqs(wsB, t.id)).toEqual(range(1, last));
    expect(b.bus.stats().gaps).toBeGreaterThan(gapsBefore);
    expect(a.bus.stats().lost).toBeGreaterThan(0);
  });
});
