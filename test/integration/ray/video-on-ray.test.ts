/**
 * Issue 12 §6 end to end: `lakeray up` with a Ray executor (mode job) against the run's real
 * head, and the catalog's Wan2.2 model. `POST /v1/video/generations` runs
 * examples/video/generate_ray.py with seed 000's arguments as a Ray job: the demo renderer, then
 * the watermark step, progress on the task while it runs, and the MP4 and cover reach the server
 * over HTTP (the job's harness PUTs them; nothing is read from the job's directory). The MP4 is
 * checked from its boxes (ftyp/moov, duration, frame count) and decoded by ffmpeg.
 *
 * The head has 2 logical GPUs (test/helpers/ray-head.ts), as a 2-GPU node: the catalog's model
 * as shipped asks for 4 GPUs and is refused at once (400 RESOURCES_UNSATISFIABLE), and the same
 * template with the resources a 2-GPU node's operator configures (gpu 2, --num-workers 2) runs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { RayJobsClient } from '../../../src/executors/ray/jobs-client.ts';
import { WAN22_MODELS_YAML } from '../../../src/generation/wan22-example.ts';
import { TEST_GPUS } from '../../helpers/ray-head.ts';
import { api, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { decodesCleanly, EXAMPLES, FFMPEG, probe } from '../video-script/helpers.ts';
import { mp4Facts } from './mp4-boxes.ts';
import { rayUrl } from './ray-job-fixture.ts';

vi.setConfig({ testTimeout: 400_000, hookTimeout: 300_000 });

const address = await rayUrl();
const ray = new RayJobsClient({ address });
const executor = `gpu-cluster-${Math.random().toString(36).slice(2, 8)}`;
const [t2v] = parse(WAN22_MODELS_YAML) as Record<string, any>[];
/** The shipped template on nodes of TEST_GPUS GPUs: what docs/ray.md tells such an operator to configure. */
const t2vOnSmallNodes = {
  ...t2v,
  id: 'wan2.2-t2v-a14b-2gpu',
  resources: { cpu: 1, gpu: TEST_GPUS },
  template: { ...t2v!.template, params: { argv: t2v!.template.params.argv.map((a: string, i: number, all: string[]) => (all[i - 1] === '--num-workers' ? String(TEST_GPUS) : a)) } },
};

let server: ServerProcess;
let dir: string;
beforeAll(async () => {
  dir = tempDir('lakeray-ray-video-');
  const config = writeConfig(dir, {
    script_roots: [EXAMPLES],
    data_roots: [join(dir, 'data')],
    executors: { [executor]: { kind: 'ray', mode: 'job', address, poll_ms: 200 } },
    generation: { models: [t2v, t2vOnSmallNodes] },
  });
  server = await startServerProcess(dir, config);
  // The executor knows what the cluster has once it has read it (until then its tasks wait queued).
  await until('the Ray executor to be up', async () => ((await api(server.url, 'GET', '/ready')).body.executors_down.length === 0 ? true : null), 120_000, 250);
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await ray.close();
});

it('the shipped Wan2.2 model asks for 4 GPUs: on a cluster of 2-GPU nodes it is refused at once, naming what it asked and what there is', async () => {
  const models = (await api(server.url, 'GET', '/v1/video/models')).body.models as Record<string, unknown>[];
  expect(models.find((m) => m.id === 'wan2.2-t2v-a14b')).toMatchObject({ available: true, executor, resources: { cpu: 4, gpu: 4 } });
  const r = await api(server.url, 'POST', '/v1/video/generations', { model: 'wan2.2-t2v-a14b', prompt: 'An astronaut on Mars.', num_frames: 9 });
  expect(r.status).toBe(400);
  expect(r.body.error.code).toBe('RESOURCES_UNSATISFIABLE');
  expect(r.body.error.message).toMatch(new RegExp(`gpu=4 but executor "${executor}" has .*gpu=${TEST_GPUS} `));
  expect((await api(server.url, 'GET', '/api/v1/tasks')).body.tasks).toEqual([]); // nothing half-submitted
});

it.skipIf(FFMPEG === null)('a generation runs generate_ray.py as a Ray job: live progress, the watermark step, a playable MP4 and its cover over HTTP', async () => {
  const submitted = Date.now();
  const r = await api(server.url, 'POST', '/v1/video/generations', {
    model: 'wan2.2-t2v-a14b-2gpu',
    prompt: 'A cinematic video of an astronaut on Mars.',
    size: '832*480',
    num_frames: 17,
    seed: 42,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const id = r.body.task_id as string;

  // Seen as a client polling the video API sees it, while it runs.
  const seen: { status: string; progress: number }[] = [];
  const done = await until('the generation to finish', async () => {
    const v = (await api(server.url, 'GET', `/v1/video/generations/${id}`)).body;
    seen.push({ status: v.status, progress: v.progress });
    return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(v.status) ? v : null;
  }, 360_000, 250);
  const task = (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body;
  expect(done.status, JSON.stringify({ done, error: task.error })).toBe('SUCCEEDED');
  console.info(`[measure] POST /v1/video/generations → SUCCEEDED through a Ray job: ${Date.now() - submitted} ms`);

  // It ran as one Ray job of this executor, asking Ray for the model's resources.
  expect(task).toMatchObject({ executor, script: 'video/generate_ray.py', resources: { cpu: 1, gpu: TEST_GPUS } });
  expect(task.params.argv).toEqual(expect.arrayContaining(['--task', 't2v-A14B', '--num-workers', String(TEST_GPUS), '--base_seed', '42']));
  const jobs = (await ray.list()).filter((j) => j.metadata?.lakeray_task === id);
  expect(jobs.map((j) => [j.submission_id, j.status])).toEqual([[`lr-${id}-1`, 'SUCCEEDED']]);

  // The demo renderer, then the watermark step; the result names the files, not paths on the node.
  expect(task.result).toMatchObject({ renderer: 'demo', task: 't2v-A14B', num_workers: TEST_GPUS, base_seed: 42, watermarked: true, video: 'video.mp4' });
  // Ray gave the job the model's GPUs (logical here): the script sees them as CUDA_VISIBLE_DEVICES.
  expect(task.result.gpus).toHaveLength(TEST_GPUS);
  expect(JSON.stringify(task.result)).not.toContain('/tmp/');

  // Live: the client saw it running, and the task's progress events came in steps before the end.
  expect(seen.some((s) => s.status === 'RUNNING')).toBe(true);
  const events = (await api(server.url, 'GET', `/api/v1/tasks/${id}/events?limit=1000`)).body.events as { type: string; data: Record<string, any> }[];
  const fractions = events.filter((e) => e.type === 'progress').map((e) => e.data.fraction as number);
  expect(fractions.filter((f) => f > 0 && f < 1).length).toBeGreaterThanOrEqual(2);
  expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
  expect(events.filter((e) => e.type === 'artifact').map((e) => e.data.name).sort()).toEqual(['cover.png', 'video.mp4']);

  // The files, as a client downloads them.
  expect(done.result).toMatchObject({ num_frames: 17, fps: 16, size: '832*480' });
  expect(done.result.video_url).toMatch(new RegExp(`/api/v1/tasks/${id}/artifacts/video\\.mp4$`));
  const mp4 = await fetchBytes(done.result.video_url);
  expect(mp4.type).toBe('video/mp4');
  const facts = mp4Facts(mp4.body);
  expect(facts.video).toHaveLength(1);
  expect(facts.video[0]).toMatchObject({ width: 832, height: 480, frames: 17 });
  expect(facts.durationS).toBeCloseTo(17 / 16, 1); // Wan2.2 t2v's 16 fps
  const file = join(dir, 'downloaded.mp4');
  writeFileSync(file, mp4.body);
  expect(decodesCleanly(file)).toBe(true);
  expect(probe(file)).toMatchObject({ codec: 'h264', width: 832, height: 480, fps: 16 });

  const cover = await fetchBytes(done.result.cover_url);
  expect(cover.type).toBe('image/png');
  expect(cover.body.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(cover.body.readUInt32BE(16)).toBe(832); // IHDR width, height
  expect(cover.body.readUInt32BE(20)).toBe(480);
});

async function fetchBytes(url: string): Promise<{ type: string; body: Buffer }> {
  const abs = url.startsWith('http') ? url : `${server.url}${url}`;
  const r = await fetch(abs);
  expect(r.status).toBe(200);
  return { type: String(r.headers.get('content-type')).split(';')[0]!, body: Buffer.from(await r.arrayBuffer()) };
}
