/**
 * The demo video model (examples/video/generate.py) run for real: through the local executor
 * and the Python harness, with ffmpeg (LAKERAY_FFMPEG) encoding H.264. Checks the MP4 and the
 * cover, the params/result contract, progress, step-named failures, determinism,
 * image-to-video and cancellation mid-render.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../../src/domain/task.ts';
import { exists, makeExecutor, makeTask, PYTHON, recorder, ROOT, runTask, succeeded, tempDir, waitFor } from '../executor/helpers.ts';
import { childrenOf, colorPng, decodesCleanly, EXAMPLES, FFMPEG, frameRgb, listDir, meanRgb, pngSize, probe, VIDEO_DIR } from './helpers.ts';

const SCRIPT = 'video/generate.py';

const small = (params: Record<string, unknown> = {}): Record<string, unknown> => ({
  prompt: 'a red fox running through a snowy forest at sunset',
  negative_prompt: '',
  width: 64,
  height: 48,
  num_frames: 12,
  fps: 16,
  seed: 7,
  image: null,
  watermark: 'Lakeray',
  model: 'demo',
  ...params,
});

describe.skipIf(FFMPEG === null)('examples/video/generate.py (demo video model)', () => {
  const saved = { ffmpeg: process.env.LAKERAY_FFMPEG, work: process.env.LAKERAY_WORK_DIR };
  let executor: ReturnType<typeof makeExecutor>;

  beforeAll(() => {
    process.env.LAKERAY_FFMPEG = FFMPEG!; // what the platform sets (src/main.ts) for its task processes
    executor = makeExecutor({}, { scriptRoots: [EXAMPLES], dataRoots: [tempDir()] });
  });
  afterAll(async () => {
    await executor.close();
    for (const [key, value] of [['LAKERAY_FFMPEG', saved.ffmpeg], ['LAKERAY_WORK_DIR', saved.work]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  /** A task whose process gets its own LAKERAY_WORK_DIR (read from the environment at spawn). */
  const start = (params: Record<string, unknown>): { task: Task; work: string; rec: ReturnType<typeof recorder> } => {
    const work = tempDir();
    process.env.LAKERAY_WORK_DIR = work;
    const task = makeTask({ script: SCRIPT, params });
    const rec = recorder();
    executor.run(task, [], rec.callbacks);
    return { task, work, rec };
  };

  it('renders, encodes and watermarks a playable H.264 MP4 with a cover; reports progress per frame', async () => {
    const { work, rec } = start(small());
    const outcome = await rec.exited;
    const result = succeeded(outcome);
    expect(result).toMatchObject({
      video: 'video.mp4',
      cover: 'cover.png',
      num_frames: 12,
      fps: 16,
      width: 64,
      height: 48,
      duration: 0.75,
      model: 'demo',
      seed: 7,
      mode: 't2v',
      watermarked: true,
    });
    for (const key of ['render_seconds', 'encode_seconds', 'postprocess_seconds']) {
      expect(typeof result[key]).toBe('number');
      expect(result[key] as number).toBeGreaterThanOrEqual(0);
    }
    // Only the final files are left: the unwatermarked intermediate and temp names are gone.
    expect(listDir(work)).toEqual(['cover.png', 'video.mp4']);
    const artifacts = rec.events.filter((e) => e.type === 'artifact').map((e) => e.data);
    expect(artifacts).toEqual([
      { name: 'video.mp4', path: path.join(work, 'video.mp4'), content_type: 'video/mp4' },
      { name: 'cover.png', path: path.join(work, 'cover.png'), content_type: 'image/png' },
    ]);

    const video = path.join(work, 'video.mp4');
    expect(decodesCleanly(video)).toBe(true);
    const info = probe(video);
    expect(info).toMatchObject({ codec: 'h264', width: 64, height: 48, fps: 16 });
    expect(info.duration).toBeCloseTo(0.75, 1);
    // faststart: the moov atom comes before the media data, so a browser can seek at once.
    const head = fs.readFileSync(video).subarray(0, 4096).toString('latin1');
    expect(head.indexOf('moov')).toBeGreaterThan(0);
    expect(head.indexOf('moov')).toBeLessThan(head.indexOf('mdat') < 0 ? Infinity : head.indexOf('mdat'));
    expect(pngSize(path.join(work, 'cover.png'))).toEqual({ width: 64, height: 48 });

    // Progress: frame-numbered steps out of the total, increasing, throttled, the last always sent.
    const frames = rec.events
      .filter((e) => e.type === 'progress' && typeof e.data.step === 'number')
      .map((e) => e.data as { fraction: number; message: string; step: number; total: number });
    expect(frames.length).toBeGreaterThanOrEqual(2);
    expect(frames[0]).toEqual({ fraction: 1 / 12, message: 'rendering frame 1/12', step: 1, total: 12 });
    expect(frames.at(-1)).toEqual({ fraction: 1, message: 'rendering frame 12/12', step: 12, total: 12 });
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.step).toBeGreaterThan(frames[i - 1]!.step);
  });

  it('image-to-video: the uploaded image is frame 0', async () => {
    const red = colorPng('red', 64, 48);
    const { work, rec } = start(small({ image: red, num_frames: 8, prompt: 'ocean waves' }));
    const result = succeeded(await rec.exited);
    expect(result).toMatchObject({ mode: 'i2v', num_frames: 8 });
    const video = path.join(work, 'video.mp4');
    expect(decodesCleanly(video)).toBe(true);
    // Top-left quarter (the watermark sits bottom-right): pure red, give or take yuv420p.
    const [r, g, b] = meanRgb(frameRgb(video, 0), 64, 0, 0, 32, 24);
    expect(r).toBeGreaterThan(235);
    expect(g).toBeLessThan(20);
    expect(b).toBeLessThan(20);
  });

  it('a failure in rendering is error.step "render", in the watermark step "postprocess"; no final file is left', async () => {
    for (const step of ['render', 'postprocess']) {
      const { work, rec } = start(small({ fail_step: step }));
      const outcome = await rec.exited;
      expect(outcome.kind).toBe('failed');
      if (outcome.kind !== 'failed') return;
      expect(outcome.error).toMatchObject({ code: 'SCRIPT_ERROR', step });
      expect(outcome.error.message).toContain(`${step} failed`);
      if (step === 'postprocess') expect(outcome.error.message).toContain('ffmpeg overlay');
      expect(listDir(work)).toEqual([]);
    }
  });

  it('stops within 2 s when cancelled mid-render, with its ffmpeg gone and no video.mp4', async () => {
    const { task, work, rec } = start(small({ width: 832, height: 480, num_frames: 2000 }));
    await waitFor(() => rec.events.some((e) => e.type === 'progress' && (e.data.step as number) >= 3), 20_000, 'rendering to start');
    const harness = rec.started[0]!.pid!;
    const ffmpeg = childrenOf(harness).filter((c) => c.comm.includes('ffmpeg'));
    expect(ffmpeg).toHaveLength(1);
    expect(listDir(work).some((f) => f.endsWith('.part'))).toBe(true); // the encode in progress, under a temp name
    const cancelledAt = Date.now();
    executor.cancel(task.id, 10_000);
    const outcome = await rec.exited;
    const elapsed = Date.now() - cancelledAt;
    expect(elapsed).toBeLessThan(2000);
    expect(outcome).toEqual({ kind: 'cancelled' });
    expect(exists(harness)).toBe(false);
    expect(exists(ffmpeg[0]!.pid)).toBe(false);
    expect(listDir(work)).toEqual([]); // the finally block removed the temp files
  });

  it('runs again in a warm worker (numpy preloaded, helper modules reloaded per job)', async () => {
    const pooled = makeExecutor(
      { pools: [{ name: 'video', runtime: 'python', preload: ['numpy'], min: 0, max: 1, idle_timeout_s: 60, concurrency: 1 }] },
      { scriptRoots: [EXAMPLES], dataRoots: [tempDir()] },
    );
    try {
      const work = tempDir();
      process.env.LAKERAY_WORK_DIR = work; // the worker's environment, from its start
      const pids = new Set<number>();
      for (const seed of [1, 2]) {
        const rec = await runTask(pooled, makeTask({ script: SCRIPT, pool: 'video', params: small({ seed, num_frames: 4 }) }));
        expect(succeeded(rec.exits[0]!)).toMatchObject({ seed, num_frames: 4, watermarked: true });
        expect(listDir(work)).toEqual(['cover.png', 'video.mp4']);
        expect(decodesCleanly(path.join(work, 'video.mp4'))).toBe(true);
        pids.add(rec.started[0]!.pid!);
      }
      expect(pids.size).toBe(1);
    } finally {
      await pooled.close();
    }
  });

  it('renders deterministically: same prompt and seed → same frames; another seed → others; frame 0 of i2v is the image', () => {
    const red = colorPng('red', 64, 48);
    const code = `
import hashlib, json, sys
from video_render import render_frames
from video_encode import decode_image, find_ffmpeg
def hashes(seed, prompt="a red fox in a snowy forest", image=None):
    return [hashlib.sha256(f.tobytes()).hexdigest() for _, f in zip(range(3), render_frames(prompt, seed, 64, 48, 3, image=image))]
img = decode_image(find_ffmpeg(), sys.argv[1], 64, 48)
first = next(render_frames("ocean waves", 3, 64, 48, 2, image=img))
print(json.dumps({"a": hashes(1), "b": hashes(1), "c": hashes(2), "d": hashes(1, "a blue lake"),
                  "i2v_first_is_image": bool((first == img).all()), "red": img[0, 0].tolist()}))
`;
    const out = execFileSync(PYTHON, ['-c', code, red], {
      cwd: VIDEO_DIR,
      env: { ...process.env, PYTHONPATH: [VIDEO_DIR, path.join(ROOT, 'runtimes/python')].join(path.delimiter) },
      encoding: 'utf8',
    });
    const r = JSON.parse(out) as { a: string[]; b: string[]; c: string[]; d: string[]; i2v_first_is_image: boolean; red: number[] };
    expect(r.a).toHaveLength(3);
    expect(new Set(r.a).size).toBe(3); // it moves
    expect(r.b).toEqual(r.a);
    expect(r.c[0]).not.toBe(r.a[0]);
    expect(r.d[0]).not.toBe(r.a[0]);
    expect(r.i2v_first_is_image).toBe(true);
    expect(r.red[0]).toBeGreaterThan(245); // lavfi's red, through yuv and back
    expect(r.red.slice(1)).toEqual([0, 0]);
  });
});
