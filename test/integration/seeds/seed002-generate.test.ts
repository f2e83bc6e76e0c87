/**
 * Seed 002's `POST /generate` (§5 and §6.3 curl lines, serve_app.py's APIEntrypoint.generate),
 * its two bodies sent as written to a real Lakeray server (in-process, the video tests' rig).
 * Where the seed's text is present (/work/shared/seeds) the test checks the copies still match.
 *
 * The catalog: the shipped Wan2.2 models (generation/wan22-example.ts) on an executor of kind
 * ray, whose cluster does not answer here (its tasks wait queued, so what was submitted is
 * seen on the task), with the I2V model's ckpt_dir the seed's; and a fake "t2v" model first,
 * run by the local executor (test/fixtures/scripts/video/fake_generate.py), so the second body
 * runs to the end. Errors carry the seed's keys and Lakeray's code, and Lakeray's usual
 * `error` object too. The answer's `task_id` is Lakeray's (the seed echoes the body's; Lakeray
 * keeps the body's as the idempotency key and answers it as `client_task_id`): asserted below.
 */
import { request } from 'undici';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WAN22_MODELS_YAML } from '../../../src/generation/wan22-example.ts';
import { api, freePort } from '../../helpers/server-process.ts';
import { EXAMPLES } from '../video-script/helpers.ts';
import { fakeModel, finished, FIXTURE_SCRIPTS, startVideoServer, type VideoServer } from '../video/helpers.ts';
import { seedText } from '../../helpers/seed-text.ts';

// §5 "端到端触发与测试"
const I2V = { task: 'i2v-A14B', prompt: 'a beautiful cat', ckpt_dir: '/data/Wan2.2-I2V-A14B', image: '/path/in/pod/to/image.jpg', size: '832*480' };
// §6.3 "验证 RayService 功能"
const T2V = { task_id: 'rayservice_test_001', prompt: '测试 RayService 视频生成功能', duration: 5, resolution: '720p', model_type: 't2v' };

const [wanT2v, wanI2v] = parse(WAN22_MODELS_YAML) as Record<string, any>[];
const LOCAL = { cpu: 8, gpus: 0, kill_grace_ms: 1000, pools: [{ name: 'py', runtime: 'python', min: 1, max: 2 }], default_pools: { python: 'py' } };
const catalog = [
  fakeModel('fake-t2v', { defaults: { size: '832*480', fps: 4, num_frames: 8 }, limits: { max_width: 1280, max_height: 1280, max_frames: 64 } }),
  { ...wanI2v, defaults: { ...wanI2v!.defaults, ckpt_dir: '/data/Wan2.2-I2V-A14B' } },
  wanT2v,
];

let server: VideoServer;
let noRay: VideoServer;
const post = (s: VideoServer, body: unknown) => api(s.url, 'POST', '/generate', body);
const task = async (id: string) => (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body;
const taskIds = async (s: VideoServer): Promise<string[]> => (await api(s.url, 'GET', '/api/v1/tasks?limit=1000')).body.tasks.map((t: { id: string }) => t.id);
/** The seed's error keys (status, message), Lakeray's code, and Lakeray's own error object as on every route. */
const seedError = (message: unknown, code: string) => ({ status: 'error', message, code, error: { code, message } });
const argPairs = (argv: string[]) => Object.fromEntries(argv.flatMap((a, i) => (a.startsWith('--') && i + 1 < argv.length ? [[a, argv[i + 1]]] : [])));

beforeAll(async () => {
  const ray = `http://127.0.0.1:${await freePort()}`;
  server = await startVideoServer({
    script_roots: [FIXTURE_SCRIPTS, EXAMPLES],
    executors: { local: LOCAL, farm: { kind: 'ray', mode: 'job', address: ray, poll_ms: 200 } },
    generation: { models: catalog },
  });
  // The same catalog on a server with no Ray executor.
  noRay = await startVideoServer({ script_roots: [FIXTURE_SCRIPTS, EXAMPLES], executors: { local: LOCAL }, generation: { models: catalog } });
}, 60_000);
afterAll(async () => {
  await server?.close();
  await noRay?.close();
});

describe("seed 002's POST /generate", () => {
  it('the bodies are copied verbatim from the seed', () => {
    const seed = seedText('002');
    if (seed === undefined) return; // the seed is not on this machine: the copies above stand
    const bodies = [...seed.matchAll(/-d '(\{[\s\S]*?\})' \\\nhttp:\/\/localhost:8000\/generate/g)].map((m) => JSON.parse(m[1]!) as unknown);
    expect(bodies).toEqual([I2V, T2V]);
    expect(seed).toContain('return {"status": "task_started", "task_id": task_id}');
    expect(seed).toContain('return {"status": "error", "message": str(e)}');
  });

  it('§5: the I2V body starts a task at once: the catalog I2V model on the Ray executor, with the seed\'s checkpoint, size, prompt and the image path in the pod', async () => {
    const before = await taskIds(server);
    const r = await post(server, I2V);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['status', 'task_id']);
    expect(r.body.status).toBe('task_started');
    const t = await task(r.body.task_id);
    expect(t).toMatchObject({ status: 'pending', executor: 'farm', script: 'video/generate_ray.py', labels: { model: 'wan2.2-i2v-a14b', size: '832*480' } });
    expect(argPairs(t.params.argv)).toMatchObject({
      '--task': 'i2v-A14B',
      '--ckpt_dir': '/data/Wan2.2-I2V-A14B',
      '--image': '/path/in/pod/to/image.jpg',
      '--size': '832*480',
      '--prompt': 'a beautiful cat',
    });
    // The same task through the video API; without a task_id every POST is a new task (the seed's uuid4).
    expect((await api(server.url, 'GET', `/v1/video/generations/${r.body.task_id}`)).body).toMatchObject({ status: 'QUEUED', model: 'wan2.2-i2v-a14b', prompt: 'a beautiful cat' });
    const again = await post(server, I2V);
    expect(again.status).toBe(200);
    expect(again.body.task_id).not.toBe(r.body.task_id);
    expect((await taskIds(server)).filter((id) => !before.includes(id)).sort()).toEqual([r.body.task_id, again.body.task_id].sort());
    for (const id of [r.body.task_id, again.body.task_id]) await api(server.url, 'POST', `/api/v1/tasks/${id}/cancel`);
  });

  it('§6.3: the T2V body (task_id, 720p, 5 s) runs: 1280*720, 5 s × the model\'s fps frames, progress on the task; its task_id is the idempotency key', async () => {
    const r = await post(server, T2V);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ status: 'task_started', task_id: expect.any(String), client_task_id: 'rayservice_test_001' });
    expect(r.body.task_id).not.toBe('rayservice_test_001'); // Lakeray's own id (header: a known difference)
    const id = r.body.task_id as string;

    const done = await finished(server, id);
    expect(done).toMatchObject({ status: 'SUCCEEDED', model: 'fake-t2v', size: '1280*720', fps: 4, num_frames: 20, duration: 5, prompt: T2V.prompt });
    const t = await task(id);
    expect(t).toMatchObject({ status: 'completed', executor: 'local', labels: { seed002_task_id: 'rayservice_test_001' }, idempotency_key: 'seed002:rayservice_test_001' });
    expect(t.params).toMatchObject({ width: 1280, height: 720, num_frames: 20 });
    const events = (await api(server.url, 'GET', `/api/v1/tasks/${id}/events?limit=1000`)).body.events as { type: string }[];
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThanOrEqual(2);

    // The same task_id again: the same task, not a second run; the id with another body: 409.
    const before = await taskIds(server);
    const replay = await post(server, T2V);
    expect(replay).toEqual({ status: 200, body: r.body });
    const other = await post(server, { ...T2V, prompt: 'another video' });
    expect(other.status).toBe(409);
    expect(other.body).toEqual(seedError(expect.any(String), 'IDEMPOTENCY_CONFLICT'));
    expect(await taskIds(server)).toEqual(before);
  });

  it('an image the server keeps (data: URI) runs on a local model; a retry of its task_id keeps it again, so it differs: 409 (docs/video.md)', async () => {
    const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(120, 7)]);
    const body = { task_id: 'with-image-1', model_type: 't2v', prompt: 'a cat', image: `data:image/png;base64,${PNG.toString('base64')}` };
    const r = await post(server, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((await task(r.body.task_id)).labels.image).toMatch(/^up_/);
    const retry = await post(server, body);
    expect([retry.status, retry.body.code]).toEqual([409, 'IDEMPOTENCY_CONFLICT']);
    expect((await finished(server, r.body.task_id)).status).toBe('SUCCEEDED');
  });

  it('what the catalog cannot honour is a 4xx in the seed\'s error shape (status, message) with Lakeray\'s code, and starts nothing', async () => {
    const before = await taskIds(server);
    const cases: [unknown, number, string, RegExp][] = [
      [{ ...I2V, task: 'x2v-9B' }, 400, 'VIDEO_MODEL_NOT_FOUND', /task: no video model for "x2v-9B".*wan2\.2-i2v-a14b \(i2v-A14B\)/],
      [{ ...I2V, ckpt_dir: '/data/elsewhere' }, 400, 'INVALID_REQUEST', /^ckpt_dir: "\/data\/elsewhere" is not what any i2v-A14B model here uses \(wan2\.2-i2v-a14b: \/data\/Wan2\.2-I2V-A14B\)/],
      [{ ...T2V, task_id: 'x1', s3_bucket: 'videos', s3_key_prefix: 'out/x1' }, 400, 'INVALID_REQUEST', /^s3_bucket: no t2v model here takes it; the video is kept as the task's artifact/],
      [{ ...T2V, task_id: 'x2', resolution: '4k' }, 400, 'INVALID_REQUEST', /^resolution: "4k" is not one of 480p, 720p, 1080p/],
      [{ ...T2V, task_id: 'x3', duration: 60 }, 400, 'INVALID_REQUEST', /^duration: 240 frames is over the limit of 64/],
      [{ ...T2V, task_id: 'x4', model_type: 't2v-A14B', resolution: '1080p' }, 400, 'INVALID_REQUEST', /^size: 1920\*1080 is larger than 1280\*1280/],
      [{ ...T2V, task_id: 'x5', image: '/path/in/pod/to/image.jpg' }, 400, 'INVALID_REQUEST', /^image: ".*" is a path on the workers, which only a model run by Ray reads; model "fake-t2v" runs on an executor of kind local/],
      [{ ...I2V, image: 'image.jpg' }, 400, 'INVALID_REQUEST', /^image: expected an upload id/],
      [{ ...I2V, image: '/data/../etc/passwd' }, 400, 'INVALID_REQUEST', /^image: expected an upload id/],
      [{ ...I2V, sample_steps: 40 }, 400, 'INVALID_REQUEST', /body\.sample_steps: unknown field/],
      [{ ...I2V, task_id: 'a b' }, 400, 'INVALID_REQUEST', /body\.task_id/],
      [{ ...I2V, model_type: 't2v' }, 400, 'INVALID_REQUEST', /task "i2v-A14B" and model_type "t2v" name different tasks/],
      [{ ...I2V, prompt: ' ' }, 400, 'INVALID_REQUEST', /^prompt: must not be empty/],
    ];
    for (const [body, status, code, message] of cases) {
      const r = await post(server, body);
      expect(r.status, JSON.stringify([body, r.body])).toBe(status);
      expect(r.body, JSON.stringify(body)).toEqual(seedError(expect.stringMatching(message), code));
      expect(r.body.error.message).toBe(r.body.message);
    }
    const malformed = await request(`${server.url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"task": ' });
    expect(malformed.statusCode).toBe(400);
    expect(await malformed.body.json()).toEqual(seedError(expect.stringMatching(/JSON/), 'INVALID_REQUEST'));
    expect(await taskIds(server)).toEqual(before);
  });

  it('with no Ray executor configured, the Ray model is refused as the video API refuses it (400 VIDEO_MODEL_UNAVAILABLE, saying how to configure one)', async () => {
    const seed = await post(noRay, I2V);
    const video = await api(noRay.url, 'POST', '/v1/video/generations', { model: 'wan2.2-i2v-a14b', prompt: I2V.prompt });
    expect(video.status).toBe(400);
    expect(seed.status).toBe(video.status);
    expect(seed.body).toEqual(seedError(video.body.error.message, 'VIDEO_MODEL_UNAVAILABLE'));
    expect(seed.body.message).toMatch(/no executor of kind "ray" is configured on this server: add a Ray executor/);
    expect(await taskIds(noRay)).toEqual([]);
  });
});
