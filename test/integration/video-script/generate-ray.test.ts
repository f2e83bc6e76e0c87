/**
 * examples/video/generate_ray.py (the seeds' Wan2.2 Ray-job entrypoint) run for real: as the
 * seed's command line with a real redis-server reading `wan22-progress-stream`, and as a
 * Lakeray task through the local executor and the Python harness. Checks the stream entries
 * field by field, the MP4 (decoded whole by ffmpeg) and the cover, failures and a cancel.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { freePort } from '../../helpers/server-process.ts';
import { makeExecutor, makeTask, PYTHON, recorder, succeeded, tempDir, waitFor } from '../executor/helpers.ts';
import { colorPng, decodesCleanly, EXAMPLES, FFMPEG, listDir, pngSize, probe, VIDEO_DIR } from './helpers.ts';

const STREAM = 'wan22-progress-stream';
const SCRIPT = path.join(VIDEO_DIR, 'generate_ray.py');
/** seed 000's RayJob entrypoint, verbatim, plus a short clip so the test is quick */
const SEED_ARGS = ['--task', 't2v-A14B', '--size', '832*480', '--ckpt_dir', '/models/Wan2.2-T2V-A14B', '--num-workers', '4',
  '--prompt', 'A cinematic video of an astronaut on Mars.'];

interface Entry { id: string; fields: Record<string, string>; keys: string[] }

let redis: RedisServer;
let client: Redis;

beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
});
beforeEach(async () => {
  await client.flushall();
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

const entries = async (taskId?: string): Promise<Entry[]> =>
  (await client.xrange(STREAM, '-', '+'))
    .map(([id, flat]) => {
      const fields: Record<string, string> = {};
      const keys: string[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        keys.push(flat[i]!);
        fields[flat[i]!] = flat[i + 1]!;
      }
      return { id, fields, keys };
    })
    .filter((e) => taskId === undefined || e.fields.task_id === taskId);

/** The seed's command line run with the project's Python; env on top of a clean one. */
function cli(args: string[], env: Record<string, string> = {}, cwd = tempDir()): Promise<{ code: number | null; stdout: string; stderr: string; cwd: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, ...args], { cwd, env: { PATH: process.env.PATH ?? '', LAKERAY_FFMPEG: FFMPEG!, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, cwd }));
  });
}

/** RUNNING entries with increasing whole percentages below 100, then the final one. */
function expectSeedSequence(list: Entry[], taskId: string, final: 'COMPLETED' | 'FAILED'): Entry {
  expect(list.length).toBeGreaterThanOrEqual(3);
  const running = list.slice(0, -1);
  for (const e of running) {
    expect(e.keys).toEqual(['task_id', 'status', 'progress']);
    expect(e.fields).toMatchObject({ task_id: taskId, status: 'RUNNING' });
    expect(e.fields.progress).toMatch(/^\d{1,2}$/);
  }
  expect(running[0]!.fields.progress).toBe('0');
  const percents = running.map((e) => Number(e.fields.progress));
  for (let i = 1; i < percents.length; i++) expect(percents[i]!).toBeGreaterThan(percents[i - 1]!);
  const last = list.at(-1)!;
  expect(last.fields).toMatchObject({ task_id: taskId, status: final });
  return last;
}

describe.skipIf(FFMPEG === null)('examples/video/generate_ray.py', () => {
  it('the seed’s entrypoint: XADDs RUNNING 0…99 then COMPLETED 100 with the url; the watermarked MP4 plays, the cover is beside it', async () => {
    const out = path.join(tempDir(), 'mars.mp4');
    const r = await cli([...SEED_ARGS, '--frame_num', '9', '--base_seed', '42', '--redis-url', redis.url, '--task-id', 't-cli', '--save_file', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('no Wan2.2 weights in /models/Wan2.2-T2V-A14B');
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({
      task_id: 't-cli', task: 't2v-A14B', renderer: 'demo', size: '832*480', num_frames: 9, fps: 16, base_seed: 42,
      sample_steps: 40, num_workers: 4, mode: 't2v', watermarked: true, video: out, cover: out.replace(/\.mp4$/, '.png'),
    });

    const list = await entries();
    const last = expectSeedSequence(list, 't-cli', 'COMPLETED');
    expect(last.keys).toEqual(['task_id', 'status', 'progress', 'url']);
    expect(last.fields).toMatchObject({ progress: '100', url: `file://${out}` });

    expect(decodesCleanly(out)).toBe(true);
    const info = probe(out);
    expect(info).toMatchObject({ codec: 'h264', width: 832, height: 480, fps: 16 });
    expect(info.duration).toBeCloseTo(9 / 16, 1);
    expect(pngSize(out.replace(/\.mp4$/, '.png'))).toEqual({ width: 832, height: 480 });
    expect(listDir(path.dirname(out))).toEqual(['mars.mp4', 'mars.png']); // no temp dir or part file left
  }, 60_000);

  it('without --save_file names the video as Wan2.2 does, in the working directory; reads the seed’s REDIS_HOST/REDIS_PORT', async () => {
    const r = await cli([...SEED_ARGS, '--frame_num', '5'], { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port) });
    expect(r.code, r.stderr).toBe(0);
    const files = listDir(r.cwd);
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^t2v-A14B_832\*480_1_A_cinematic_video_of_an_astronaut_on_Mars\._\d{8}_\d{6}\.mp4$/);
    const { task_id: taskId } = JSON.parse(r.stdout);
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/); // a new UUID, as serve_app.py assigns
    expect((await entries(taskId)).at(-1)!.fields.status).toBe('COMPLETED');
  }, 60_000);

  it('a failing render XADDs FAILED with the error and exits 1; bad arguments exit 2 before any work', async () => {
    const notAnImage = path.join(tempDir(), 'photo.png');
    fs.writeFileSync(notAnImage, 'this is not a PNG');
    const r = await cli(['--task', 'i2v-A14B', '--size', '832*480', '--ckpt_dir', '/models/Wan2.2-I2V-A14B', '--num-workers', '4',
      '--prompt', 'a cat', '--image', notAnImage, '--frame_num', '5', '--redis-url', redis.url, '--task-id', 't-fail']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('render failed');
    const last = (await entries('t-fail')).at(-1)!;
    expect(last.keys).toEqual(['task_id', 'status', 'error']);
    expect(last.fields.status).toBe('FAILED');
    expect(last.fields.error).toContain('render failed');

    for (const [args, message] of [
      [['--task', 'i2v-A14B', '--size', '832*480', '--ckpt_dir', '/m', '--prompt', 'x'], '--image is required for i2v-A14B'],
      [['--task', 't2v-A14B', '--size', '64*48', '--ckpt_dir', '/m', '--prompt', 'x'], 'size 64*48 is not supported by t2v-A14B'],
      [['--task', 'x2v', '--ckpt_dir', '/m', '--prompt', 'x'], "invalid choice: 'x2v'"],
      [['--task', 't2v-A14B', '--size', '832*480', '--prompt', 'x'], 'the following arguments are required: --ckpt_dir'],
    ] as const) {
      const bad = await cli([...args, '--redis-url', redis.url, '--task-id', 't-bad']);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toContain(message);
    }
    expect(await entries('t-bad')).toEqual([]);
  }, 60_000);

  it('Redis unreachable: the video is still made; the dropped reports are logged', async () => {
    const closed = await freePort();
    const out = path.join(tempDir(), 'v.mp4');
    const r = await cli([...SEED_ARGS, '--frame_num', '5', '--redis-url', `redis://127.0.0.1:${closed}`, '--save_file', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/progress stream wan22-progress-stream at redis:\/\/127\.0\.0\.1:\d+: .*report dropped: COMPLETED/);
    expect(decodesCleanly(out)).toBe(true);
  }, 60_000);

  describe('as a Lakeray task (local executor, Python harness)', () => {
    const saved = { ffmpeg: process.env.LAKERAY_FFMPEG, work: process.env.LAKERAY_WORK_DIR };
    let executor: ReturnType<typeof makeExecutor>;
    beforeAll(() => {
      process.env.LAKERAY_FFMPEG = FFMPEG!;
      executor = makeExecutor({}, { scriptRoots: [EXAMPLES], dataRoots: [tempDir()] });
    });
    afterAll(async () => {
      await executor.close();
      for (const [key, value] of [['LAKERAY_FFMPEG', saved.ffmpeg], ['LAKERAY_WORK_DIR', saved.work]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });
    const start = (params: Record<string, unknown>) => {
      const work = tempDir();
      process.env.LAKERAY_WORK_DIR = work;
      const task = makeTask({ script: 'video/generate_ray.py', params });
      const rec = recorder();
      executor.run(task, [], rec.callbacks);
      return { task, work, rec };
    };

    it('params.argv (the catalog’s form): progress to ctx and to the stream under the task’s id, artifacts video.mp4 and cover.png', async () => {
      const { task, work, rec } = start({ argv: [...SEED_ARGS, '--frame_num', '9', '--redis-url', redis.url] });
      const result = succeeded(await rec.exited);
      expect(result).toMatchObject({ task_id: task.id, video: 'video.mp4', cover: 'cover.png', renderer: 'demo', num_frames: 9, num_workers: 4 });
      expect(listDir(work)).toEqual(['cover.png', 'video.mp4']);
      expect(decodesCleanly(path.join(work, 'video.mp4'))).toBe(true);
      expect(rec.events.filter((e) => e.type === 'artifact').map((e) => e.data.name)).toEqual(['video.mp4', 'cover.png']);
      const steps = rec.events.filter((e) => e.type === 'progress' && typeof e.data.step === 'number').map((e) => e.data.step);
      expect(steps.at(-1)).toBe(9);
      expect(rec.events.some((e) => e.type === 'log' && String(e.data.message).includes('no Wan2.2 weights'))).toBe(true);
      const last = expectSeedSequence(await entries(task.id), task.id, 'COMPLETED');
      expect(last.fields.url).toMatch(/\/video\.mp4$/);
    }, 60_000);

    it('params by name give the same arguments; a bad one fails the task with the parser’s message', async () => {
      const image = colorPng('blue', 832, 480);
      const ok = start({ task: 'i2v-A14B', size: '832*480', ckpt_dir: '/models/Wan2.2-I2V-A14B', num_workers: 2, prompt: 'waves', image, frame_num: 5, t5_cpu: true });
      expect(succeeded(await ok.rec.exited)).toMatchObject({ task: 'i2v-A14B', mode: 'i2v', num_workers: 2, num_frames: 5 });

      const bad = start({ task: 't2v-A14B', size: '832*480', ckpt_dir: '/m', prompt: 'x', frame_num: 'many' });
      const outcome = await bad.rec.exited;
      expect(outcome.kind).toBe('failed');
      if (outcome.kind === 'failed') expect(outcome.error.message).toContain("argument --frame_num: invalid int value: 'many'");
    }, 60_000);

    it('a cancel mid-render XADDs FAILED (Cancelled) and leaves no video', async () => {
      const { task, work, rec } = start({ argv: [...SEED_ARGS, '--frame_num', '2000', '--redis-url', redis.url] });
      await waitFor(() => rec.events.some((e) => e.type === 'progress' && (e.data.step as number) >= 3), 20_000, 'rendering to start');
      executor.cancel(task.id, 1000);
      expect((await rec.exited).kind).toBe('cancelled');
      const last = (await entries(task.id)).at(-1)!;
      expect(last.fields.status).toBe('FAILED');
      expect(last.fields.error).toContain('Cancelled');
      expect(listDir(work)).toEqual([]);
    }, 60_000);
  });
});
