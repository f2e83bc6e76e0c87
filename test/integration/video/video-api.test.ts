/**
 * The video API end to end (real server, real executor, the fake generator): 202 at once, the
 * status shape from QUEUED through RUNNING to SUCCEEDED, downloadable results, cancel and
 * delete, prompts that arrive verbatim, and every bad request refused with 400 and no task.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../../helpers/server-process.ts';
import { openSse } from '../api/helpers.ts';
import {
  artifactDir,
  download,
  exists,
  fakeModel,
  finished,
  generate,
  stagingDir,
  startVideoServer,
  taskCount,
  until,
  video,
  type VideoServer,
} from './helpers.ts';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(120, 7)]);
const MAX_IMAGE = 64 * 1024;

let s: VideoServer;
let images: Server;
let imagesUrl: string;

beforeAll(async () => {
  s = await startVideoServer({
    generation: {
      max_prompt_chars: 300,
      uploads: { max_bytes: MAX_IMAGE },
      models: [
        fakeModel('fake'),
        fakeModel('gpu', { resources: { gpu: 1 } }),
        fakeModel('slow-gpu', { resources: { gpu: 1 }, params: { frame_s: 0.05, early_artifact: true, stray: true }, defaults: { num_frames: 60 } }),
        fakeModel('sized', { limits: { sizes: ['64*48', '48*64'] } }),
        {
          id: 'wan',
          executor: 'ray',
          template: { kind: 'entrypoint', argv: ['python', 'generate_ray.py', '--prompt', '{prompt}'] },
          defaults: { size: '832*480', fps: 16, num_frames: 81 },
        },
      ],
    },
  });
  // A local image server: the main server must refuse to fetch from it (private address).
  images = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(PNG);
  });
  await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
  imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await s?.close();
  images?.close();
});

describe('POST /v1/video/generations', () => {
  it('answers 202 QUEUED at once, then shows QUEUED → RUNNING → SUCCEEDED with progress 0–100 and downloadable results', async () => {
    // Two slow generations hold both GPUs, so the third one has to wait.
    const blockers = await Promise.all([0, 1].map(() => generate(s, { model: 'slow-gpu', prompt: 'blocker', num_frames: 20 })));
    const t0 = Date.now();
    const r = await generate(s, { model: 'gpu', prompt: 'a red fox', size: '96*64', num_frames: 16, fps: 8, seed: 42 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ task_id: expect.stringMatching(/^t_/), status: 'QUEUED', queue_position: 0, created_at: expect.any(String) });
    const id = r.body.task_id as string;

    const seen: { status: string; progress: number }[] = [];
    const done = await until('the generation to finish', async () => {
      const v = await video(s, id);
      seen.push({ status: v.status, progress: v.progress });
      if (v.status === 'QUEUED') {
        expect(v.queue_position).toBe(0);
        expect(v.eta_seconds === null || v.eta_seconds >= 0).toBe(true);
      }
      if (v.status === 'RUNNING') expect(v.queue_position).toBeNull();
      return v.status === 'SUCCEEDED' ? v : null;
    }, 30_000, 10);
    const order = ['QUEUED', 'RUNNING', 'SUCCEEDED'];
    const statuses = seen.map((x) => x.status).filter((st, i, a) => a[i - 1] !== st);
    expect(statuses).toEqual(order.slice(order.indexOf(statuses[0] as string)));
    expect(statuses[0]).toBe('QUEUED');
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThanOrEqual(seen[i - 1]!.progress);
    expect(seen.every((x) => x.progress >= 0 && x.progress <= 100)).toBe(true);

    expect(done).toMatchObject({
      task_id: id,
      model: 'gpu',
      status: 'SUCCEEDED',
      progress: 100,
      queue_position: null,
      eta_seconds: null,
      error: null,
      prompt: 'a red fox',
      size: '96*64',
      num_frames: 16,
      fps: 8,
      duration: 2,
      seed: 42,
      image: null,
      result: { duration: 2, num_frames: 16, fps: 8, size: '96*64' },
    });
    expect(done.started_at).not.toBeNull();
    expect(done.finished_at).not.toBeNull();
    const file = await download(s.url + done.result.video_url);
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('video/mp4');
    expect(file.body.subarray(4, 8).toString()).toBe('ftyp');
    const cover = await download(s.url + done.result.cover_url);
    expect(cover.headers['content-type']).toBe('image/png');

    // The task underneath is an ordinary task.
    const task = (await api(s.url, 'GET', `/api/v1/tasks/${id}`)).body;
    expect(task).toMatchObject({ name: 'video:gpu', labels: { kind: 'video', model: 'gpu' }, resources: { gpu: 1 }, timeout_s: 3600 });
    await Promise.all(blockers.map((b) => finished(s, b.body.task_id)));
  });

  it('pushes the queue position of a waiting generation over SSE (event: queue, no id) until it starts', async () => {
    // The two GPUs free up 0.6 s apart, and each waiting one runs 0.4 s: the last one's
    // position falls one step at a time, slower than it is polled.
    const blockers = await Promise.all([12, 24].map((n) => generate(s, { model: 'slow-gpu', prompt: 'hold', num_frames: n })));
    const waiting = await Promise.all([0, 1, 2].map((i) => generate(s, { model: 'slow-gpu', prompt: `wait ${i}`, num_frames: 8 })));
    const last = waiting[2]!.body.task_id as string;
    const sse = await openSse(s.url.replace('http://', ''), `/api/v1/tasks/${last}/events`);
    await sse.ended; // the stream ends after the terminal state
    const positions = sse.queue.map((f) => JSON.parse(f.data as string));
    expect(positions.length).toBeGreaterThanOrEqual(2);
    expect(positions[0]).toMatchObject({ type: 'queue', task_id: last, position: expect.any(Number), ts: expect.any(Number) });
    expect(positions[0].position).toBeLessThanOrEqual(2);
    for (let i = 1; i < positions.length; i++) expect(positions[i].position).toBeLessThan(positions[i - 1].position);
    expect(sse.queue.every((f) => f.id === undefined)).toBe(true);
    expect(sse.frames.map((f) => JSON.parse(f.data as string).data.status).filter(Boolean)).toEqual(['pending', 'running', 'completed']);
    await Promise.all([...blockers, ...waiting].map((r) => finished(s, r.body.task_id)));
  });

  it('lists generations newest first, with a cursor', async () => {
    const a = await generate(s, { prompt: 'first' });
    const b = await generate(s, { prompt: 'second' });
    const page = (await api(s.url, 'GET', '/v1/video/generations?limit=1')).body;
    expect(page.generations.map((g: { task_id: string }) => g.task_id)).toEqual([b.body.task_id]);
    expect(page.next_cursor).toEqual(expect.any(String));
    const next = (await api(s.url, 'GET', `/v1/video/generations?limit=1&cursor=${encodeURIComponent(page.next_cursor)}`)).body;
    expect(next.generations.map((g: { task_id: string }) => g.task_id)).toEqual([a.body.task_id]);
    // An ordinary task is not a generation.
    const plain = await api(s.url, 'POST', '/api/v1/tasks', { script: 'ok.py' });
    expect((await api(s.url, 'GET', `/v1/video/generations/${plain.body.id}`)).status).toBe(404);
    await Promise.all([a, b].map((r) => finished(s, r.body.task_id)));
  });

  it('passes prompts to the script verbatim: quotes, newlines, $(…), backticks, {{, YAML syntax', async () => {
    const prompt = `it's a "quoted" cat\nline two $(rm -rf /) \`whoami\` {{ task_id }} {prompt} key: value\n- item\n&anchor *ref !!python/object ---\n# not a comment 视频 🐈`;
    const negative = `"; DROP TABLE tasks; -- {{`;
    const r = await generate(s, { prompt, negative_prompt: negative, watermark: 'Ünïcode "mark"' });
    expect(r.status).toBe(202);
    const v = await finished(s, r.body.task_id);
    expect(v.status).toBe('SUCCEEDED');
    expect(v.prompt).toBe(prompt);
    expect(v.negative_prompt).toBe(negative);
    const task = (await api(s.url, 'GET', `/api/v1/tasks/${r.body.task_id}`)).body;
    expect(task.params.prompt).toBe(prompt);
    expect(task.params.negative_prompt).toBe(negative);
    // Placeholders keep their type when they are the whole value.
    expect(task.params).toMatchObject({ width: 64, height: 48, num_frames: 8, fps: 8, image: null, watermark: 'Ünïcode "mark"', model: 'fake' });
    const received = JSON.parse((await download(`${s.url}${v.result.artifacts.find((a: { name: string }) => a.name === 'params.json').url}`)).body.toString('utf8'));
    expect(received.params.prompt).toBe(prompt);
    expect(received.params.negative_prompt).toBe(negative);
  });

  it('lists the catalog with availability', async () => {
    const { models } = (await api(s.url, 'GET', '/v1/video/models')).body;
    expect(models.map((m: { id: string }) => m.id)).toEqual(['fake', 'gpu', 'slow-gpu', 'sized', 'wan']);
    expect(models[1]).toMatchObject({ id: 'gpu', available: true, kind: 'script', executor: 'local', resources: { gpu: 1, cpu: 1 }, defaults: { size: '64*48', fps: 8, num_frames: 8 } });
    expect(models[4]).toMatchObject({ id: 'wan', available: false, kind: 'entrypoint', executor: 'ray', unavailable_reason: expect.stringContaining('ray') });
  });
});

describe('bad requests: 400 with a clear message, and no task', () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['unknown model', { model: 'nope', prompt: 'x' }, 'VIDEO_MODEL_NOT_FOUND', /nope/],
    ['a model that cannot run here', { model: 'wan', prompt: 'x' }, 'VIDEO_MODEL_UNAVAILABLE', /ray/],
    ['size not W*H', { prompt: 'x', size: 'big' }, 'INVALID_REQUEST', /size/],
    ['odd size (H.264)', { prompt: 'x', size: '63*48' }, 'INVALID_REQUEST', /odd/],
    ['size over the limits', { prompt: 'x', size: '512*48' }, 'INVALID_REQUEST', /larger than 256\*256/],
    ['size outside the list', { model: 'sized', prompt: 'x', size: '96*64' }, 'INVALID_REQUEST', /not one of 64\*48, 48\*64/],
    ['prompt over the limit', { prompt: 'x'.repeat(301) }, 'INVALID_REQUEST', /301 characters.*300/],
    ['empty prompt', { prompt: '   ' }, 'INVALID_REQUEST', /prompt/],
    ['no prompt', {}, 'INVALID_REQUEST', /prompt/],
    ['frames over the limit', { prompt: 'x', num_frames: 65 }, 'INVALID_REQUEST', /65 frames.*64/],
    ['duration over the limit', { prompt: 'x', duration: 9 }, 'INVALID_REQUEST', /72 frames/],
    ['both num_frames and duration', { prompt: 'x', num_frames: 8, duration: 1 }, 'INVALID_REQUEST', /not both/],
    ['fps 0', { prompt: 'x', fps: 0 }, 'INVALID_REQUEST', /fps/],
    ['an unknown field', { prompt: 'x', resolution: '720p' }, 'INVALID_REQUEST', /resolution: unknown field/],
    ['an unknown upload', { prompt: 'x', image: 'up_000000000000000000000000' }, 'UPLOAD_NOT_FOUND', /up_0/],
    ['a data: URI that is not an image', { prompt: 'x', image: `data:image/png;base64,${Buffer.from('hello, not a png').toString('base64')}` }, 'INVALID_IMAGE', /not a PNG/],
    ['a data: URI too large', { prompt: 'x', image: `data:image/png;base64,${Buffer.concat([PNG, Buffer.alloc(MAX_IMAGE)]).toString('base64')}` }, 'INVALID_IMAGE', /larger than 64 KiB/],
    ['an image that is not a URL, id or data: URI', { prompt: 'x', image: 'ftp://example.com/a.png' }, 'INVALID_REQUEST', /upload id/],
    ['a webhook to loopback', { prompt: 'x', webhook: 'http://127.0.0.1:9/hook' }, 'URL_NOT_ALLOWED', /private or loopback/],
    ['a webhook to localhost', { prompt: 'x', webhook: { url: 'http://localhost:9/hook' } }, 'URL_NOT_ALLOWED', /localhost/],
    ['a webhook to a private address', { prompt: 'x', webhook: 'http://10.1.2.3/hook' }, 'URL_NOT_ALLOWED', /10\.1\.2\.3/],
    ['a webhook to an IPv4-mapped loopback', { prompt: 'x', webhook: 'http://[::ffff:127.0.0.1]/hook' }, 'URL_NOT_ALLOWED', /private/],
    ['a webhook that is not http', { prompt: 'x', webhook: 'ftp://example.com/hook' }, 'INVALID_REQUEST', /webhook/],
    ['a webhook event that does not exist', { prompt: 'x', webhook: { url: 'https://example.com/h', events: ['finished'] } }, 'INVALID_REQUEST', /webhook: expected .*"completed"/],
  ];

  it.each(cases)('%s', async (_what, body, code, message) => {
    const before = await taskCount(s);
    const r = await generate(s, body);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.message).toMatch(message);
    expect(await taskCount(s)).toBe(before);
  });

  it('refuses to fetch an image from a private address without generation.uploads.allow_private', async () => {
    const before = await taskCount(s);
    const r = await generate(s, { prompt: 'x', image: `${imagesUrl}/cat.png` });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('URL_NOT_ALLOWED');
    expect(await taskCount(s)).toBe(before);
  });
});

describe('images', () => {
  const upload = (bytes: Buffer, name = 'cat.png', type = 'image/png') => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
    return fetch(`${s.url}/api/v1/uploads`, { method: 'POST', body: form }).then(async (r) => ({ status: r.status, body: await r.json() }));
  };

  it('uploads an image (type from its bytes) and gives the script its absolute path', async () => {
    const up = await upload(PNG, 'named-like-a.jpg', 'image/jpeg');
    expect(up.status).toBe(201);
    expect(up.body).toEqual({ id: expect.stringMatching(/^up_[0-9a-z]{24}$/), content_type: 'image/png', size: PNG.length, url: `/api/v1/uploads/${up.body.id}` });
    const back = await download(s.url + up.body.url);
    expect(back.headers['content-type']).toBe('image/png');
    expect(back.body.equals(PNG)).toBe(true);

    const r = await generate(s, { prompt: 'from an upload', image: up.body.id });
    const v = await finished(s, r.body.task_id);
    expect(v.image).toBe(up.body.id);
    const task = (await api(s.url, 'GET', `/api/v1/tasks/${r.body.task_id}`)).body;
    expect(task.params.image).toMatch(new RegExp(`^/.*/uploads/${up.body.id}\\.png$`));
    expect(readFileSync(task.params.image).equals(PNG)).toBe(true);
    const received = JSON.parse((await download(`${s.url}/api/v1/tasks/${r.body.task_id}/artifacts/params.json`)).body.toString());
    expect(received.image_bytes).toBe(PNG.length);
  });

  it('refuses an upload that is not an image, too large, or not multipart', async () => {
    const before = await taskCount(s);
    const text = await upload(Buffer.from('plain text, not an image'), 'cat.png', 'image/png');
    expect(text.status).toBe(400);
    expect(text.body.error.code).toBe('INVALID_IMAGE');
    const big = await upload(Buffer.concat([PNG, Buffer.alloc(MAX_IMAGE)]));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const json = await api(s.url, 'POST', '/api/v1/uploads', { file: 'x' });
    expect(json.status).toBe(415);
    expect(await taskCount(s)).toBe(before);
  });

  it('decodes a data: URI image', async () => {
    const r = await generate(s, { prompt: 'from a data URI', image: `data:image/png;base64,${PNG.toString('base64')}` });
    expect(r.status).toBe(202);
    const v = await finished(s, r.body.task_id);
    expect(v.image).toMatch(/^up_/);
    const task = (await api(s.url, 'GET', `/api/v1/tasks/${r.body.task_id}`)).body;
    expect(readFileSync(task.params.image).equals(PNG)).toBe(true);
  });

  it('fetches an http image (redirects followed, each checked) when private addresses are allowed', async () => {
    const other = await startVideoServer({ generation: { uploads: { allow_private: true, max_bytes: MAX_IMAGE, max_redirects: 2 } } });
    const hits: string[] = [];
    const origin = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/redirect') return res.writeHead(302, { location: '/cat.png' }).end();
      if (req.url === '/loop') return res.writeHead(302, { location: '/loop' }).end();
      if (req.url === '/text') return res.writeHead(200, { 'content-type': 'image/png' }).end('not an image');
      if (req.url === '/missing') return res.writeHead(404).end();
      if (req.url === '/huge') return res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.concat([PNG, Buffer.alloc(MAX_IMAGE)]));
      res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    try {
      const r = await generate(other, { prompt: 'fetched', image: `${base}/redirect` });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const v = await finished(other, r.body.task_id);
      expect(v.status).toBe('SUCCEEDED');
      const task = (await api(other.url, 'GET', `/api/v1/tasks/${r.body.task_id}`)).body;
      expect(readFileSync(task.params.image).equals(PNG)).toBe(true);
      expect(hits).toEqual(['/redirect', '/cat.png']);
      const before = await taskCount(other);
      for (const [path, message] of [
        ['/text', /not a PNG/],
        ['/missing', /answered 404/],
        ['/loop', /more than 2 redirects/],
        ['/huge', /larger than/],
      ] as const) {
        const bad = await generate(other, { prompt: 'x', image: `${base}${path}` });
        expect(bad.status, path).toBe(400);
        expect(bad.body.error.code).toBe('INVALID_IMAGE');
        expect(bad.body.error.message).toMatch(message);
      }
      expect(await taskCount(other)).toBe(before);
    } finally {
      origin.close();
      await other.close();
    }
  });
});

describe('DELETE /v1/video/generations/{id}', () => {
  it('cancels a running generation within 2 s, frees its slot for the next one, and leaves no file of it', async () => {
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => generate(s, { model: 'slow-gpu', prompt: 'long', num_frames: 60 })));
    const ids = [a!, b!, c!].map((r) => r.body.task_id as string);
    // Two run (two GPUs); wait until the first reported its early file.
    const running = await until('two running with files in the store', async () => {
      const views = await Promise.all(ids.map((id) => video(s, id)));
      const run = views.filter((v) => v.status === 'RUNNING');
      return run.length === 2 && run.every((v) => exists(`${artifactDir(s, v.task_id)}/early.txt`)) ? run : null;
    });
    const victim = running[0].task_id as string;
    const waiting = ids.find((id) => !running.some((v: { task_id: string }) => v.task_id === id)) as string;
    expect((await video(s, waiting)).status).toBe('QUEUED');

    const t0 = Date.now();
    const del = await api(s.url, 'DELETE', `/v1/video/generations/${victim}`);
    expect(del.status).toBe(200);
    expect(['RUNNING', 'CANCELLED']).toContain(del.body.status);
    const cancelled = await until('cancelled', async () => ((await video(s, victim)).status === 'CANCELLED' ? true : null), 2000, 10);
    expect(cancelled).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2000);
    // Its slot went to the waiting one.
    await until('the queued one to start', async () => ((await video(s, waiting)).status === 'RUNNING' ? true : null), 5000);
    expect(exists(artifactDir(s, victim))).toBe(false);
    expect(exists(stagingDir(s, victim))).toBe(false);
    const listed = await api(s.url, 'GET', `/api/v1/tasks/${victim}/artifacts`);
    expect(listed.body.artifacts).toEqual([]);

    for (const id of ids.filter((x) => x !== victim)) await api(s.url, 'DELETE', `/v1/video/generations/${id}`);
    await Promise.all(ids.map((id) => finished(s, id)));
  });

  it('deletes a finished generation: its task, its files, its staging dir (204)', async () => {
    const r = await generate(s, { model: 'slow-gpu', prompt: 'to delete', num_frames: 4 });
    const id = r.body.task_id as string;
    const v = await finished(s, id);
    expect(v.status).toBe('SUCCEEDED');
    expect(exists(`${artifactDir(s, id)}/video.mp4`)).toBe(true);
    // The unreported file in the work dir was not kept.
    expect(exists(`${artifactDir(s, id)}/stray.tmp`)).toBe(false);
    expect(exists(stagingDir(s, id))).toBe(false);
    const del = await api(s.url, 'DELETE', `/v1/video/generations/${id}`);
    expect(del.status).toBe(204);
    expect(exists(artifactDir(s, id))).toBe(false);
    expect((await api(s.url, 'GET', `/v1/video/generations/${id}`)).status).toBe(404);
    expect((await download(`${s.url}/api/v1/tasks/${id}/artifacts/video.mp4`)).status).toBe(404);
    expect((await api(s.url, 'DELETE', `/v1/video/generations/${id}`)).status).toBe(404);
  });

  it('cancels a queued generation at once', async () => {
    const blockers = await Promise.all([0, 1].map(() => generate(s, { model: 'slow-gpu', prompt: 'hold', num_frames: 10 })));
    const q = await generate(s, { model: 'gpu', prompt: 'pending' });
    expect((await video(s, q.body.task_id)).status).toBe('QUEUED');
    const del = await api(s.url, 'DELETE', `/v1/video/generations/${q.body.task_id}`);
    expect(del.status).toBe(200);
    expect(del.body.status).toBe('CANCELLED');
    await Promise.all(blockers.map((b) => finished(s, b.body.task_id)));
  });
});
