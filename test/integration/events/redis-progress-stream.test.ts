/**
 * The seed's Redis progress stream read by RedisProgressStream, against a real redis-server:
 * mapping, ack after store, unknown/finished tasks counted, a crashed consumer's entries
 * claimed by another, and Redis restarts with and without persistence.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisProgressStream, type EntryVerdict, type RedisProgressStreamOptions } from '../../../src/events/sources/redis-progress-stream.ts';
import type { SeedProgressEntry } from '../../../src/events/sources/seed-progress-entry.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const STREAM = 'wan22-progress-stream';
let redis: RedisServer;
let producer: Redis;
const consumers: RedisProgressStream[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  producer = new Redis(redis.url, { maxRetriesPerRequest: null });
  producer.on('error', () => {}); // while Redis restarts; the commands wait for it
});
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop()));
  await producer.flushall();
});
afterAll(async () => {
  producer.disconnect();
  await redis.stop();
});

/** A consumer whose onEntry stores into `stored` for running tasks and tells about the others. */
function consumer(opts: Partial<RedisProgressStreamOptions> & { url?: string } = {}) {
  const stored: SeedProgressEntry[] = [];
  const finished = new Set(['t-done']);
  const c = new RedisProgressStream({
    url: redis.url,
    streams: [STREAM],
    blockMs: 200,
    onEntry: async (e): Promise<EntryVerdict> => {
      if (e.taskId.startsWith('t-unknown')) return 'unknown_task';
      if (finished.has(e.taskId)) return 'finished_task';
      stored.push(e);
      return 'stored';
    },
    ...opts,
  });
  consumers.push(c);
  return { c, stored };
}

const xadd = (...fields: string[]) => producer.xadd(STREAM, '*', ...fields);
const pendingCount = async (stream = STREAM, group = 'lakeray') => Number(((await producer.xpending(stream, group)) as [number])[0]);

describe('RedisProgressStream', () => {
  it('maps the seed’s entries, in order, including those written before it started; counts the ones it ignores', async () => {
    await xadd('task_id', 't1', 'status', 'RUNNING', 'progress', '45');
    const { c, stored } = consumer();
    c.start();
    await c.ready;
    await xadd('task_id', 't1', 'status', 'COMPLETED', 'progress', '100', 'url', 's3://bucket/t1.mp4');
    await xadd('task_id', 't2', 'status', 'FAILED', 'error', 'CUDA out of memory');
    await xadd('task_id', 't-done', 'status', 'RUNNING', 'progress', '10');
    await xadd('task_id', 't-unknown-1', 'progress', '10');
    await xadd('status', 'RUNNING'); // no task_id

    await until('all entries handled', async () => c.stats().stored + c.stats().unknownTask + c.stats().finishedTask + c.stats().invalid === 6);
    // In order per task; different tasks' entries are handled side by side.
    const byTask = [...stored].sort((a, b) => a.taskId.localeCompare(b.taskId));
    expect(byTask.map((e) => [e.taskId, e.kind, e.fraction, e.url, e.error])).toEqual([
      ['t1', 'progress', 0.45, null, null],
      ['t1', 'result', 1, 's3://bucket/t1.mp4', null],
      ['t2', 'error', null, null, 'CUDA out of memory'],
    ]);
    expect(c.stats()).toMatchObject({ stored: 3, unknownTask: 1, finishedTask: 1, invalid: 1, claimed: 0 });
    await until('every entry acked', async () => (await pendingCount()) === 0);
  });

  it('a task whose entry is slow to store holds up only its own later entries, not other tasks’', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const { c } = consumer({
      onEntry: async (e) => {
        if (e.taskId === 'slow' && e.fraction === 0.1) await gate;
        order.push(`${e.taskId}:${e.fraction}`);
        return 'stored';
      },
    });
    await xadd('task_id', 'slow', 'progress', '10');
    await xadd('task_id', 'slow', 'progress', '20');
    await xadd('task_id', 'fast', 'progress', '10');
    await xadd('task_id', 'fast', 'progress', '20');
    c.start();
    await until('the other task stored', async () => order.length === 2);
    expect(order).toEqual(['fast:0.1', 'fast:0.2']);
    release();
    await until('all stored', async () => order.length === 4);
    expect(order.slice(2)).toEqual(['slow:0.1', 'slow:0.2']);
    await until('every entry acked', async () => (await pendingCount()) === 0);
  });

  it('acks an entry only once onEntry resolved', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { c } = consumer({ onEntry: async () => (await gate, 'stored') });
    c.start();
    await c.ready;
    await xadd('task_id', 't1', 'progress', '50');
    await until('the entry delivered', async () => (await pendingCount()) === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await pendingCount()).toBe(1); // still being stored: not acked
    release();
    await until('the entry acked', async () => (await pendingCount()) === 0);
  });

  it('a failing store is retried in place, then left pending and claimed again later: stored once, in the end', async () => {
    let failures = 0;
    const stored: string[] = [];
    const { c } = consumer({
      callbackAttempts: 2,
      retryDelayMs: 20,
      claimIdleMs: 300,
      claimEveryMs: 100,
      onEntry: async (e) => {
        if (failures++ < 3) throw new Error('store unavailable');
        stored.push(e.id);
        return 'stored';
      },
    });
    c.start();
    await c.ready;
    const id = await xadd('task_id', 't1', 'progress', '5');
    await until('stored', async () => stored.length === 1, 10_000);
    expect(stored).toEqual([id]);
    expect(c.stats().callbackErrors).toBe(3);
    expect(c.stats().claimed).toBeGreaterThanOrEqual(1);
    await until('acked', async () => (await pendingCount()) === 0);
  });

  it('a consumer killed mid-stream leaves its entries pending; another consumer claims and stores them', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => xadd('task_id', 't1', 'progress', String(i * 10))));
    const idsFile = join(tempDir('lakeray-progress-'), 'stored-by-a.txt');
    const a = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures/progress-consumer.ts'), redis.url, STREAM, 'consumer-a', idsFile, '5'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    a.stdout.on('data', (d) => (out += d));
    await until('consumer A to hang mid-stream', async () => out.includes('hanging'), 20_000);
    const storedByA = readFileSync(idsFile, 'utf8').trim().split('\n');
    expect(storedByA).toEqual(ids.slice(0, 4));
    a.kill('SIGKILL');
    await new Promise((r) => a.once('exit', r));
    const [count, , , perConsumer] = (await producer.xpending(STREAM, 'lakeray')) as [number, string, string, [string, string][]];
    expect(count).toBe(6);
    expect(perConsumer).toEqual([['consumer-a', '6']]);

    const { c: b, stored } = consumer({ consumer: 'consumer-b', claimIdleMs: 500, claimEveryMs: 100 });
    b.start();
    await until('B to store what A left', async () => stored.length === 6, 20_000);
    expect(stored.map((e) => e.id)).toEqual(ids.slice(4));
    expect(b.stats().claimed).toBe(6);
    await until('nothing pending', async () => (await pendingCount()) === 0);
    expect(existsSync(idsFile) && readFileSync(idsFile, 'utf8').trim().split('\n')).toEqual(ids.slice(0, 4));
  });

  it('a consumer restarted under its own name re-reads what it had read and not acked', async () => {
    await xadd('task_id', 't1', 'progress', '1');
    const first = consumer({ consumer: 'stable', onEntry: () => new Promise(() => {}) }); // reads, never stores
    first.c.start();
    await first.c.ready;
    await until('delivered to "stable"', async () => (await pendingCount()) === 1);
    await first.c.stop();
    const second = consumer({ consumer: 'stable', claimIdleMs: 60_000 });
    second.c.start();
    await until('stored after the restart', async () => second.stored.length === 1, 10_000);
    expect(second.c.stats().claimed).toBe(0); // its own pending entry, not a claim
  });
});

describe('RedisProgressStream across Redis restarts', () => {
  it('Redis restarted empty (no persistence): the group is created again and new entries are read', async () => {
    const { c, stored } = consumer({ retryDelayMs: 50 });
    c.start();
    await c.ready;
    await xadd('task_id', 't1', 'progress', '10');
    await until('first entry', async () => stored.length === 1);
    await redis.restart();
    await xadd('task_id', 't1', 'progress', '20');
    await xadd('task_id', 't1', 'status', 'COMPLETED', 'url', 's3://b/t1.mp4');
    await until('entries after the restart', async () => stored.length === 3, 20_000);
    expect(stored.map((e) => e.fraction)).toEqual([0.1, 0.2, null]);
    expect(c.stats().redisErrors).toBeGreaterThanOrEqual(1); // NOGROUP, then the group again
  });

  it('Redis restarted with its AOF: the group survives, nothing is read twice', async () => {
    const durable = await startRedisServer({ appendonly: true });
    const p = new Redis(durable.url, { maxRetriesPerRequest: null });
    p.on('error', () => {});
    try {
      const { c, stored } = consumer({ url: durable.url, retryDelayMs: 50 });
      c.start();
      await c.ready;
      await p.xadd(STREAM, '*', 'task_id', 't1', 'progress', '10');
      await until('first entry', async () => stored.length === 1);
      await durable.restart();
      await p.xadd(STREAM, '*', 'task_id', 't1', 'progress', '20');
      await until('the entry after the restart', async () => stored.length === 2, 20_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(stored.map((e) => e.fraction)).toEqual([0.1, 0.2]);
      expect(await p.xlen(STREAM)).toBe(2);
    } finally {
      p.disconnect();
      await Promise.all(consumers.splice(0).map((c) => c.stop()));
      await durable.stop();
    }
  });
});
