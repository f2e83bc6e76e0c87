/**
 * RedisEventBus against a real redis-server: the EventBus conformance suite with two bus
 * instances on one stream (two nodes), then what the bus does when Redis loses events —
 * it must tell its subscribers (onGap), on every node, and carry on afterwards.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../../src/domain/events.ts';
import { RedisEventBus } from '../../../src/events/redis-event-bus.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { until } from '../../helpers/until.ts';
import { eventBusConformance } from './conformance.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const open: RedisEventBus[] = [];
const node = async (stream: string, opts: { maxLen?: number } = {}): Promise<RedisEventBus> => {
  const bus = new RedisEventBus({ url: redis.url, stream, blockMs: 1_000, retryDelayMs: 50, ...opts });
  open.push(bus);
  await bus.ready;
  return bus;
};
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

eventBusConformance('redis', async () => {
  const stream = `events-${randomUUID()}`;
  return { bus: await node(stream), peer: await node(stream) };
});

let seq = 0;
const ev = (task: string): TaskEvent => ({ task_id: task, tenant: 'acme', seq: ++seq, type: 'log', ts: Date.now(), data: { message: `${task}` } });

/** A subscription that records events and gap signals, in the order they came. */
function watch(bus: RedisEventBus) {
  const got: string[] = [];
  bus.subscribe({ onGap: () => void got.push('gap') }, (batch) => void got.push(...batch.map((e) => `${e.task_id}:${e.seq}`)));
  return { got, gaps: () => got.filter((g) => g === 'gap').length, events: () => got.filter((g) => g !== 'gap') };
}

describe('RedisEventBus when events are lost', () => {
  it('never signals a gap while nothing is lost', async () => {
    const stream = `events-${randomUUID()}`;
    const [a, b] = [await node(stream), await node(stream)];
    const [wa, wb] = [watch(a), watch(b)];
    for (let i = 0; i < 50; i++) (i % 2 ? a : b).publish([ev('t')]);
    await until('all delivered', async () => wa.events().length === 50 && wb.events().length === 50);
    expect(wa.gaps() + wb.gaps()).toBe(0);
    expect(a.stats()).toMatchObject({ lost: 0, gaps: 0 });
  });

  it('Redis restarted empty under two nodes: both signal a gap, then carry events again, in order', async () => {
    const stream = `events-${randomUUID()}`;
    const [a, b] = [await node(stream), await node(stream)];
    const [wa, wb] = [watch(a), watch(b)];
    const first = ev('t');
    a.publish([first]);
    await until('the first event on both', async () => wa.events().length === 1 && wb.events().length === 1);
    await redis.restart();
    // Publishes while the writer reconnects may fail (a gap, signalled); keep going until they land.
    let after: TaskEvent | null = null;
    await until(
      'an event published after the restart on both nodes',
      async () => {
        if (after && wa.events().includes(`t:${after.seq}`) && wb.events().includes(`t:${after.seq}`)) return true;
        after = ev('t');
        a.publish([after]);
        return false;
      },
      20_000,
      100,
    );
    for (const w of [wa, wb]) {
      expect(w.gaps()).toBeGreaterThanOrEqual(1);
      // The gap is signalled before anything published after the restart is delivered.
      expect(w.got.indexOf('gap')).toBeLessThan(w.got.indexOf(`t:${(after as unknown as TaskEvent).seq}`));
      const seqs = w.events().map((k) => Number(k.split(':')[1]));
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }
  });

  it('a node started while Redis is away: its subscribers are told once it can read (others may have published meanwhile), and events flow', async () => {
    const stream = `events-${randomUUID()}`;
    let late: RedisEventBus | null = null;
    let w: ReturnType<typeof watch> | null = null;
    await redis.restart(async () => {
      late = new RedisEventBus({ url: redis.url, stream, blockMs: 1_000, retryDelayMs: 50 });
      open.push(late);
      w = watch(late);
      await new Promise((r) => setTimeout(r, 200));
    });
    const [bus, got] = [late as unknown as RedisEventBus, w as unknown as ReturnType<typeof watch>];
    await bus.ready;
    await until('the gap', async () => got.gaps() >= 1, 5_000);
    const other = await node(stream);
    const next = ev('z');
    other.publish([next]);
    await until('events flow', async () => got.events().includes(`z:${next.seq}`), 10_000);
    expect(got.gaps()).toBe(1);
  });

  it('close() returns promptly while Redis is away (a server stops during an outage)', async () => {
    const bus = await node(`events-${randomUUID()}`);
    let took = Infinity;
    await redis.restart(async () => {
      await new Promise((r) => setTimeout(r, 300)); // the reader's blocking read waits for a reconnect
      const t = Date.now();
      await bus.close();
      took = Date.now() - t;
    });
    expect(took).toBeLessThan(500);
  });

  it('a publish that fails tells this node at once, and the other nodes by a notice once Redis answers', async () => {
    const stream = `events-${randomUUID()}`;
    const [a, b] = [await node(stream), await node(stream)];
    const [wa, wb] = [watch(a), watch(b)];
    a.publish([ev('t')]);
    await until('delivered to b', async () => wb.events().length === 1);
    // Cut only a's writer off (b's reader stays connected, so only the notice can tell b).
    const admin = new Redis(redis.url);
    try {
      const clients = (await admin.client('LIST')) as string;
      const writer = /id=(\d+) [^\n]*name=lakeray-bus-w:/g;
      const ids = [...clients.matchAll(writer)].map((m) => m[1] as string);
      expect(ids.length).toBe(2);
      await admin.client('PAUSE', 1500, 'WRITE'); // XADD waits; combined with the kill, a's publish fails
      for (const id of ids) await admin.client('KILL', 'ID', id);
      a.publish([ev('t')]);
      await until('a tells its own subscribers', async () => wa.gaps() === 1, 5_000);
      expect(a.stats().lost).toBe(1);
      await until('the notice reaches b', async () => wb.gaps() === 1, 10_000);
      const next = ev('t');
      a.publish([next]);
      await until('later events still flow', async () => wb.events().includes(`t:${next.seq}`), 10_000);
      expect(wb.gaps()).toBe(1);
    } finally {
      admin.disconnect();
    }
  });

  it('a hole in a publisher’s counter (an entry trimmed or lost) is a gap; a repeated entry is dropped', async () => {
    const stream = `events-${randomUUID()}`;
    const b = await node(stream);
    const wb = watch(b);
    const raw = new Redis(redis.url);
    try {
      const entry = (s: number, e: TaskEvent) => raw.xadd(stream, '*', 'n', 'other-node', 's', String(s), 'e', JSON.stringify([e]));
      const [e1, e2, e3] = [ev('x'), ev('x'), ev('x')];
      await entry(1, e1);
      await entry(1, e1); // the same publish twice (an XADD resent after a reconnect)
      await entry(3, e3); // 2 never arrived
      await until('delivered', async () => wb.events().length === 2);
      await new Promise((r) => setTimeout(r, 100));
      expect(wb.got).toEqual([`x:${e1.seq}`, 'gap', `x:${e3.seq}`]);
      expect(e2.seq).toBe(e1.seq + 1);
    } finally {
      raw.disconnect();
    }
  });

  it('keeps the stream bounded (MAXLEN ~)', async () => {
    const stream = `events-${randomUUID()}`;
    const a = await node(stream, { maxLen: 100 });
    const wa = watch(a);
    const events = Array.from({ length: 1000 }, () => ev('t'));
    for (const e of events) a.publish([e]);
    await until('the last event', async () => wa.events().includes(`t:${(events.at(-1) as TaskEvent).seq}`), 20_000);
    const raw = new Redis(redis.url);
    try {
      expect(await raw.xlen(stream)).toBeLessThan(400);
    } finally {
      raw.disconnect();
    }
  });

  it('entries trimmed before a node read them are a gap', async () => {
    const stream = `events-${randomUUID()}`;
    const b = await node(stream);
    const wb = watch(b);
    const raw = new Redis(redis.url);
    try {
      const first = ev('y');
      await raw.xadd(stream, '*', 'n', 'other-node', 's', '1', 'e', JSON.stringify([first]));
      await until('the first entry', async () => wb.events().length === 1);
      // 500 more publishes and a trim in one atomic script: b's next read finds the oldest gone.
      const base = first.seq;
      seq += 500;
      await raw.eval(
        `for i = 2, 501 do
           local e = '[{"task_id":"y","tenant":"acme","seq":' .. (ARGV[1] + i - 1) .. ',"type":"log","ts":1,"data":{}}]'
           redis.call('XADD', KEYS[1], 'MAXLEN', '~', '100', '*', 'n', 'other-node', 's', tostring(i), 'e', e)
         end`,
        1,
        stream,
        String(base),
      );
      await until('the last entry', async () => wb.events().includes(`y:${base + 500}`), 10_000);
      const got = wb.events().length;
      expect(got).toBeLessThan(501);
      expect(wb.got.slice(0, 2)).toEqual([`y:${base}`, 'gap']);
      expect(wb.gaps()).toBe(1);
      const seqs = wb.events().map((k) => Number(k.split(':')[1]));
      expect(seqs.slice(1)).toEqual(Array.from({ length: got - 1 }, (_, i) => base + 502 - got + i));
    } finally {
      raw.disconnect();
    }
  });
});
