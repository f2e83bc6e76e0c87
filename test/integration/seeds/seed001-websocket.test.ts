/**
 * Seed 001 §2 steps 2–3 and 11–12: the controller answers a generation request with its
 * `task_id` at once ("告知排队中"), the front end then opens a WebSocket and is pushed the
 * progress and, at the end, the final video URL, with which it shows the video. Here: the
 * video API of seeds 000/001 and the events WebSocket (`/api/v1/ws`, docs/api.md), a real
 * server running the fake generator. (Seed 000's polling flow is video/video-api.test.ts.)
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsOf, openWs } from '../api/helpers.ts';
import { generate, startVideoServer, video, type VideoServer } from '../video/helpers.ts';

let s: VideoServer;
beforeAll(async () => {
  s = await startVideoServer();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe("seed 001's real-time channel", () => {
  it('queued at once; the WebSocket then pushes progress, the video URL and the end; the URL plays', async () => {
    const accepted = await generate(s, { model: 'fake', prompt: 'a beautiful cat', size: '64*48' });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ task_id: expect.any(String), status: 'QUEUED' });
    const id = accepted.body.task_id as string;

    const ws = await openWs(s.url.replace('http://', ''));
    try {
      ws.send({ op: 'subscribe', tasks: [id] });
      await ws.waitFor((m) => m.type === 'event' && m.event.type === 'state' && m.event.data.status === 'completed', 30_000);
      const events = eventsOf(ws.messages, id);
      const fractions = events.filter((e) => e.type === 'progress').map((e) => e.data.fraction as number);
      expect(fractions.length).toBeGreaterThan(0);
      expect(fractions).toEqual([...fractions].sort((a, b) => a - b)); // a progress bar only moves forward
      const videoEvent = events.find((e) => e.type === 'artifact' && String(e.data.content_type).startsWith('video/'));
      expect(videoEvent?.data.url).toEqual(expect.any(String));

      const done = await video(s, id);
      expect(done).toMatchObject({ status: 'SUCCEEDED', progress: 100 });
      expect(done.result.video_url).toBe(videoEvent.data.url);
      const file = await request(`${s.url}${videoEvent.data.url}`);
      expect(file.statusCode).toBe(200);
      expect(String(file.headers['content-type'])).toMatch(/^video\//);
      expect((await file.body.arrayBuffer()).byteLength).toBeGreaterThan(0);
    } finally {
      await ws.close();
    }
  }, 60_000);
});
