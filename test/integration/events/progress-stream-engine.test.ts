/**
 * The seed's Redis progress stream wired into a real server (startServer with
 * `progress_streams`), a real redis-server and real local tasks: entries XADDed in the seed's
 * exact format (seed 001 §2, seed 002's serve_app.py) become the task's progress, result and
 * error; a result settles once, through the run's exit, and stops the process; duplicates and
 * entries of unknown or finished tasks are ignored and counted in /metrics.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { parseSeedEntry, type SeedProgressEntry } from '../../../src/events/sources/seed-progress-entry.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const STREAM = 'wan22-progress-stream';
const caller = { tenant: 'default' };
let redis: RedisServer;
let producer: Redis;
let server: RunningServer;

beforeAll(async () => {
  redis = await startRedisServer();
  producer = new Redis(redis.url, { maxRetriesPerRequest: null });
  const dir = tempDir();
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [join(import.meta.dirname, 'scripts')],
      data_roots: [join(dir, 'data')],
      progress_streams: [{ url: redis.url, stream: STREAM }],
    },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
});
afterAll(async () => {
  await server?.close();
  producer?.disconnect();
  await redis?.stop();
});

const xadd = (...fields: string[]) => producer.xadd(STREAM, '*', ...fields);

async function runningTask(params: Record<string, unknown> = {}): Promise<string> {
  const [r] = await server.engine.submit(caller, [{ script: 'waits_for_redis.py', params, retry: { max_attempts: 1 } }]);
  const id = r!.task.id;
  await until('the task to run', async () => (await server.engine.events(caller, id, 0, 100, ['log'])).length > 0, 30_000);
  return id;
}

const metric = async (outcome: string): Promise<number> => {
  const text = await fetch(`${server.url}/metrics`).then((r) => r.text());
  const m = text.match(new RegExp(`^lakeray_progress_stream_entries_total\\{outcome="${outcome}"\\} (\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
};
const eventTypes = async (id: string) => (await server.engine.events(caller, id, 0, 1000)).map((e) => e.type);

describe('the seed’s Redis progress stream, wired into the engine', () => {
  it('a running task gets progress, then its result from the stream; it settles once and its process is stopped', async () => {
    const marker = join(tempDir(), 'stopped');
    const id = await runningTask({ marker });
    await xadd('task_id', id, 'status', 'RUNNING', 'progress', '45');
    const t = await until('the progress', async () => {
      const task = await server.engine.get(caller, id);
      return task.progress?.fraction === 0.45 ? task : null;
    });
    expect(t.status).toBe('running');
    await xadd('task_id', id, 'status', 'COMPLETED', 'progress', '100', 'url', 's3://bucket/videos/out.mp4');
    const done = await until('the result', async () => {
      const task = await server.engine.get(caller, id);
      return task.status === 'succeeded' ? task : null;
    });
    expect(done.result).toMatchObject({ url: 's3://bucket/videos/out.mp4', status: 'COMPLETED' });
    // The process was asked to stop; its exit (after SIGTERM) is ignored: one result, one end.
    await until('the process stopped', async () => existsSync(marker), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const types = await eventTypes(id);
    expect(types.filter((t) => t === 'result')).toHaveLength(1);
    const states = (await server.engine.events(caller, id, 0, 1000, ['state'])).map((e) => (e.data as { status?: string }).status);
    expect(states.filter((s) => s === 'succeeded' || s === 'failed' || s === 'cancelled')).toEqual(['succeeded']);
    expect((await server.engine.get(caller, id)).result).toMatchObject({ url: 's3://bucket/videos/out.mp4' });

    // Later entries of the finished task, and of a task nobody knows, are acked and counted.
    const finishedBefore = await metric('finished_task');
    const unknownBefore = await metric('unknown_task');
    await xadd('task_id', id, 'status', 'RUNNING', 'progress', '50');
    await xadd('task_id', 't_nobody_knows', 'status', 'RUNNING', 'progress', '5');
    await until('both counted', async () => (await metric('finished_task')) === finishedBefore + 1 && (await metric('unknown_task')) === unknownBefore + 1);
    expect((await server.engine.get(caller, id)).progress?.fraction).toBe(0.45); // not the late 50%
    await until('nothing pending', async () => Number(((await producer.xpending(STREAM, 'lakeray')) as [number])[0]) === 0);
  });

  it('FAILED fails the running task with the seed’s message (SCRIPT_ERROR)', async () => {
    const id = await runningTask();
    await xadd('task_id', id, 'status', 'FAILED', 'error', 'CUDA out of memory');
    const failed = await until('the failure', async () => {
      const task = await server.engine.get(caller, id);
      return task.status === 'failed' ? task : null;
    });
    expect(failed.error).toMatchObject({ code: 'SCRIPT_ERROR', message: 'CUDA out of memory' });
  });

  it('the same entry delivered twice (at-least-once) is applied once', async () => {
    const id = await runningTask();
    const entryId = await xadd('task_id', id, 'status', 'RUNNING', 'progress', '30');
    await until('the progress', async () => (await server.engine.get(caller, id)).progress?.fraction === 0.3);
    // A redelivery of that entry (a lost ack, or a claim): the same stream and id again.
    const again = parseSeedEntry(STREAM, entryId as string, ['task_id', id, 'status', 'RUNNING', 'progress', '30']) as SeedProgressEntry;
    const progressBefore = (await server.engine.events(caller, id, 0, 1000, ['progress'])).length;
    expect(await server.engine.progressEntry(again)).toBe('duplicate');
    await server.engine.eventsStored();
    expect((await server.engine.events(caller, id, 0, 1000, ['progress'])).length).toBe(progressBefore);
    await server.engine.cancel(caller, id);
  });
});
