/**
 * The WebSocket API on the real engine: events reported by real scripts (remote.mjs), the
 * store seen through probes.ts where a test needs a read held open or slowed down.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { eventsOf, listen, openWs, type WsClient, waitFor } from './helpers.ts';
import { type Platform, type PlatformOptions, setup } from './platform.ts';

let app: FastifyInstance;
let p: Platform;
let base: string;
const clients: WsClient[] = [];

async function start(opts: PlatformOptions = {}): Promise<void> {
  p = await setup(opts);
  app = p.app;
  base = await listen(app);
}
async function client(): Promise<WsClient> {
  const c = await openWs(base);
  clients.push(c);
  return c;
}
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await p.close();
});

const seqs = (events: { seq: number }[]): number[] => events.map((e) => e.seq);
const slowLookups = (ms: number) => {
  let answered = 0;
  p.probe.before.get = async () => {
    await new Promise((r) => setTimeout(r, ms));
    answered++;
  };
  return () => answered;
};

describe('WebSocket /api/v1/ws', () => {
  it('subscribes to one task: acknowledgement, replay, then live', async () => {
    await start();
    const task = await p.startRemote(); // 1 queued, 2 running
    const c = await client();
    c.send({ op: 'subscribe', tasks: [task.id] });
    await waitFor(() => eventsOf(c.messages).length === 2);
    expect(c.messages[0]).toEqual({ type: 'subscribed', tasks: [task.id], all: false });
    const live = await task.emit('progress', { fraction: 0.5 });
    await waitFor(() => eventsOf(c.messages).length === 3);
    expect(eventsOf(c.messages)[2]).toEqual(live);
    expect(eventsOf(c.messages)).toEqual(await p.log(task.id));
  });

  it('subscribes to many tasks and resumes each after its own seq', async () => {
    await start();
    const a = await p.startRemote(); // 1, 2
    const b = await p.startRemote();
    for (let i = 0; i < 3; i++) {
      await a.emit('log', { message: `a${i}` }); // 3..5
      await b.emit('log', { message: `b${i}` });
    }
    const c = await client();
    c.send({ op: 'subscribe', tasks: [a.id, b.id], after: { [a.id]: 3 } });
    await waitFor(() => eventsOf(c.messages).length === 2 + 5);
    expect(seqs(eventsOf(c.messages, a.id))).toEqual([4, 5]);
    expect(seqs(eventsOf(c.messages, b.id))).toEqual([1, 2, 3, 4, 5]);
    await b.emit('log', { message: 'live' }); // b 6
    const end = await a.finish(); // a 6 result, 7 succeeded
    await waitFor(() => eventsOf(c.messages).length === 10);
    expect(seqs(eventsOf(c.messages, a.id))).toEqual([4, 5, 6, 7]);
    expect(eventsOf(c.messages, a.id).at(-1)).toEqual(end);
    expect(seqs(eventsOf(c.messages, b.id))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("subscribes to all of the tenant's tasks, live only", async () => {
    await start();
    const old = await p.startRemote();
    const c = await client();
    c.send({ op: 'subscribe', all: true });
    await c.waitFor((m) => m.type === 'subscribed');
    const fresh = await p.startRemote(); // 1 queued, 2 running: both live
    const foreign = await p.startRemote({}, { tenant: 'other' });
    await foreign.emit('log', { message: 'not yours' });
    const oldLive = await old.emit('log', { message: 'old task, new event' }); // old's 3
    await waitFor(() => eventsOf(c.messages).length === 3);
    expect(eventsOf(c.messages).map((e) => [e.task_id, e.seq])).toEqual([
      [fresh.id, 1],
      [fresh.id, 2],
      [old.id, oldLive.seq],
    ]);

    c.send({ op: 'unsubscribe', all: true });
    await c.waitFor((m) => m.type === 'unsubscribed');
    await fresh.emit('log', { message: 'after unsubscribe' });
    c.send({ op: 'ping' });
    await c.waitFor((m) => m.type === 'pong');
    expect(eventsOf(c.messages)).toHaveLength(3);
    // The engine subscribed for the caller's tenant (whatever a client might ask for).
    expect(p.bus.subscriptions.map((s) => s.tenant)).toEqual(['default']);
  });

  it('never duplicates an event when a task and the whole tenant are both subscribed', async () => {
    await start();
    // Its webhook's delivery record is written after the task's terminal state.
    const hook = createServer((req, res) => req.resume().on('end', () => res.end('ok')));
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    try {
      const task = await p.startRemote({ webhook: { url, events: ['completed'] } }); // 1, 2
      const c = await client();
      c.send({ op: 'subscribe', all: true });
      c.send({ op: 'subscribe', tasks: [task.id] });
      await waitFor(() => eventsOf(c.messages).length === 2);
      for (let i = 0; i < 5; i++) await task.emit('log', { message: String(i) }); // 3..7
      const end = await task.finish(); // 8 result, 9 succeeded: ends the task subscription…
      expect(end.seq).toBe(9);
      // …so the webhook record (10) comes through the tenant feed, once.
      await waitFor(() => eventsOf(c.messages).length === 10, 10_000, 'the webhook record');
      await new Promise((r) => setTimeout(r, 20));
      expect(seqs(eventsOf(c.messages, task.id))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(eventsOf(c.messages, task.id)[9]).toMatchObject({ type: 'webhook' });
      expect(eventsOf(c.messages)).toEqual(await p.log(task.id));
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });

  it('resumes with after without gap or duplicate while events are being written', async () => {
    await start();
    const task = await p.startRemote();
    for (let i = 0; i < 10; i++) await task.emit('log', { message: String(i) }); // seq 3..12
    p.probe.networked = true;
    let reads = 0;
    p.probe.before.readEvents = async (id) => {
      if (id === task.id && reads++ === 0) await task.emit('log', { message: 'before snapshot' });
    };
    p.probe.after.readEvents = async (id) => {
      if (id === task.id && reads === 1) await task.emit('log', { message: 'after snapshot' });
    };
    const c = await client();
    c.send({ op: 'subscribe', tasks: [task.id], after: { [task.id]: 6 } });
    await waitFor(() => eventsOf(c.messages).length === 8); // 7..12 and the two written during the read
    delete p.probe.before.readEvents;
    delete p.probe.after.readEvents;
    const last = (await task.finish()).seq;
    await waitFor(() => eventsOf(c.messages).some((e) => e.seq === last));
    expect(seqs(eventsOf(c.messages))).toEqual(Array.from({ length: last - 6 }, (_, i) => 7 + i));
  });

  it('sends a live event in the same tick as its publish (no timer on the hot path)', async () => {
    await start();
    const task = await p.startRemote();
    const c = await client();
    c.send({ op: 'subscribe', tasks: [task.id] });
    await waitFor(() => eventsOf(c.messages).length === 2);
    await p.probe.settled(); // replay done: the follower is live
    const [serverSide] = [...app.websocketServer.clients];
    const raw = (serverSide as unknown as { _socket: Socket })._socket;
    const written: boolean[] = [];
    let before = raw.bytesWritten;
    p.bus.afterPublish = (events) => {
      if (!events.some((e) => e.task_id === task.id)) return;
      written.push(raw.bytesWritten > before); // still inside the publish: before any await
      before = raw.bytesWritten;
    };
    await task.emit('progress', { fraction: 0.5 });
    p.bus.afterPublish = null;
    expect(written).toEqual([true]);
    await waitFor(() => eventsOf(c.messages).length === 3);
  });

  it('stops a task subscription on unsubscribe', async () => {
    await start();
    const task = await p.startRemote();
    const c = await client();
    c.send({ op: 'subscribe', tasks: [task.id] });
    await waitFor(() => eventsOf(c.messages).length === 2);
    c.send({ op: 'unsubscribe', tasks: [task.id] });
    await c.waitFor((m) => m.type === 'unsubscribed');
    await task.emit('log', { message: 'x' });
    c.send({ op: 'ping' });
    await c.waitFor((m) => m.type === 'pong');
    expect(eventsOf(c.messages)).toHaveLength(2);
    expect(p.bus.active).toBe(0);
  });

  it('handles messages in order even though a subscribe awaits the engine', async () => {
    await start();
    const task = await p.startRemote();
    p.probe.networked = true;
    const c = await client();
    c.send({ op: 'subscribe', tasks: [task.id] });
    c.send({ op: 'unsubscribe', tasks: [task.id] }); // must not overtake the subscribe
    c.send({ op: 'ping' });
    await c.waitFor((m) => m.type === 'pong');
    const controls = c.messages.filter((m) => m.type !== 'event').map((m) => m.type);
    expect(controls).toEqual(['subscribed', 'unsubscribed', 'pong']);
    await p.probe.settled();
    expect(p.bus.active).toBe(0);
    await task.emit('log', { message: 'nobody listens' });
    c.send({ op: 'ping' });
    await waitFor(() => c.messages.filter((m) => m.type === 'pong').length === 2);
    expect(eventsOf(c.messages).every((e) => e.seq <= 2)).toBe(true);
  });

  it('answers a flood of messages, all of them, in order (reading pauses and resumes)', async () => {
    await start();
    const id = await p.submitRemote();
    slowLookups(20);
    const c = await client();
    c.send({ op: 'subscribe', tasks: [id] }); // slow: everything below waits behind it
    for (let i = 0; i < 500; i++) c.send({ op: 'ping' });
    c.send({ op: 'unsubscribe', tasks: [id] });
    await c.waitFor((m) => m.type === 'unsubscribed');
    const controls = c.messages.filter((m) => m.type !== 'event').map((m) => m.type);
    expect(controls).toEqual(['subscribed', ...Array(500).fill('pong'), 'unsubscribed']);
  });

  it('subscribes nothing when the client leaves while the tasks are being looked up', async () => {
    await start();
    const id = await p.submitRemote();
    const answered = slowLookups(50);
    const c = await client();
    c.send({ op: 'subscribe', tasks: [id] });
    c.send({ op: 'subscribe', all: true });
    await waitFor(() => (p.probe.calls.get ?? 0) > 0, 5000, 'the lookup');
    await c.close();
    await waitFor(() => answered() > 0);
    await p.probe.settled();
    await new Promise((r) => setTimeout(r, 10));
    expect(p.bus.active).toBe(0);
  });

  it('answers bad messages with an error and keeps the connection open', async () => {
    await start();
    const id = await p.submitRemote();
    const foreign = await p.submitRemote({}, { tenant: 'other' });
    const c = await client();
    const bad = [
      'not json',
      JSON.stringify({ op: 'dance' }),
      JSON.stringify({ op: 'subscribe' }),
      JSON.stringify({ op: 'subscribe', tasks: 'abc' }),
      JSON.stringify({ op: 'subscribe', tasks: [id], extra: 1 }),
      JSON.stringify({ op: 'subscribe', tasks: [id], after: { other: 1 } }),
      JSON.stringify({ op: 'subscribe', tasks: [id, 't_missing'] }),
      JSON.stringify({ op: 'subscribe', tasks: [foreign] }),
      JSON.stringify(null),
    ];
    for (const m of bad) c.send(m);
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await waitFor(() => c.messages.filter((m) => m.type === 'error').length === bad.length + 1);
    const errors = c.messages.filter((m) => m.type === 'error').map((m) => m.error);
    expect(errors[0]).toEqual({ code: 'INVALID_REQUEST', message: 'message is not valid JSON' });
    expect(errors[1].message).toMatch(/message\.op/);
    expect(errors[3].message).toMatch(/message\.tasks: expected array/);
    expect(errors[4].message).toMatch(/message\.extra: unknown field/);
    expect(errors[6]).toEqual({ code: 'TASK_NOT_FOUND', message: expect.stringMatching(/^t_missing: /) });
    expect(errors[7].code).toBe('TASK_NOT_FOUND');
    expect(eventsOf(c.messages)).toEqual([]); // the half-valid subscribe subscribed nothing
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.send({ op: 'ping' });
    await c.waitFor((m) => m.type === 'pong');
    expect(p.bus.active).toBe(0);
  });

  it('closes the connection on a frame over 1 MiB (protocol abuse)', async () => {
    await start();
    const c = await client();
    const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
    c.ws.send('x'.repeat(1024 * 1024 + 1));
    expect(await closed).toBe(1009);
    // The server is still fine.
    const d = await client();
    d.send({ op: 'ping' });
    await d.waitFor((m) => m.type === 'pong');
  });

  it('coalesces progress for a slow client: the latest value arrives, nothing else is lost', async () => {
    await start({ wsHighWaterBytes: 16 * 1024 });
    const task = await p.startRemote(); // 1, 2
    const c = await client();
    c.send({ op: 'subscribe', tasks: [task.id] });
    await waitFor(() => eventsOf(c.messages).length === 2);
    c.ws.pause(); // the client stops reading: the server's socket backs up

    // Megabytes of log lines back the socket up while thousands of progress reports are stored.
    await task.send({ op: 'burst', total: 40_000, log_every: 20, pad: 'p'.repeat(2000), pause_every: 100 });
    const finalSeq = (await task.finish()).seq;
    const log = await p.log(task.id);
    c.ws.resume();
    await waitFor(() => eventsOf(c.messages).some((e) => e.seq === finalSeq), 20_000, 'the terminal event');

    const events = eventsOf(c.messages, task.id);
    const received = seqs(events);
    expect(received).toEqual([...received].sort((x, y) => x - y)); // in order
    expect(new Set(received).size).toBe(received.length); // no duplicates
    expect(events.filter((e) => e.type === 'log').map((e) => e.seq)).toEqual(log.filter((e) => e.type === 'log').map((e) => e.seq)); // every log kept
    const progress = events.filter((e) => e.type === 'progress');
    const storedProgress = log.filter((e) => e.type === 'progress');
    expect(storedProgress.length).toBeGreaterThan(100);
    expect(progress.length).toBeLessThan(storedProgress.length); // some were coalesced…
    expect(progress[progress.length - 1].data.fraction).toBe(1); // …and the latest arrived
    expect(events[events.length - 1]).toMatchObject({ type: 'state', data: { status: 'completed' } });
  });
});
