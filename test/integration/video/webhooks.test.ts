/**
 * Webhooks against a real receiver on 127.0.0.1 (webhooks.allow_private in this config):
 * start, throttled progress and completed deliveries with valid HMAC signatures; retries
 * with exponential backoff when the receiver fails; the delivery log; ordinary tasks too.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../../helpers/server-process.ts';
import { fakeModel, finished, generate, startVideoServer, until, type VideoServer } from './helpers.ts';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: any;
  at: number;
}

const SECRET = 'config-secret';
let s: VideoServer;
let receiver: Server;
let hookUrl: string;
const received: Received[] = [];
/** Path → how many requests of each delivery id to fail with 500 first. */
const failFirst = new Map<string, number>();
const attemptsById = new Map<string, number>();

const sign = (secret: string, raw: string) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
const to = (path: string) => received.filter((r) => r.path === path);

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, headers: req.headers, raw, body: JSON.parse(raw), at: Date.now() });
      const id = String(req.headers['x-lakeray-delivery']);
      const n = (attemptsById.get(id) ?? 0) + 1;
      attemptsById.set(id, n);
      res.writeHead(n <= (failFirst.get(path) ?? 0) ? 500 : 204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  s = await startVideoServer({
    webhooks: { allow_private: true, secret: SECRET, progress_interval_ms: 200, backoff_ms: 100, max_attempts: 5 },
    generation: { models: [fakeModel('fake', { params: { frame_s: 0.05 }, defaults: { num_frames: 24 } })] },
  });
}, 60_000);

afterAll(async () => {
  await s?.close();
  receiver?.close();
});

describe('webhooks', () => {
  it('delivers start, throttled progress and completed, each signed with the configured secret', async () => {
    const r = await generate(s, { prompt: 'hooked', webhook: `${hookUrl}/all` });
    expect(r.status).toBe(202);
    const id = r.body.task_id;
    const v = await finished(s, id);
    expect(v.status).toBe('SUCCEEDED');
    // Generous: on a loaded CI machine the receiver (in this process) can be slow to answer an
    // earlier progress delivery, and completed waits behind it (one delivery at a time per task).
    const got = await until('the completed delivery', async () => (to('/all').some((x) => x.body.event === 'completed') ? to('/all') : null), 60_000);

    const events = got.map((x) => x.body.event);
    expect(events[0]).toBe('start');
    expect(events[events.length - 1]).toBe('completed');
    const progress = got.filter((x) => x.body.event === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    // ~1.2 s of progress at most one per 200 ms (plus the first).
    expect(progress.length).toBeLessThanOrEqual(9);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.at - progress[i - 1]!.at).toBeGreaterThanOrEqual(150);
      expect(progress[i]!.body.data.fraction).toBeGreaterThan(progress[i - 1]!.body.data.fraction);
    }

    for (const x of got) {
      expect(x.headers['content-type']).toBe('application/json');
      expect(x.headers['x-lakeray-signature']).toBe(sign(SECRET, x.raw));
      expect(x.headers['x-lakeray-event']).toBe(x.body.event);
      expect(x.headers['x-lakeray-delivery']).toBe(x.body.id);
      expect(x.body.task_id).toBe(id);
    }
    expect(got[0]!.body).toMatchObject({ event: 'start', task: { id, status: 'running', name: 'video:fake', labels: { kind: 'video' } }, data: { attempt: 1 } });
    const completed = got[got.length - 1]!.body;
    expect(completed).toMatchObject({ event: 'completed', task: { id, status: 'completed' }, data: { status: 'completed', error: null, result: { num_frames: 24 } } });
    expect(completed.data.artifacts.find((a: { name: string }) => a.name === 'video.mp4')).toMatchObject({
      content_type: 'video/mp4',
      url: `/api/v1/tasks/${id}/artifacts/video.mp4`,
    });

    const log = (await api(s.url, 'GET', `/api/v1/tasks/${id}/webhooks`)).body.deliveries;
    expect(log.map((d: { event: string }) => d.event)).toEqual(events);
    expect(log.every((d: { outcome: string; status: number }) => d.outcome === 'delivered' && d.status === 204)).toBe(true);
  }, 120_000);

  it('uses a task’s own secret and delivers only the events it asked for', async () => {
    const r = await generate(s, { prompt: 'picky', webhook: { url: `${hookUrl}/picky`, events: ['completed'], secret: 'task-secret' } });
    await finished(s, r.body.task_id);
    const got = await until('the delivery', async () => (to('/picky').length ? to('/picky') : null));
    await new Promise((res) => setTimeout(res, 300));
    expect(to('/picky').map((x) => x.body.event)).toEqual(['completed']);
    expect(got[0]!.headers['x-lakeray-signature']).toBe(sign('task-secret', got[0]!.raw));
    // The URL's path (where tokens live) and the secret are never shown back: not in the task,
    // its events or its delivery log.
    const shown = JSON.stringify([
      (await api(s.url, 'GET', `/api/v1/tasks/${r.body.task_id}`)).body,
      (await api(s.url, 'GET', `/api/v1/tasks/${r.body.task_id}/events`)).body,
      (await api(s.url, 'GET', `/api/v1/tasks/${r.body.task_id}/webhooks`)).body,
    ]);
    expect(shown).toContain(`"webhook":"${new URL(hookUrl).origin}/…"`);
    expect(shown).toContain('"url":"http://127.0.0.1');
    expect(shown).not.toContain('/picky');
    expect(shown).not.toContain('task-secret');
  });

  it('retries a failing receiver with exponential backoff and logs every attempt', async () => {
    failFirst.set('/flaky', 2);
    const t = await api(s.url, 'POST', '/api/v1/tasks', { script: 'ok.py', webhook: { url: `${hookUrl}/flaky`, events: ['completed'] } });
    expect(t.status).toBe(201);
    const attempts = await until('three attempts', async () => (to('/flaky').length >= 3 ? to('/flaky') : null));
    await new Promise((res) => setTimeout(res, 300));
    expect(to('/flaky')).toHaveLength(3);
    // One delivery, three attempts, the same bytes and signature each time.
    expect(new Set(attempts.map((a) => a.headers['x-lakeray-delivery'])).size).toBe(1);
    expect(attempts.map((a) => a.headers['x-lakeray-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(attempts.map((a) => a.raw)).size).toBe(1);
    for (const a of attempts) expect(a.headers['x-lakeray-signature']).toBe(sign(SECRET, a.raw));
    const gap1 = attempts[1]!.at - attempts[0]!.at;
    const gap2 = attempts[2]!.at - attempts[1]!.at;
    expect(gap1).toBeGreaterThanOrEqual(90); // backoff_ms
    expect(gap2).toBeGreaterThanOrEqual(190); // doubled
    expect(attempts[0]!.body.data.status).toBe('completed');

    const log = await until('the log of three attempts', async () => {
      const d = (await api(s.url, 'GET', `/api/v1/tasks/${t.body.id}/webhooks`)).body.deliveries;
      return d.length === 3 ? d : null;
    });
    expect(log.map((d: { attempt: number; outcome: string; status: number }) => [d.attempt, d.outcome, d.status])).toEqual([
      [1, 'retrying', 500],
      [2, 'retrying', 500],
      [3, 'delivered', 204],
    ]);
    expect(log[0]).toMatchObject({ event: 'completed', url: `${new URL(hookUrl).origin}/…`, next_attempt_in_ms: 100 });
    expect(log[1]).toMatchObject({ next_attempt_in_ms: 200 });
  });

  it('gives up after max_attempts and logs the failure; a dead receiver is a network error', async () => {
    failFirst.set('/down', 99);
    const t = await api(s.url, 'POST', '/api/v1/tasks', { script: 'ok.py', webhook: { url: `${hookUrl}/down`, events: ['start'] } });
    const log = await until('five attempts', async () => {
      const d = (await api(s.url, 'GET', `/api/v1/tasks/${t.body.id}/webhooks`)).body.deliveries;
      return d.length === 5 ? d : null;
    }, 10_000);
    expect(log.map((d: { outcome: string }) => d.outcome)).toEqual(['retrying', 'retrying', 'retrying', 'retrying', 'failed']);

    const dead = await api(s.url, 'POST', '/api/v1/tasks', { script: 'ok.py', webhook: { url: 'http://127.0.0.1:9/nothing-listens', events: ['completed'] } });
    const first = await until('an attempt', async () => {
      const d = (await api(s.url, 'GET', `/api/v1/tasks/${dead.body.id}/webhooks`)).body.deliveries;
      return d.length ? d[0] : null;
    });
    expect(first).toMatchObject({ outcome: 'retrying', attempt: 1, error: expect.stringMatching(/ECONNREFUSED/) });
    expect(first.status).toBeUndefined();
  });
});
