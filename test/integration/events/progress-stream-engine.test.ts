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
import { FFMPEG, VIDEO_DIR } from '../video-script/helpers.ts';

const STREAM = 'wan22-progress-stream';
const caller = { tenant: 'default' };
let redis: RedisServer;
let producer: Redis;
let server: RunningServer;
let dir: string;

const serverConfig = () =>
  parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [join(import.meta.dirname, 'scripts'), VIDEO_DIR],
      data_roots: [join(dir, 'data')],
      progress_streams: [{ url: redis.url, stream: STREAM, result_grace_ms: 1_000 }],
    },
    dir,
    {},
  );

beforeAll(async () => {
  redis = await startRedisServer();
  producer = new Redis(redis.url, { maxRetriesPerRequest: null });
  dir = tempDir();
  server = await startServer({ config: serverConfig(), port: 0, logLevel: 'silent' });
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
      return task.status === 'completed' ? task : null;
    });
    expect(done.result).toMatchObject({ url: 's3://bucket/videos/out.mp4', status: 'COMPLETED' });
    // The process was asked to stop; its exit (after SIGTERM) is ignored: one result, one end.
    await until('the process stopped', async () => existsSync(marker), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const types = await eventTypes(id);
    expect(types.filter((t) => t === 'result')).toHaveLength(1);
    const states = (await server.engine.events(caller, id, 0, 1000, ['state'])).map((e) => (e.data as { status?: string }).status);
    expect(states.filter((s) => s === 'completed' || s === 'failed' || s === 'cancelled')).toEqual(['completed']);
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

describe('across a restart of the server', () => {
  it('entries written while it was down are read after the restart, every one applied or counted, none left pending; the consumer keeps its name', async () => {
    const [r] = await server.engine.submit(caller, [{ script: 'waits_for_redis.py', params: { seconds: 0 } }]);
    const finished = r!.task.id;
    await until('a finished task', async () => (await server.engine.get(caller, finished)).status === 'completed');
    const consumersBefore = ((await producer.xinfo('CONSUMERS', STREAM, 'lakeray')) as string[][]).map((c) => c[1]);
    await server.close();

    const written = [
      await xadd('task_id', finished, 'status', 'RUNNING', 'progress', '70'),
      await xadd('task_id', finished, 'status', 'COMPLETED', 'progress', '100', 'url', 's3://late.mp4'),
      await xadd('task_id', 't_gone_while_down', 'status', 'RUNNING', 'progress', '1'),
    ];
    server = await startServer({ config: serverConfig(), port: 0, logLevel: 'silent' });
    await until('all three handled', async () => (await metric('finished_task')) === 2 && (await metric('unknown_task')) === 1);
    expect(written).toHaveLength(3);
    expect(Number(((await producer.xpending(STREAM, 'lakeray')) as [number])[0])).toBe(0);
    const info = (await producer.xinfo('GROUPS', STREAM)) as (string | number)[][];
    expect(info[0]![info[0]!.indexOf('last-delivered-id') + 1]).toBe(written[2]);
    // Stable across restarts of one database: a restarted server re-reads its own unacked entries at once.
    const consumersAfter = ((await producer.xinfo('CONSUMERS', STREAM, 'lakeray')) as string[][]).map((c) => c[1]);
    expect(consumersAfter).toEqual(consumersBefore);
    expect((await server.engine.get(caller, finished)).result).toEqual({ from: 'process' });
  });
});

describe.skipIf(!FFMPEG)('examples/video/generate_ray.py as a task, reporting through the stream', () => {
  it('its stream progress is on the task; it exits after its COMPLETED, so its own result settles, once, with its files', async () => {
    const argv = ['--task', 't2v-A14B', '--size', '832*480', '--ckpt_dir', '/models/Wan2.2-T2V-A14B', '--num-workers', '4',
      '--prompt', 'A cinematic video of an astronaut on Mars.', '--frame_num', '9', '--redis-url', redis.url];
    const [r] = await server.engine.submit(caller, [{ script: 'generate_ray.py', params: { argv }, retry: { max_attempts: 1 } }]);
    const id = r!.task.id;
    const done = await until('the video', async () => {
      const t = await server.engine.get(caller, id);
      return t.status === 'completed' || t.status === 'failed' ? t : null;
    }, 120_000);
    expect(done.status).toBe('completed');
    // The process ended within the grace after its COMPLETED: its own, fuller result settled.
    expect(done.result).toMatchObject({ url: expect.stringContaining(`/api/v1/tasks/${id}/artifacts/video.mp4`), video: 'video.mp4', renderer: 'demo' });
    const fromStream = (await server.engine.events(caller, id, 0, 10_000, ['progress'])).filter((e) => (e.data as { stream?: string }).stream === STREAM);
    expect(fromStream.length).toBeGreaterThan(0);
    expect((await server.engine.events(caller, id, 0, 10_000, ['result'])).length).toBe(1);
    // The files were reported before the COMPLETED entry: whichever end settled, they are stored.
    expect((await server.engine.artifacts!.list(caller, id)).map((a) => a.name).sort()).toEqual(['cover.png', 'video.mp4']);
    const entries = (await producer.xrange(STREAM, '-', '+')).filter(([, f]) => f[1] === id);
    expect(entries.map(([, f]) => f[3]).at(-1)).toBe('COMPLETED');
  }, 150_000);
});
