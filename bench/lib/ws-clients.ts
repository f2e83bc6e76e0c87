/**
 * The events benchmark's subscribers, in their own process so they do not share the server's
 * event loop: `clients` WebSockets each watching one task (spread evenly) plus one watching
 * every task of the tenant. Each progress message carries its emit time (ms) as its text;
 * latency = receive time − emit time. Prints one JSON summary line when `until` has passed
 * and, given `expected` (the deliveries the run should make), once that many arrived or
 * LATE_GRACE_MS after `until`: an event later than `until` counts as `late` (and its latency
 * counts), one that never came is missing from `delivered`, so late is told from lost.
 * argv: url (or comma-separated urls of several API nodes: the subscribers are spread over them
 * in turn, the one watching everything on the first), comma-separated task ids, clients,
 * until (epoch ms), steady from, steady to (epoch ms), expected (optional)
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { summarize } from './stats.ts';

const [urlList, idList, clientsArg, untilArg, steadyFromArg, steadyToArg, expectedArg] = process.argv.slice(2) as [string, string, string, string, string, string, string?];
const expected = Number(expectedArg ?? NaN);
const LATE_GRACE_MS = 30_000;
// Emit times in [steadyFrom, steadyTo) are the steady state: all tasks running, none starting or ending.
const steadyFrom = Number(steadyFromArg ?? 0);
const steadyTo = Number(steadyToArg ?? Infinity);
const steady: number[] = [];
const ids = idList.split(',');
const urls = urlList.split(',');
const clients = Number(clientsArg);
const until = Number(untilArg);
const now = () => performance.timeOrigin + performance.now();

const latencies: number[] = [];
// The stored event's ts is the scheduler's clock when the script's line reached it (same
// machine): it splits each latency into script → scheduler and scheduler → client.
const toScheduler: number[] = [];
const fromScheduler: number[] = [];
const pingRtts: number[] = [];
let pingSentAt = 0;
let delivered = 0;
let late = 0;
let errors = 0;
const sockets: WebSocket[] = [];

const open = (subscribe: Record<string, unknown>, url: string) =>
  new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/api/v1/ws`);
    sockets.push(ws);
    ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', ...subscribe })));
    ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw));
      if (msg.type === 'pong') {
        if (now() < until) pingRtts.push(now() - pingSentAt);
        return;
      }
      if (msg.type === 'subscribed') return resolve();
      if (msg.type === 'error') {
        errors++;
        return reject(new Error(JSON.stringify(msg.error)));
      }
      if (msg.type !== 'event' || msg.event.type !== 'progress') return;
      const emitted = Number(msg.event.data.message);
      if (!Number.isFinite(emitted)) return;
      delivered++;
      if (now() >= until) late++;
      const latency = now() - emitted;
      latencies.push(latency);
      toScheduler.push(msg.event.ts - emitted);
      fromScheduler.push(now() - msg.event.ts);
      if (emitted >= steadyFrom && emitted < steadyTo) steady.push(latency);
    });
    ws.on('error', reject);
  });

const pending: Promise<void>[] = [];
// A task's subscribers alternate between the nodes (client i watches task i mod tasks).
for (let i = 0; i < clients; i++) pending.push(open({ tasks: [ids[i % ids.length]] }, urls[(i + Math.floor(i / ids.length)) % urls.length] as string));
pending.push(open({ all: true }, urls[0] as string));
await Promise.all(pending);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

// This process's own event-loop delay while it measures: a message waiting here to be read
// counts in its latency (and in the ping's), though no server is slow.
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();

// Baseline: the transport alone — an application-level ping/pong over one of these sockets,
// through the same server under the same load, every 50 ms.
const pinger = sockets[sockets.length - 1] as WebSocket;
const pings = setInterval(() => {
  pingSentAt = now();
  pinger.send('{"op":"ping"}');
}, 50);
await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));
clearInterval(pings);
loop.disable();
const clientLoop = { p50_ms: loop.percentile(50) / 1e6, p99_ms: loop.percentile(99) / 1e6, max_ms: loop.max / 1e6 };
// Late events still arrive: wait for them (up to LATE_GRACE_MS), so a slow tail is not taken for a loss.
while (Number.isFinite(expected) && delivered < expected && Date.now() < until + LATE_GRACE_MS) await new Promise((r) => setTimeout(r, 50));
for (const ws of sockets) ws.terminate();
process.stdout.write(`${JSON.stringify({ ...summarize(latencies), delivered, late, errors, ping: summarize(pingRtts), steady: summarize(steady), to_scheduler: summarize(toScheduler), from_scheduler: summarize(fromScheduler), client_loop: clientLoop })}\n`);
process.exit(0);
