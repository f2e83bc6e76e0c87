/**
 * A bus that lost events and says so (Subscription.onGap, as the Redis bus does after an
 * outage): SSE and WebSocket task streams catch up from the store although no later event
 * reveals the gap — the lost events include the task's end — and the tenant-wide WebSocket
 * feed is told. The loss is the BusProbe's (events stored, never delivered); the signal is
 * made the way the bus makes it, through the subscriptions the API made.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { eventsOf, listen, openSse, openWs, seqsOf, waitFor, type WsClient } from './helpers.ts';
import { type Platform, setup } from './platform.ts';

let app: FastifyInstance;
let p: Platform;
let base: string;
const sockets: WsClient[] = [];

async function start(): Promise<void> {
  p = await setup();
  app = p.app;
  base = await listen(app);
}
afterEach(async () => {
  for (const c of sockets.splice(0)) await c.close();
  await p.close();
});

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** What the bus does when it may have lost events: tell every subscription that asked. */
const signalGap = () => {
  for (const sub of p.bus.subscriptions) sub.onGap?.();
};

describe('a bus gap (onGap)', () => {
  it('an SSE stream that is live reads the store to its end: the lost end of the task arrives and the stream ends', async () => {
    await start();
    const task = await p.startRemote(); // 1, 2
    const sse = await openSse(base, `/api/v1/tasks/${task.id}/events`);
    await waitFor(() => sse.frames.length === 2);
    await p.probe.settled(); // live
    p.bus.drop = (e) => e.task_id === task.id;
    await task.emit('log', { message: 'lost 1' }); // 3
    const last = (await task.finish()).seq; // 4 result, 5 succeeded: lost too
    await new Promise((r) => setTimeout(r, 50));
    expect(seqsOf(sse.frames)).toEqual([1, 2]); // nothing reveals the gap by itself
    p.bus.drop = null;
    signalGap();
    await sse.ended;
    expect(seqsOf(sse.frames)).toEqual(range(1, last));
  });

  it('an SSE stream told during a store read reads the store once more after it', async () => {
    await start();
    const task = await p.startRemote(); // 1, 2
    p.probe.networked = true;
    let reads = 0;
    // The replay's read has its snapshot ([1, 2]); then events are stored and lost, and the gap signalled.
    p.probe.after.readEvents = async (id) => {
      if (id !== task.id || reads++ > 0) return;
      p.bus.drop = (e) => e.task_id === task.id;
      await task.emit('log', { message: 'lost during the read' }); // 3
      await task.emit('log', { message: 'lost during the read' }); // 4
      p.bus.drop = null;
      signalGap();
    };
    const sse = await openSse(base, `/api/v1/tasks/${task.id}/events`);
    await waitFor(() => sse.frames.length === 4, 5000, 'the events lost during the read');
    expect(seqsOf(sse.frames)).toEqual([1, 2, 3, 4]);
    expect(reads).toBeGreaterThanOrEqual(2);
    delete p.probe.after.readEvents;
    const last = (await task.finish()).seq;
    await sse.ended;
    expect(seqsOf(sse.frames)).toEqual(range(1, last));
  });

  it('a WebSocket task subscription catches up from the store; the tenant-wide feed gets {"type":"gap"}', async () => {
    await start();
    const task = await p.startRemote(); // 1, 2
    const c = await openWs(base);
    sockets.push(c);
    c.send({ op: 'subscribe', tasks: [task.id] });
    c.send({ op: 'subscribe', all: true });
    await waitFor(() => eventsOf(c.messages, task.id).length === 2);
    await c.waitFor((m) => m.type === 'subscribed' && m.all === true);
    await p.probe.settled();
    p.bus.drop = (e) => e.task_id === task.id;
    await task.emit('progress', { fraction: 0.5 }); // 3
    const last = (await task.finish()).seq;
    p.bus.drop = null;
    await new Promise((r) => setTimeout(r, 50));
    expect(c.messages.some((m) => m.type === 'gap')).toBe(false);
    signalGap();
    await waitFor(() => eventsOf(c.messages, task.id).length === last, 5000, 'the task subscription to catch up');
    expect(eventsOf(c.messages, task.id).map((e: { seq: number }) => e.seq)).toEqual(range(1, last));
    const gaps = c.messages.filter((m) => m.type === 'gap');
    expect(gaps).toHaveLength(1);
    expect(typeof gaps[0].ts).toBe('number');
  });
});
