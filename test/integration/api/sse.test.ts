import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BUFFERED } from '../../../src/api/feed.ts';
import type { FakeTaskService } from './fake-task-service.ts';
import { listen, openSse, type SseClient, seqsOf, setup, waitFor } from './helpers.ts';

let app: FastifyInstance;
let fake: FakeTaskService;
let base: string;

async function start(opts: { heartbeatMs?: number } = {}): Promise<void> {
  ({ app, fake } = await setup(opts));
  base = await listen(app);
}
afterEach(() => app.close());

const newTask = async (): Promise<string> => (await fake.submit({ tenant: 'default' }, [{ script: 'a.py' }]))[0]?.task.id as string;
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('SSE /api/v1/tasks/:id/events', () => {
  it('replays after Last-Event-ID, streams live, and ends after the terminal state', async () => {
    await start();
    const id = await newTask(); // seq 1: queued
    fake.transition(id, 'running'); // 2
    fake.append(id, 'progress', { fraction: 0.25 }); // 3

    const sse = await openSse(base, `/api/v1/tasks/${id}/events`, { 'last-event-id': '1' });
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
    await waitFor(() => sse.frames.length === 2, 5000, 'replay');
    expect(seqsOf(sse.frames)).toEqual([2, 3]);

    fake.append(id, 'log', { stream: 'stdout', message: 'hello\nworld' }); // 4
    fake.transition(id, 'succeeded'); // 5
    await sse.ended;
    expect(seqsOf(sse.frames)).toEqual([2, 3, 4, 5]);
    expect(sse.frames.map((f) => f.event)).toEqual(['state', 'progress', 'log', 'state']);
    const log = JSON.parse(sse.frames[2]?.data as string);
    expect(log).toEqual(fake.logs.get(id)?.[3]);
    expect(log.data.message).toBe('hello\nworld');
  });

  it('resumes with ?after=, and Last-Event-ID wins over it', async () => {
    await start();
    const id = await newTask();
    for (let i = 0; i < 4; i++) fake.append(id, 'log', { message: `line ${i}` }); // 2..5
    fake.transition(id, 'failed'); // 6
    const viaQuery = await openSse(base, `/api/v1/tasks/${id}/events?after=3`);
    await viaQuery.ended;
    expect(seqsOf(viaQuery.frames)).toEqual([4, 5, 6]);
    const both = await openSse(base, `/api/v1/tasks/${id}/events?after=1`, { 'last-event-id': '4' });
    await both.ended;
    expect(seqsOf(both.frames)).toEqual([5, 6]);
  });

  it('ends at once when the client already saw the end of a finished task', async () => {
    await start();
    const id = await newTask();
    fake.transition(id, 'cancelled'); // 2
    const sse = await openSse(base, `/api/v1/tasks/${id}/events`, { 'last-event-id': '2' });
    await sse.ended;
    expect(sse.frames).toEqual([]);
  });

  it('sends heartbeat comments', async () => {
    await start({ heartbeatMs: 20 });
    const id = await newTask();
    const sse = await openSse(base, `/api/v1/tasks/${id}/events`);
    await waitFor(() => sse.comments.includes('heartbeat'), 2000, 'a heartbeat');
    sse.close();
  });

  it('misses and duplicates nothing when events are written while clients connect', async () => {
    await start();
    const id = await newTask();
    fake.transition(id, 'running');
    // Events land in the store between subscribe and history read (the buffer has them AND
    // the history has them) and right after the read (only the buffer has them).
    let n = 0;
    fake.beforeRead = (tid) => {
      if (tid === id && n++ % 3 === 0) fake.append(id, 'log', { message: 'during read (before snapshot)' });
    };
    fake.afterRead = (tid) => {
      if (tid === id && n++ % 3 === 1) fake.append(id, 'log', { message: 'during read (after snapshot)' });
    };

    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing; i++) {
        fake.append(id, i % 5 === 0 ? 'metric' : 'log', { message: `tick ${i}` });
        await new Promise((r) => setImmediate(r));
      }
    })();

    const clients: { after: number; sse: SseClient }[] = [];
    for (let c = 0; c < 8; c++) {
      // Odd clients resume a few events back; even ones replay everything.
      const after = c % 2 ? Math.max(0, (fake.tasks.get(id)?.last_seq ?? 0) - 3 * c) : 0;
      clients.push({ after, sse: await openSse(base, `/api/v1/tasks/${id}/events`, after ? { 'last-event-id': String(after) } : {}) });
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 30));
    publishing = false;
    await publisher;
    fake.beforeRead = fake.afterRead = null;
    const last = fake.transition(id, 'succeeded').last_seq;

    for (const { after, sse } of clients) {
      await sse.ended;
      expect(seqsOf(sse.frames)).toEqual(range(after + 1, last));
    }
  });

  it('reads the store again when more events are published during one read than it buffers', async () => {
    await start();
    const id = await newTask(); // 1
    fake.transition(id, 'running'); // 2
    // The replay's first read snapshots [1, 2]; before it answers, one event more than the
    // follower buffers is published. The buffer is discarded and left empty, so only a
    // second store read can deliver the burst (no later live event reveals the gap).
    const burst = MAX_BUFFERED + 1;
    let reads = 0;
    fake.afterRead = (tid) => {
      if (tid !== id || reads++ > 0) return;
      for (let i = 0; i < burst; i++) fake.append(id, 'log', { message: `burst ${i}` });
    };
    const sse = await openSse(base, `/api/v1/tasks/${id}/events`);
    await waitFor(() => sse.frames.length === 2 + burst, 10_000, 'the burst');
    fake.afterRead = null;
    const last = fake.transition(id, 'succeeded').last_seq;
    await sse.ended;
    expect(seqsOf(sse.frames)).toEqual(range(1, last));
  });

  it('fills a gap from the store when the bus loses events, buffering what is published meanwhile', async () => {
    await start();
    const id = await newTask(); // 1
    const sse = await openSse(base, `/api/v1/tasks/${id}/events`);
    await waitFor(() => sse.frames.length === 1);
    await fake.settled(); // the follower is live
    fake.dropPublish = () => true;
    fake.append(id, 'log', { message: 'lost on the bus' }); // 2
    fake.append(id, 'log', { message: 'lost on the bus' }); // 3
    fake.dropPublish = null;
    // The gap fill reads [2, 3]; events 5 and 6 are published while that read is in flight.
    let reads = 0;
    fake.beforeRead = () => void (reads++ === 0 && fake.append(id, 'log', { message: 'during the fill, before its snapshot' }));
    fake.afterRead = () => void (reads === 1 && fake.append(id, 'log', { message: 'during the fill, after its snapshot' }));
    fake.append(id, 'log', { message: 'seq 4 reveals the gap' });
    expect(seqsOf(sse.frames)).toEqual([1]); // 4 waits for 2 and 3
    await waitFor(() => sse.frames.length === 6, 5000, 'the gap fill');
    fake.beforeRead = fake.afterRead = null;
    const last = fake.transition(id, 'succeeded').last_seq; // 7
    await sse.ended;
    expect(seqsOf(sse.frames)).toEqual(range(1, last));
    expect(reads).toBe(1);
  });

  it('buffers events published while the replay checks whether the task has finished', async () => {
    await start();
    const id = await newTask();
    fake.duringGet = (tid) => void (tid === id && fake.append(id, 'log', { message: 'during get' }));
    const sse = await openSse(base, `/api/v1/tasks/${id}/events`);
    await fake.settled();
    fake.duringGet = null;
    const last = fake.transition(id, 'succeeded').last_seq;
    await sse.ended;
    expect(seqsOf(sse.frames)).toEqual(range(1, last));
    expect(last).toBeGreaterThanOrEqual(4); // the route's get and the follower's each added one
  });

  it('follows nothing when the client leaves while the task is being looked up', async () => {
    await start();
    const id = await newTask();
    const get = fake.get.bind(fake);
    let answered = false;
    fake.get = async (caller, tid) => {
      await new Promise((r) => setTimeout(r, 50));
      answered = true;
      return get(caller, tid);
    };
    const req = httpRequest(`http://${base}/api/v1/tasks/${id}/events`, { headers: { accept: 'text/event-stream' } });
    req.on('error', () => {});
    req.end();
    await new Promise((r) => setTimeout(r, 10));
    req.destroy();
    await waitFor(() => answered);
    await fake.settled();
    expect(fake.subscriptions).toBe(0);
  });

  it('answers 503 to a stream whose task lookup ends after the server began closing', async () => {
    await start();
    const id = await newTask();
    const get = fake.get.bind(fake);
    let release: (() => void) | null = null;
    fake.get = async (caller, tid) => {
      await new Promise<void>((r) => (release = r));
      return get(caller, tid);
    };
    const res = fetch(`http://${base}/api/v1/tasks/${id}/events`, { headers: { accept: 'text/event-stream' } });
    await waitFor(() => release !== null);
    const closed = app.close();
    (release as unknown as () => void)();
    const answer = await res;
    expect(answer.status).toBe(503);
    expect((await answer.json()).error.code).toBe('NOT_READY');
    await closed; // and nothing holds the server open
    expect(fake.subscriptions).toBe(0);
  });

  it('coalesces progress for a slow reader: the latest value arrives, nothing else is lost', async () => {
    await start();
    const id = await newTask();
    fake.transition(id, 'running'); // 2
    const sse = await openSse(base, `/api/v1/tasks/${id}/events`);
    await waitFor(() => sse.frames.length === 2);
    sse.pause();
    const total = 40_000;
    const logSeqs: number[] = [];
    for (let i = 1; i <= total; i++) {
      if (i % 100 === 0) logSeqs.push(fake.append(id, 'log', { message: `step ${i}`, pad: 'p'.repeat(200) }).seq);
      fake.append(id, 'progress', { fraction: i / total });
      if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
    }
    const last = fake.transition(id, 'succeeded').last_seq;
    sse.resume();
    await sse.ended;
    const events = sse.frames.map((f) => JSON.parse(f.data as string));
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    expect(events.filter((e) => e.type === 'log').map((e) => e.seq)).toEqual(logSeqs);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeLessThan(total);
    expect(progress[progress.length - 1].data.fraction).toBe(1);
    expect(seqs[seqs.length - 1]).toBe(last);
  });

  it('closing the server ends open streams', async () => {
    await start();
    const id = await newTask();
    const sse = await openSse(base, `/api/v1/tasks/${id}/events`);
    await waitFor(() => sse.frames.length === 1);
    await app.close();
    await sse.ended;
  });

  it('rejects a malformed Last-Event-ID', async () => {
    await start();
    const id = await newTask();
    const res = await app.inject({ url: `/api/v1/tasks/${id}/events`, headers: { accept: 'text/event-stream', 'last-event-id': 'x' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_REQUEST');
  });
});
