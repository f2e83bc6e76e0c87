/**
 * A live `lakeray up` on the Redis event bus (events.kind: redis), with an SSE client and a
 * WebSocket client following a task, while redis-server is stopped and started again (empty:
 * no persistence). The task ends while Redis is away, so no later event can reveal what the
 * bus lost: the clients must get every event, in order, once, and their streams must end —
 * from the store, on the bus's gap signal. After Redis is back, events flow through it again
 * (another node, a RedisEventBus in this process, sees them).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../../src/domain/events.ts';
import { RedisEventBus } from '../../../src/events/redis-event-bus.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { api, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { eventsOf, openSse, openWs, seqsOf, type SseClient, type WsClient } from '../api/helpers.ts';

const STREAM = 'lakeray:events:outage-test';
let redis: RedisServer;
let server: ServerProcess;
let observer: RedisEventBus;
const dir = tempDir('lakeray-bus-outage-');
const seen: TaskEvent[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  const config = writeConfig(dir, {
    script_roots: [join(import.meta.dirname, 'scripts')],
    data_roots: [join(dir, 'data')],
    events: { kind: 'redis', url: redis.url, stream: STREAM },
    executors: { local: { cpu: 4, pools: [{ name: 'js', runtime: 'node', min: 1, max: 1, concurrency: 8 }], default_pools: { node: 'js' } } },
  });
  server = await startServerProcess(dir, config);
  observer = new RedisEventBus({ url: redis.url, stream: STREAM, blockMs: 1_000, retryDelayMs: 50 });
  await observer.ready;
  observer.subscribe({}, (batch) => void seen.push(...batch));
}, 60_000);
const clients: { close(): unknown }[] = [];
afterAll(async () => {
  for (const c of clients.splice(0)) await c.close();
  await observer?.close();
  // A shutdown that hangs must not leave the server behind.
  const stuck = setTimeout(() => void server?.kill('SIGKILL'), 15_000);
  await server?.kill('SIGTERM');
  clearTimeout(stuck);
  await redis?.stop();
});

const base = () => new URL(server.url).host;
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function submitTicks(name: string): Promise<{ id: string; stop: () => void }> {
  const stopFile = join(dir, `stop-${name}`);
  const r = await api(server.url, 'POST', '/api/v1/tasks', { script: 'ticks.mjs', params: { stop: stopFile, every_ms: 20 }, resources: { cpu: 1 } });
  expect(r.status).toBe(201);
  return { id: r.body.id as string, stop: () => writeFileSync(stopFile, '') };
}

/** The task's whole log as the store has it. */
async function storedSeqs(id: string): Promise<number[]> {
  const r = await api(server.url, 'GET', `/api/v1/tasks/${id}/events?limit=1000`);
  return (r.body.events as TaskEvent[]).map((e) => e.seq);
}

async function follow(id: string): Promise<{ sse: SseClient; ws: WsClient }> {
  const sse = await openSse(base(), `/api/v1/tasks/${id}/events`);
  const ws = await openWs(base());
  ws.send({ op: 'subscribe', tasks: [id] });
  ws.send({ op: 'subscribe', all: true });
  clients.push(sse, ws);
  await ws.waitFor((m) => m.type === 'subscribed' && m.all === true);
  return { sse, ws };
}

const wsSeqs = (ws: WsClient, id: string): number[] => {
  // The task subscription and the tenant feed share the socket; the feed de-duplicates against the follower.
  return eventsOf(ws.messages, id).map((e: TaskEvent) => e.seq);
};

describe('the Redis bus under a live server when Redis restarts', () => {
  it('SSE and WebSocket clients get every event in order, the end included, while Redis is away and after', { timeout: 120_000 }, async () => {
    const a = await submitTicks('a');
    const { sse, ws } = await follow(a.id);
    await until('ticks through Redis', async () => sse.frames.length >= 10 && seen.some((e) => e.task_id === a.id), 20_000);

    let framesWhenDown = 0;
    await redis.restart(async () => {
      framesWhenDown = sse.frames.length;
      await new Promise((r) => setTimeout(r, 500)); // ticks are stored and their publishes fail
      a.stop();
      // Nothing can come through Redis now: the end arrives from the store, on the gap signal.
      await Promise.race([sse.ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the SSE stream did not end while Redis was away')), 20_000))]);
    });
    const last = (await storedSeqs(a.id)).at(-1) as number;
    expect(await storedSeqs(a.id)).toEqual(range(1, last));
    expect(seqsOf(sse.frames)).toEqual(range(1, last));
    expect(last).toBeGreaterThan(framesWhenDown + 5); // events were stored while Redis was away
    await until('the WebSocket task subscription to catch up', async () => wsSeqs(ws, a.id).length >= last, 20_000);
    expect(wsSeqs(ws, a.id)).toEqual(range(1, last));
    expect(JSON.parse(sse.frames.at(-1)?.data as string).data.status).toBe('completed');

    // Redis is back (empty): the bus carries events again, to this server's clients and to other nodes.
    const b = await submitTicks('b');
    const second = await follow(b.id);
    await until('b through Redis', async () => seen.filter((e) => e.task_id === b.id).length >= 5, 20_000);
    b.stop();
    await second.sse.ended;
    const lastB = (await storedSeqs(b.id)).at(-1) as number;
    expect(seqsOf(second.sse.frames)).toEqual(range(1, lastB));
    await until('the observer node to see b end', async () => seen.some((e) => e.task_id === b.id && e.seq === lastB), 20_000);
    await until('the tenant feed of the first socket to see b end', async () => wsSeqs(ws, b.id).includes(lastB), 20_000);
    await until('the second socket to see b end', async () => wsSeqs(second.ws, b.id).length === lastB, 20_000);
    expect(wsSeqs(second.ws, b.id)).toEqual(range(1, lastB));
    // The first socket's tenant-wide feed was told it may have missed events.
    expect(ws.messages.filter((m) => m.type === 'gap').length).toBeGreaterThanOrEqual(1);
    expect(observer.stats().gaps).toBeGreaterThanOrEqual(1); // the other node's reader reconnected
    const seenB = seen.filter((e) => e.task_id === b.id).map((e) => e.seq);
    expect(seenB).toEqual([...seenB].sort((x, y) => x - y));
    const health = await api(server.url, 'GET', '/health');
    expect(health.status).toBe(200);
  });
});
