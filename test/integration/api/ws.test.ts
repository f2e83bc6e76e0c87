import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { FakeTaskService } from './fake-task-service.ts';
import { eventsOf, listen, openWs, setup, type WsClient, waitFor } from './helpers.ts';

let app: FastifyInstance;
let fake: FakeTaskService;
let base: string;
const clients: WsClient[] = [];

async function start(opts: { wsHighWaterBytes?: number } = {}): Promise<void> {
  ({ app, fake } = await setup(opts));
  base = await listen(app);
}
async function client(): Promise<WsClient> {
  const c = await openWs(base);
  clients.push(c);
  return c;
}
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await app.close();
});

const newTask = async (tenant = 'default'): Promise<string> => (await fake.submit({ tenant }, [{ script: 'a.py' }]))[0]?.task.id as string;
const seqs = (events: { seq: number }[]): number[] => events.map((e) => e.seq);

describe('WebSocket /api/v1/ws', () => {
  it('subscribes to one task: acknowledgement, replay, then live', async () => {
    await start();
    const id = await newTask();
    fake.transition(id, 'running');
    const c = await client();
    c.send({ op: 'subscribe', tasks: [id] });
    await waitFor(() => eventsOf(c.messages).length === 2);
    expect(c.messages[0]).toEqual({ type: 'subscribed', tasks: [id], all: false });
    fake.append(id, 'progress', { fraction: 0.5 });
    await waitFor(() => eventsOf(c.messages).length === 3);
    expect(eventsOf(c.messages)[2]).toEqual(fake.logs.get(id)?.[2]);
  });

  it('subscribes to many tasks and resumes each after its own seq', async () => {
    await start();
    const a = await newTask();
    const b = await newTask();
    for (let i = 0; i < 3; i++) {
      fake.append(a, 'log', { message: `a${i}` });
      fake.append(b, 'log', { message: `b${i}` });
    }
    const c = await client();
    c.send({ op: 'subscribe', tasks: [a, b], after: { [a]: 2 } });
    await waitFor(() => eventsOf(c.messages).length === 2 + 4);
    expect(seqs(eventsOf(c.messages, a))).toEqual([3, 4]);
    expect(seqs(eventsOf(c.messages, b))).toEqual([1, 2, 3, 4]);
    fake.append(b, 'log', { message: 'live' });
    fake.transition(a, 'succeeded');
    await waitFor(() => eventsOf(c.messages).length === 8);
    expect(seqs(eventsOf(c.messages, a))).toEqual([3, 4, 5]);
    expect(seqs(eventsOf(c.messages, b))).toEqual([1, 2, 3, 4, 5]);
  });

  it("subscribes to all of the tenant's tasks, live only", async () => {
    await start();
    const old = await newTask();
    const c = await client();
    c.send({ op: 'subscribe', all: true });
    await c.waitFor((m) => m.type === 'subscribed');
    const fresh = await newTask();
    const foreign = await newTask('other');
    fake.append(foreign, 'log', { message: 'not yours' });
    fake.append(old, 'log', { message: 'old task, new event' });
    await waitFor(() => eventsOf(c.messages).length === 2);
    expect(eventsOf(c.messages).map((e) => [e.task_id, e.seq])).toEqual([
      [fresh, 1],
      [old, 2],
    ]);

    c.send({ op: 'unsubscribe', all: true });
    await c.waitFor((m) => m.type === 'unsubscribed');
    fake.append(fresh, 'log', { message: 'after unsubscribe' });
    c.send({ op: 'ping' });
    await c.waitFor((m) => m.type === 'pong');
    expect(eventsOf(c.messages)).toHaveLength(2);
     // The engine is told who is asking (it enforces the tenant, whatever the filter says).
    expect(fake.subscribeCalls.map((s) => s.caller)).toEqual([{ tenant: 'default' }]);
  });

  it('never duplicates an event when a task and the whole tenant are both subscribed', async () => {
    await start();
    const id = await newTask();
    const c = await client();
    c.send({ op: 'subscribe', all: true });
    c.send({ op: 'subscribe', tasks: [id] });
    await waitFor(() => eventsOf(c.messages).length === 1);
    for (let i = 0; i < 5; i++) fake.append(id, 'log', { message: String(i) });
    fake.transition(id, 'succeeded'); // seq 7: ends the task subscription…
    fake.append(id, 'log', { message: 'late line' }); // …so seq 8 comes through the tenant feed
    await waitFor(() => eventsOf(c.messages).length === 8);
    await new Promise((r) => setTimeout(r, 20));
    expect(seqs(eventsOf(c.messages, id))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('resumes with after without gap or duplicate while events are being written', async () => {
    await start();
    const id = await newTask();
    for (let i = 0; i < 10; i++) fake.append(id, 'log', { message: String(i) }); // seq 2..11
    let reads = 0;
    fake.beforeRead = () => void (reads++ === 0 && fake.append(id, 'log', { message: 'before snapshot' }));
    fake.afterRead = () => void (reads === 1 && fake.append(id, 'log', { message: 'after snapshot' }));
    const c = await client();
    c.send({ op: 'subscribe', tasks: [id], after: { [id]: 6 } });
    await waitFor(() => eventsOf(c.messages).length === 7);
    fake.beforeRead = fake.afterRead = null;
    const last = fake.transition(id, 'succeeded').last_seq;
    await waitFor(() => eventsOf(c.messages).some((e) => e.seq === last));
    expect(seqs(eventsOf(c.messages))).toEqual(Array.from({ length: last - 6 }, (_, i) => 7 + i));
  });

  it('sends a live event in the same tick as its publish (no timer on the hot path)', async () => {
    await start();
    const id = await newTask();
    const c = await client();
    c.send({ op: 'subscribe', tasks: [id] });
    await waitFor(() => eventsOf(c.messages).length === 1);
    await fake.settled(); // replay done: the follower is live
    const [serverSide] = [...app.websocketServer.clients];
    const raw = (serverSide as unknown as { _socket: Socket })._socket;
    const before = raw.bytesWritten;
    fake.append(id, 'progress', { fraction: 0.5 });
    expect(raw.bytesWritten).toBeGreaterThan(before); // synchronously, before any await
    await waitFor(() => eventsOf(c.messages).length === 2);
  });

  it('stops a task subscription on unsubscribe', async () => {
    await start();
    const id = await newTask();
    const c = await client();
    c.send({ op: 'subscribe', tasks: [id] });
    await waitFor(() => eventsOf(c.messages).length === 1);
    c.send({ op: 'unsubscribe', tasks: [id] });
    await c.waitFor((m) => m.type === 'unsubscribed');
    fake.append(id, 'log', { message: 'x' });
    c.send({ op: 'ping' });
    await c.waitFor((m) => m.type === 'pong');
    expect(eventsOf(c.messages)).toHaveLength(1);
  });

  it('handles messages in order even though a subscribe awaits the engine', async () => {
    await start();
    const id = await newTask();
    const c = await client();
    c.send({ op: 'subscribe', tasks: [id] });
    c.send({ op: 'unsubscribe', tasks: [id] }); // must not overtake the subscribe
    c.send({ op: 'ping' });
    await c.waitFor((m) => m.type === 'pong');
    const controls = c.messages.filter((m) => m.type !== 'event').map((m) => m.type);
    expect(controls).toEqual(['subscribed', 'unsubscribed', 'pong']);
    await fake.settled();
    expect(fake.subscriptions).toBe(0);
    fake.append(id, 'log', { message: 'nobody listens' });
    c.send({ op: 'ping' });
    await waitFor(() => c.messages.filter((m) => m.type === 'pong').length === 2);
    expect(eventsOf(c.messages).every((e) => e.seq === 1)).toBe(true);
  });

  it('answers a flood of messages, all of them, in order (reading pauses and resumes)', async () => {
    await start();
    const id = await newTask();
    const get = fake.get.bind(fake);
    fake.get = async (caller, tid) => {
      await new Promise((r) => setTimeout(r, 20));
      return get(caller, tid);
    };
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
    const id = await newTask();
    const get = fake.get.bind(fake);
    let answered = false;
    fake.get = async (caller, tid) => {
      await new Promise((r) => setTimeout(r, 50));
      answered = true;
      return get(caller, tid);
    };
    const c = await client();
    c.send({ op: 'subscribe', tasks: [id] });
    c.send({ op: 'subscribe', all: true });
    await new Promise((r) => setTimeout(r, 10));
    await c.close();
    await waitFor(() => answered);
    await fake.settled();
    await new Promise((r) => setTimeout(r, 10));
    expect(fake.subscriptions).toBe(0);
  });

  it('answers bad messages with an error and keeps the connection open', async () => {
    await start();
    const id = await newTask();
    const c = await client();
    const bad = [
      'not json',
      JSON.stringify({ op: 'dance' }),
      JSON.stringify({ op: 'subscribe' }),
      JSON.stringify({ op: 'subscribe', tasks: 'abc' }),
      JSON.stringify({ op: 'subscribe', tasks: [id], extra: 1 }),
      JSON.stringify({ op: 'subscribe', tasks: [id], after: { other: 1 } }),
      JSON.stringify({ op: 'subscribe', tasks: [id, 't_missing'] }),
      JSON.stringify({ op: 'subscribe', tasks: [await newTask('other')] }),
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
    const id = await newTask();
    fake.transition(id, 'running'); // seq 2
    const c = await client();
    c.send({ op: 'subscribe', tasks: [id] });
    await waitFor(() => eventsOf(c.messages).length === 2);
    c.ws.pause(); // the client stops reading: the server's socket backs up

    const total = 40_000;
    const logSeqs: number[] = [];
    for (let i = 1; i <= total; i++) {
      if (i % 100 === 0) logSeqs.push(fake.append(id, 'log', { message: `step ${i}`, pad: 'p'.repeat(200) }).seq);
      fake.append(id, 'progress', { fraction: i / total, message: `step ${i} of ${total}` });
      if (i % 1000 === 0) await new Promise((r) => setImmediate(r)); // let the socket write
    }
    const finalSeq = fake.transition(id, 'succeeded').last_seq;
    c.ws.resume();
    await waitFor(() => eventsOf(c.messages).some((e) => e.seq === finalSeq), 20_000, 'the terminal event');

    const events = eventsOf(c.messages, id);
    const received = seqs(events);
    expect(received).toEqual([...received].sort((x, y) => x - y)); // in order
    expect(new Set(received).size).toBe(received.length); // no duplicates
    expect(events.filter((e) => e.type === 'log').map((e) => e.seq)).toEqual(logSeqs); // every log kept
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeLessThan(total); // some were coalesced…
    expect(progress[progress.length - 1].data.fraction).toBe(1); // …and the latest arrived
    expect(events[events.length - 1]).toMatchObject({ type: 'state', data: { status: 'succeeded' } });
  });
});
