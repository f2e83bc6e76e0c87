/**
 * Artifacts: files a task reports are in the store before the task is SUCCEEDED, the event
 * says where to get them, and they download with their type and with HTTP Range requests
 * (a browser's <video> seeks with these).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../../helpers/server-process.ts';
import { artifactDir, download, fakeModel, finished, generate, stagingDir, startVideoServer, until, type VideoServer } from './helpers.ts';

let s: VideoServer;
let id: string;
let video: Buffer;
const SIZE = 10_000;

beforeAll(async () => {
  s = await startVideoServer({ generation: { models: [fakeModel('fake', { params: { video_bytes: SIZE } })] } });
  const r = await generate(s, { prompt: 'ranges' });
  id = r.body.task_id;
  const v = await finished(s, id);
  expect(v.status).toBe('SUCCEEDED');
  video = readFileSync(join(artifactDir(s, id), 'video.mp4'));
}, 60_000);

afterAll(async () => {
  await s?.close();
});

const file = (name: string) => `${s.url}/api/v1/tasks/${id}/artifacts/${name}`;

describe('artifacts of a task', () => {
  it('are listed, and their events carry name, type, size and url (no local path)', async () => {
    const list = (await api(s.url, 'GET', `/api/v1/tasks/${id}/artifacts`)).body.artifacts;
    expect(list.map((a: { name: string; content_type: string }) => [a.name, a.content_type])).toEqual([
      ['video.mp4', 'video/mp4'],
      ['cover.png', 'image/png'],
      ['params.json', 'application/json'],
    ]);
    expect(list[0]).toEqual({ name: 'video.mp4', content_type: 'video/mp4', size: SIZE, created_at: expect.any(String), url: `/api/v1/tasks/${id}/artifacts/video.mp4` });
    const events = (await api(s.url, 'GET', `/api/v1/tasks/${id}/events?types=artifact,state`)).body.events;
    const artifacts = events.filter((e: { type: string }) => e.type === 'artifact');
    expect(artifacts[0].data).toEqual({ name: 'video.mp4', content_type: 'video/mp4', size: SIZE, url: `/api/v1/tasks/${id}/artifacts/video.mp4` });
    // Every artifact event precedes the terminal state.
    expect(events[events.length - 1].data.status).toBe('completed');
    expect(existsSync(stagingDir(s, id))).toBe(false);
  });

  it('downloads whole, with its type and Accept-Ranges', async () => {
    const r = await download(file('video.mp4'));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('video/mp4');
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers['content-length']).toBe(String(SIZE));
    expect(r.body.equals(video)).toBe(true);
    const json = await download(file('params.json'));
    expect(json.headers['content-type']).toBe('application/json');
    expect((await download(`${file('video.mp4')}?download=1`)).headers['content-disposition']).toBe("attachment; filename*=UTF-8''video.mp4");
  });

  it.each([
    ['the first bytes', 'bytes=0-99', 0, 99],
    ['a middle range', 'bytes=4000-4999', 4000, 4999],
    ['an open-ended range', 'bytes=9900-', 9900, SIZE - 1],
    ['a suffix', 'bytes=-100', SIZE - 100, SIZE - 1],
    ['a range past the end, cut to it', 'bytes=9990-20000', 9990, SIZE - 1],
  ])('serves %s (206 + Content-Range)', async (_what, range, start, end) => {
    const r = await download(file('video.mp4'), { range });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/${SIZE}`);
    expect(r.headers['content-length']).toBe(String(end - start + 1));
    expect(r.body.equals(video.subarray(start, end + 1))).toBe(true);
  });

  it.each([['bytes=10000-'], ['bytes=20000-20010'], ['bytes=-0'], ['bytes=500-100'], ['bytes=abc']])('answers 416 to %s', async (range) => {
    const r = await download(file('video.mp4'), { range });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe(`bytes */${SIZE}`);
    expect(JSON.parse(r.body.toString()).error.code).toBe('RANGE_NOT_SATISFIABLE');
  });

  it('ignores a range of another unit, or several ranges (the whole file)', async () => {
    for (const range of ['lines=0-5', 'bytes=0-1,5-9']) {
      const r = await download(file('video.mp4'), { range });
      expect(r.status, range).toBe(200);
      expect(r.body.length).toBe(SIZE);
    }
  });

  it('answers HEAD with the headers and no body', async () => {
    const r = await download(file('video.mp4'), {}, 'HEAD');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(SIZE));
    expect(r.headers['content-type']).toBe('video/mp4');
    expect(r.body.length).toBe(0);
    const ranged = await download(file('video.mp4'), { range: 'bytes=0-9' }, 'HEAD');
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-length']).toBe('10');
  });

  it('404s an unknown artifact, a path-like name and an unknown task', async () => {
    for (const [url, code] of [
      [file('nope.mp4'), 'ARTIFACT_NOT_FOUND'],
      [file('..%2F..%2Flakeray.db'), 'ARTIFACT_NOT_FOUND'],
      [file('.manifest.json'), 'ARTIFACT_NOT_FOUND'],
      [`${s.url}/api/v1/tasks/t_missing/artifacts/video.mp4`, 'TASK_NOT_FOUND'],
    ] as const) {
      const r = await download(url);
      expect(r.status, url).toBe(404);
      expect(JSON.parse(r.body.toString()).error.code).toBe(code);
    }
  });
});

describe('artifacts of ordinary tasks', () => {
  const run = async (params: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const t = await api(s.url, 'POST', '/api/v1/tasks', { script: 'video/artifact_cases.py', params, ...extra });
    expect(t.status).toBe(201);
    return until('the task to finish', async () => {
      const task = (await api(s.url, 'GET', `/api/v1/tasks/${t.body.id}`)).body;
      return ['completed', 'failed', 'cancelled'].includes(task.status) ? task : null;
    });
  };

  it('copies a reported file from outside the work dir (the original stays)', async () => {
    const task = await run({ case: 'outside' }, { output: 'out.txt' });
    expect(task.status).toBe('completed');
    expect(readFileSync(join(s.dir, 'data', 'out.txt'), 'utf8')).toBe('kept in the data root');
    expect((await download(`${s.url}/api/v1/tasks/${task.id}/artifacts/copy.txt`)).body.toString()).toBe('kept in the data root');
  });

  it('fails a task whose reported file cannot be stored with ARTIFACT_ERROR', async () => {
    const task = await run({ case: 'directory' });
    expect(task.status).toBe('failed');
    expect(task.error.code).toBe('ARTIFACT_ERROR');
    expect(task.error.message).toMatch(/a_dir/);
  });

  it('makes a safe name of any reported name; the same name twice keeps the last', async () => {
    const task = await run({ case: 'names' });
    expect(task.status).toBe('completed');
    const names = (await api(s.url, 'GET', `/api/v1/tasks/${task.id}/artifacts`)).body.artifacts.map((a: { name: string }) => a.name).sort();
    expect(names).toEqual(['escape.txt', 'hidden', 'same.txt']);
    expect((await download(`${s.url}/api/v1/tasks/${task.id}/artifacts/same.txt`)).body.toString()).toBe('version 3');
    expect(existsSync(join(s.state, 'escape.txt'))).toBe(false);
  });

  it('deletes the artifacts with the task', async () => {
    const task = await run({ case: 'names' });
    expect(existsSync(artifactDir(s, task.id))).toBe(true);
    expect((await api(s.url, 'DELETE', `/api/v1/tasks/${task.id}`)).status).toBe(204);
    expect(existsSync(artifactDir(s, task.id))).toBe(false);
  });
});
