/**
 * Seed 001's concurrency control: 50 generations at once on a machine with 2 GPUs and a model
 * that needs 1 GPU each. Never more than 2 run at once (from the state events' timestamps
 * and from polling the running list), every waiting generation's queue position (pushed over
 * the WebSocket) strictly decreases until it starts, and all 50 succeed with their files.
 * It runs the real demo model (examples/video/generate.py) at a small size, and every video is
 * decoded whole by ffmpeg (playable). LAKERAY_TEST_FAKE_RENDERER=1 swaps in the fake generator
 * fixture for a quicker run of the scheduling part alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { findFfmpeg } from '../../../src/runtime/ffmpeg.ts';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api } from '../../helpers/server-process.ts';
import { DEFAULT_VIDEO_MODELS } from '../../../src/config/schema.ts';
import { download, FIXTURE_SCRIPTS, fakeModel, finished, generate, startVideoServer, until, type VideoServer } from './helpers.ts';

const N = 50;
const REAL = process.env.LAKERAY_TEST_FAKE_RENDERER !== '1';
let s: VideoServer;

beforeAll(async () => {
  const model = REAL
    ? { ...DEFAULT_VIDEO_MODELS[0], id: 'gpu', resources: { gpu: 1, cpu: 1 }, defaults: { size: '160*96', fps: 8, num_frames: 8 } }
    : fakeModel('gpu', { resources: { gpu: 1, cpu: 1 }, params: { frame_s: 0.01 }, defaults: { num_frames: 10 } });
  const roots = REAL ? { script_roots: [FIXTURE_SCRIPTS, resolve(import.meta.dirname, '../../../examples')] } : {};
  s = await startVideoServer({ ...roots, generation: { models: [model] } }, 2);
}, 60_000);

afterAll(async () => {
  await s?.close();
});

it(`runs ${N} concurrent generations at most 2 at a time, with strictly decreasing queue positions, all succeeding with their files`, async () => {
  const ws = new WebSocket(`${s.url.replace('http', 'ws')}/api/v1/ws`);
  const messages: any[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  await new Promise<void>((r, j) => ws.once('open', r).once('error', j));

  // Watch the running list from outside too, while everything happens.
  let maxPolled = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const running = (await api(s.url, 'GET', '/api/v1/tasks?status=running,cancelling&limit=1000')).body.tasks.length;
      maxPolled = Math.max(maxPolled, running);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  const accepted = await Promise.all(Array.from({ length: N }, (_, i) => generate(s, { prompt: `generation ${i}`, seed: i })));
  for (const a of accepted) expect(a.status).toBe(202);
  const ids = accepted.map((a) => a.body.task_id as string);
  ws.send(JSON.stringify({ op: 'subscribe', tasks: ids }));

  const views = await Promise.all(ids.map((id) => finished(s, id, 60_000)));
  polling = false;
  await poller;
  // Let the last queue/state messages arrive.
  await until('every terminal state over the socket', async () =>
    ids.every((id) => messages.some((m) => m.type === 'event' && m.event.task_id === id && m.event.type === 'state' && m.event.data.status === 'completed')),
  );
  ws.close();

  expect(views.map((v) => v.status)).toEqual(Array(N).fill('SUCCEEDED'));

  // At most 2 at once, from the state events: sorted by time, an end before a start at the same ms.
  const edges = messages
    .filter((m) => m.type === 'event' && m.event.type === 'state' && ['running', 'completed', 'failed', 'cancelled'].includes(m.event.data.status))
    .map((m) => ({ ts: m.event.ts as number, d: m.event.data.status === 'running' ? 1 : -1 }))
    .sort((a, b) => a.ts - b.ts || a.d - b.d);
  expect(edges.filter((e) => e.d === 1)).toHaveLength(N);
  let running = 0;
  let maxRunning = 0;
  for (const e of edges) maxRunning = Math.max(maxRunning, (running += e.d));
  expect(maxRunning).toBe(2);
  expect(maxPolled).toBeLessThanOrEqual(2);

  // Each waiting task heard its position fall, strictly, and never after it started.
  let withPositions = 0;
  for (const id of ids) {
    const mine = messages.filter((m) => (m.type === 'queue' && m.task_id === id) || (m.type === 'event' && m.event.task_id === id && m.event.type === 'state'));
    const positions = mine.filter((m) => m.type === 'queue').map((m) => m.position as number);
    for (let i = 1; i < positions.length; i++) expect(positions[i], `${id}: ${positions.join(' ')}`).toBeLessThan(positions[i - 1] as number);
    const started = mine.findIndex((m) => m.type === 'event' && m.event.data.status === 'running');
    expect(mine.slice(started).some((m) => m.type === 'queue')).toBe(false);
    if (positions.length > 1) withPositions++;
  }
  // The tasks at the back of the queue saw many positions go by.
  expect(withPositions).toBeGreaterThan(N / 2);

  for (const v of views) {
    const file = await download(s.url + v.result.video_url, {}, 'HEAD');
    expect(file.status).toBe(200);
    if (!REAL) expect(file.headers['content-length']).toBe('4096');
    expect(file.headers['content-type']).toBe('video/mp4');
  }
  if (REAL) {
    // Playable: ffmpeg decodes every frame of every video without an error.
    const dir = mkdtempSync(join(tmpdir(), 'lakeray-videos-'));
    try {
      for (const v of views) {
        const path = join(dir, `${v.task_id}.mp4`);
        writeFileSync(path, Buffer.from(await (await request(s.url + v.result.video_url)).body.arrayBuffer()));
        const out = execFileSync(findFfmpeg() as string, ['-v', 'error', '-i', path, '-f', 'null', '-'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        expect(out).toBe('');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}, 120_000);
