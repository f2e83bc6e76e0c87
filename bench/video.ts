/**
 * video: the demo video model end to end through the generation API — a 5 s 832×480 video
 * at 16 fps (80 frames): POST /v1/video/generations → SUCCEEDED with the watermarked MP4 in
 * the artifact store. Reports frames per second (rendered + encoded), the end-to-end
 * seconds, and the platform's overhead: the share of the end-to-end time spent outside the
 * renderer, encoder and watermark step (queueing, process start, events, artifact
 * ingestion). Baseline, same run: the same script run directly by Python with no platform.
 * Target: overhead ≤ 2%.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { defaultPython, PACKAGE_ROOT } from '../src/main.ts';
import { findFfmpeg } from '../src/runtime/ffmpeg.ts';
import { startPlatform } from './lib/platform.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Timings {
  num_frames: number;
  render_seconds: number;
  encode_seconds: number;
  postprocess_seconds: number;
}

const DIRECT = `
import json, sys, time, importlib.util
spec = importlib.util.spec_from_file_location("generate", sys.argv[1])
mod = importlib.util.module_from_spec(spec); sys.path.insert(0, sys.argv[2]); spec.loader.exec_module(mod)
class Ctx:
    task_id = "bench"; attempt = 1; params = {}; cancelled = False
    def progress(self, *a, **k): pass
    def log(self, *a, **k): pass
    def metric(self, *a, **k): pass
    def artifact(self, *a, **k): pass
params = {"prompt": "a lighthouse at dusk, waves rolling in", "negative_prompt": "", "width": 832, "height": 480,
          "num_frames": 80, "fps": 16, "seed": 7, "image": None, "watermark": "Lakeray", "model": "demo"}
t0 = time.perf_counter()
r = mod.run(None, None, params, Ctx())
r["wall_seconds"] = time.perf_counter() - t0
print(json.dumps(r))
`;

export async function run(): Promise<Record<string, unknown>> {
  const ffmpeg = findFfmpeg();
  if (!ffmpeg) throw new Error('no ffmpeg');
  const p = await startPlatform({
    script_roots: [join(PACKAGE_ROOT, 'examples')],
    executors: { local: { cpu: 2, pools: [{ name: 'video', runtime: 'python', preload: ['numpy'], min: 1, max: 1 }], default_pools: { python: 'video' } } },
  });
  const work = mkdtempSync(join(tmpdir(), 'lakeray-video-bench-'));
  try {
    const e2e: number[] = [];
    const inside: number[] = [];
    const fps: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      const created = await p.post('/v1/video/generations', { model: 'demo', prompt: 'a lighthouse at dusk, waves rolling in', size: '832*480', duration: 5, fps: 16, seed: 7 + i });
      const id = created.task_id as string;
      let task: { status: string } | undefined;
      for (;;) {
        const r = await request(`${p.server.url}/v1/video/generations/${id}`);
        task = (await r.body.json()) as { status: string };
        if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(task.status)) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      const seconds = (performance.now() - t0) / 1000;
      if (task.status !== 'SUCCEEDED') throw new Error(`generation ${id}: ${JSON.stringify(task)}`);
      const t = (await p.server.engine.get({ tenant: 'default' }, id)).result as Timings;
      const work = t.render_seconds + t.encode_seconds + t.postprocess_seconds;
      e2e.push(seconds);
      inside.push(work);
      fps.push(t.num_frames / work);
      console.log(`round ${i + 1}: ${seconds.toFixed(2)} s end to end, ${work.toFixed(2)} s in the renderer, encoder and watermark step`);
    }
    const direct = JSON.parse(
      execFileSync(defaultPython(), ['-c', DIRECT, join(PACKAGE_ROOT, 'examples', 'video', 'generate.py'), join(PACKAGE_ROOT, 'examples', 'video')], {
        encoding: 'utf8',
        env: { ...process.env, LAKERAY_FFMPEG: ffmpeg, LAKERAY_WORK_DIR: work },
      }).trim().split('\n').pop() as string,
    ) as Timings & { wall_seconds: number };
    const seconds = median(e2e);
    const overheads = e2e.map((s, i) => (s - (inside[i] as number)) / s);
    const overhead_pct = median(overheads) * 100;
    console.log(`demo model: ${median(fps).toFixed(1)} frames/s rendered + encoded + watermarked (832×480)`);
    console.log(`end to end: ${seconds.toFixed(2)} s (median of ${ROUNDS}); direct python run, no platform: ${direct.wall_seconds.toFixed(2)} s`);
    console.log(`platform overhead: ${overhead_pct.toFixed(2)}% of the end-to-end time  (target ≤ 2%)`);
    return { fps: median(fps), seconds, overhead_pct, direct_seconds: direct.wall_seconds, ratio: seconds / direct.wall_seconds, rounds: e2e, target: { overhead_pct: 2 } };
  } finally {
    rmSync(work, { recursive: true, force: true });
    await p.close();
  }
}
