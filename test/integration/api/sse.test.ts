/**
 * SSE streams of a task's events on the real engine, with events reported by real scripts
 * (remote.mjs). The replay/live hand-over tests make the store answer like a networked one
 * (probes.ts) and hold its reads open while the script reports: that is when a stream can
 * miss or repeat an event.
 */
import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BUFFERED } from '../../../src/api/feed.ts';
import type { TaskEvent } from '../../../src/domain/events.ts';
import { listen, openSse, type SseClient, seqsOf, waitFor } from './helpers.ts';
import { type Platform, type PlatformOptions, setup } from './platform.ts';

let app: FastifyInstance;
let p: Platform;
let base: string;

async function start(opts: PlatformOptions = {}): Promise<void> {
  p = await setup(opts);
  app = p.app;
  base = await listen(app);
}
afterEach(() => p.close());

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** Runs `f` on the calls of store method args whose first argument is `id`. */
const forTask = (id: string, f: () => unknown) => (taskId: unknown) => (taskId === id ? f() : undefined);

describe('SSE /api/v1/tasks/:id/events', () => {
  it('replays after Last-Event-ID, streams live, and ends after the terminal state', async () => {
    await start();
    const task = await p.startRemote(); // seq 1 queued, 2 running
    await task.emit('progress', { fraction: 0.25 }); // 3

    const sse = await openSse(base, `/api/v1/tasks/${task.id}/events`, { 'last-event-id': '1' });
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
    await waitFor(() => sse.frames.length === 2, 5000, 'replay');
    expect(seqsOf(sse.frames)).toEqual([2, 3]);

    await task.emit('log', { message: 'hello\nworld' }); // 4
    const end = await task.finish({ ok: true }); // 5 result, 6 succeeded
    await sse.ended;
    expect(seqsOf(sse.frames)).toEqual([2, 3, 4, 5, 6]);
    expect(end.seq).toBe(6);
    expect(sse.frames.map((f) => f.event)).toEqual(['state', 'progress', 'log', 'result', 'state']);
    const log = JSON.parse(sse.frames[2]?.data as string);
    expect(log).toEqual((await p.log(task.id))[3]);
    expect(log.data.message).toBe('hello\nworld');
    expect(JSON.parse(sse.frames[3]?.data as string).data).toEqual({ value: { ok: true } });
  });

  it('resumes with ?after=, and Last-Event-ID wins over it', async () => {
    await start();
    const task = await p.startRemote();
    for (let i = 0; i < 4; i++) await task.emit('log', { message: `line ${i}` }); // 3..6
    const last = (await task.fail('boom')).seq;
    expect((await p.log(task.id)).at(-1)).toMatchObject({ seq: last, data: { status: 'failed' } });
    const viaQuery = await openSse(base, `/api/v1/tasks/${task.id}/events?after=3`);
    await viaQuery.ended;
    expect(seqsOf(viaQuery.frames)).toEqual(range(4, last));
    const both = await openSse(base, `/api/v1/tasks/${task.id}/events?after=1`, { 'last-event-id': '4' });
    await both.ended;
    expect(seqsOf(both.frames)).toEqual(range(5, last));
  });

  it('ends at once when the client already saw the end of a finished task', async () => {
    await start({ cpu: 1 });
    await p.occupy();
    const id = await p.submitRemote(); // 1 queued
    expect((await app.inject({ method: 'POST', url: `/api/v1/tasks/${id}/cancel` })).json().status).toBe('cancelled'); // 2
    const sse = await openSse(base, `/api/v1/tasks/${id}/events`, { 'last-event-id': '2' });
    await sse.ended;
    expect(sse.frames).toEqual([]);
  });

  it('sends heartbeat comments', async () => {
    await start({ heartbeatMs: 20 });
    const id = await p.submitRemote();
    const sse = await openSse(base, `/api/v1/tasks/${id}/events`);
    await waitFor(() => sse.comments.includes('heartbeat'), 2000, 'a heartbeat');
    sse.close();
  });

  it('misses and duplicates nothing when events are written while clients connect', async () => {
    await start();
    const task = await p.startRemote();
    p.probe.networked = true;
    // Events land in the store between subscribe and history read (the buffer has them AND
    // the history has them) and right after the read (only the buffer has them).
    const reads = { before: 0, after: 0 };
    const raced = { before: 0, after: 0 };
    p.probe.before.readEvents = forTask(task.id, async () => {
      if (reads.before++ % 3 !== 0) return;
      await task.emit('log', { message: `during read ${reads.before} (before snapshot)` });
      raced.before++;
    });
    p.probe.after.readEvents = forTask(task.id, async () => {
      if (reads.after++ % 3 !== 1) return;
      await task.emit('log', { message: `during read ${reads.after} (after snapshot)` });
      raced.after++;
    });
    await task.send({ op: 'stream', every_ms: 1 }); // and a steady stream of log lines meanwhile

    const clients: { after: number; sse: SseClient }[] = [];
    for (let c = 0; c < 8; c++) {
      // Odd clients resume a few events back; even ones replay everything.
      const after = c % 2 ? Math.max(0, p.bus.published(task.id).length - 3 * c) : 0;
      clients.push({ after, sse: await openSse(base, `/api/v1/tasks/${task.id}/events`, after ? { 'last-event-id': String(after) } : {}) });
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 30));
    await task.send({ op: 'stop' });
    delete p.probe.before.readEvents;
    delete p.probe.after.readEvents;
    const last = (await task.finish()).seq;

    for (const { after, sse } of clients) {
      await sse.ended;
      expect(seqsOf(sse.frames)).toEqual(range(after + 1, last));
    }
    expect(raced.before).toBeGreaterThan(0);
    expect(raced.after).toBeGreaterThan(0);
  });

  it('reads the store again when more events are published during one read than it buffers', async () => {
    await start();
    const task = await p.startRemote(); // 1, 2
    p.probe.networked = true;
    // The replay's first read snapshots [1, 2]; before it answers, one event more than the
    // follower buffers is published. The buffer is discarded and left empty, so only a
    // second store read can deliver the burst (no later live event reveals the gap).
    const burst = MAX_BUFFERED + 1;
    let reads = 0;
    p.probe.after.readEvents = forTask(task.id, async () => {
      if (reads++ > 0) return;
      const from = p.bus.published(task.id).length;
      await task.send({ op: 'logs', count: burst, prefix: 'burst' });
      await waitFor(() => p.bus.published(task.id).length >= from + burst, 20_000, 'the burst to be stored');
    });
    const sse = await openSse(base, `/api/v1/tasks/${task.id}/events`);
    await waitFor(() => sse.frames.length === 2 + burst, 20_000, 'the burst');
    delete p.probe.after.readEvents;
    const last = (await task.finish()).seq;
    await sse.ended;
    expect(seqsOf(sse.frames)).toEqual(range(1, last));
    expect(reads).toBeGreaterThanOrEqual(2);
  });

  it('fills a gap from the store when the bus loses events, buffering what is published meanwhile', async () => {
    await start();
    const task = await p.startRemote(); // 1, 2
    const sse = await openSse(base, `/api/v1/tasks/${task.id}/events`);
    await waitFor(() => sse.frames.length === 2);
    await p.probe.settled(); // the follower is live
    p.probe.networked = true;
    p.bus.drop = (e) => e.task_id === task.id;
    await task.emit('log', { message: 'lost on the bus 1' }); // 3
    await task.emit('log', { message: 'lost on the bus 2' }); // 4
    p.bus.drop = null;
    // The gap fill reads [3, 4]; two more events are published while that read is in flight,
    // which the test holds open until it has checked that nothing was sent meanwhile.
    let reads = 0;
    let hold: (() => void) | null = null;
    p.probe.before.readEvents = async (id) => {
      if (id !== task.id || reads++ > 0) return;
      await task.emit('log', { message: 'during the fill, before its snapshot' });
      await new Promise<void>((r) => (hold = r));
    };
    p.probe.after.readEvents = async (id) => {
      if (id === task.id && reads === 1) await task.emit('log', { message: 'during the fill, after its snapshot' });
    };
    const reveal = await task.emit('log', { message: 'reveals the gap' }); // 5
    expect(reveal.seq).toBe(5);
    await waitFor(() => hold !== null, 5000, 'the gap fill to read');
    await new Promise((r) => setTimeout(r, 20));
    expect(seqsOf(sse.frames)).toEqual([1, 2]); // 5 waits for 3 and 4
    (hold as unknown as () => void)();
    await waitFor(() => sse.frames.length === 7, 5000, 'the gap fill');
    delete p.probe.before.readEvents;
    delete p.probe.after.readEvents;
    const last = (await task.finish()).seq;
    await sse.ended;
    expect(seqsOf(sse.frames)).toEqual(range(1, last));
    expect(reads).toBe(1);
  });

  it('buffers events published while the replay checks whether the task has finished', async () => {
    await start();
    const task = await p.startRemote(); // 1, 2
    p.probe.networked = true;
    let during = 0;
    p.probe.after.get = forTask(task.id, async () => {
      await task.emit('log', { message: `during get ${during++}` });
    });
    const sse = await openSse(base, `/api/v1/tasks/${task.id}/events`);
    await p.probe.settled();
    delete p.probe.after.get;
    const last = (await task.finish()).seq;
    await sse.ended;
    expect(seqsOf(sse.frames)).toEqual(range(1, last));
    expect(during).toBeGreaterThanOrEqual(2); // the route's get and the follower's each added one
  });

  it('follows nothing when the client leaves while the task is being looked up', async () => {
    await start();
    const id = await p.submitRemote();
    let entered = false;
    let answered = false;
    p.probe.before.get = forTask(id, async () => {
      entered = true;
      await new Promise((r) => setTimeout(r, 50));
      answered = true;
    });
    const req = httpRequest(`http://${base}/api/v1/tasks/${id}/events`, { headers: { accept: 'text/event-stream' } });
    req.on('error', () => {});
    req.end();
    await waitFor(() => entered, 5000, 'the lookup');
    req.destroy();
    await waitFor(() => answered);
    await p.probe.settled();
    expect(p.bus.active).toBe(0);
  });

  it('answers 503 to a stream whose task lookup ends after the server began closing', async () => {
    await start();
    const id = await p.submitRemote();
    let release: (() => void) | null = null;
    p.probe.before.get = forTask(id, () => new Promise<void>((r) => (release = r)));
    const res = fetch(`http://${base}/api/v1/tasks/${id}/events`, { headers: { accept: 'text/event-stream' } });
    await waitFor(() => release !== null);
    const closed = app.close();
    await waitFor(() => !app.server.listening, 5000, 'the server to stop listening');
    (release as unknown as () => void)();
    const answer = await res;
    expect(answer.status).toBe(503);
    expect((await answer.json()).error.code).toBe('NOT_READY');
    await closed; // and nothing holds the server open
    expect(p.bus.active).toBe(0);
  });

  it('coalesces progress for a slow reader: the latest value arrives, nothing else is lost', async () => {
    await start();
    const task = await p.startRemote(); // 1, 2
    const sse = await openSse(base, `/api/v1/tasks/${task.id}/events`);
    await waitFor(() => sse.frames.length === 2);
    sse.pause();
    // Megabytes of log lines back the stream up while thousands of progress reports are stored.
    await task.send({ op: 'burst', total: 40_000, log_every: 20, pad: 'p'.repeat(2000), pause_every: 100 });
    const last = (await task.finish()).seq;
    const log = await p.log(task.id);
    const storedProgress = log.filter((e) => e.type === 'progress');
    sse.resume();
    await sse.ended;
    const events = sse.frames.map((f) => JSON.parse(f.data as string) as TaskEvent);
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    expect(events.filter((e) => e.type === 'log').map((e) => e.seq)).toEqual(log.filter((e) => e.type === 'log').map((e) => e.seq));
    const progress = events.filter((e) => e.type === 'progress');
    expect(storedProgress.length).toBeGreaterThan(100);
    expect(progress.length).toBeLessThan(storedProgress.length);
    expect(progress[progress.length - 1]?.data.fraction).toBe(1);
    expect(seqs[seqs.length - 1]).toBe(last);
  });

  it('closing the server ends open streams', async () => {
    await start();
    const id = await p.submitRemote();
    const sse = await openSse(base, `/api/v1/tasks/${id}/events`);
    await waitFor(() => sse.frames.length >= 1);
    await app.close();
    await sse.ended;
  });

  it('rejects a malformed Last-Event-ID', async () => {
    await start();
    const id = await p.submitRemote();
    const res = await app.inject({ url: `/api/v1/tasks/${id}/events`, headers: { accept: 'text/event-stream', 'last-event-id': 'x' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_REQUEST');
  });
});
