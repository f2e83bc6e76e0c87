/**
 * The floor's API node (bench/lib/events-floor.ts): one plain XREAD BLOCK loop on the floor's
 * stream, as Lakeray's Redis bus reads its own, and a WebSocket server speaking the part of
 * Lakeray's `/api/v1/ws` protocol the subscribers use (`subscribe` to tasks or `all`, `ping`;
 * `subscribed`, `event`, `pong`). Each event is serialized once and written to its task's
 * sockets and the all-watchers', the sockets corked for the read's whole batch (as
 * src/api/ws.ts does). Nothing else: no auth, no tenant filter, no replay, no gap handling.
 *
 * argv: redis url. stdout: {"url": "http://127.0.0.1:<port>"} once listening.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';

const [redisUrl] = process.argv.slice(2) as [string];
const STREAM = 'floor:events';

const TEXT = { binary: false } as const;
const byTask = new Map<string, Set<WebSocket>>();
const all = new Set<WebSocket>();

const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, path: '/api/v1/ws' });
wss.on('connection', (ws) => {
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw)) as { op: string; tasks?: string[]; all?: boolean };
    if (msg.op === 'ping') return ws.send('{"type":"pong"}');
    if (msg.op !== 'subscribe') return;
    if (msg.all) all.add(ws);
    for (const id of msg.tasks ?? []) {
      let set = byTask.get(id);
      if (!set) byTask.set(id, (set = new Set()));
      set.add(ws);
    }
    ws.send(JSON.stringify({ type: 'subscribed', tasks: msg.tasks ?? [], all: msg.all === true }));
  });
  ws.on('close', () => {
    all.delete(ws);
    for (const set of byTask.values()) set.delete(ws);
  });
});

const reader = new Redis(redisUrl, { protocol: 2, maxRetriesPerRequest: null });
// From the stream's start: it is this run's own (a fresh Redis), and '$' would miss what is
// added between a read that timed out and the next.
let lastId = '0';

async function read(): Promise<void> {
  for (;;) {
    const reply = (await reader.xread('COUNT', 1000, 'BLOCK', 5000, 'STREAMS', STREAM, lastId)) as [string, [string, string[]][]][] | null;
    if (!reply) continue;
    const corked = new Set<WebSocket>();
    for (const [id, fields] of reply[0]![1]) {
      lastId = id;
      const events = JSON.parse(fields[fields.indexOf('e') + 1]!) as { task_id: string }[];
      for (const event of events) {
        const frame = Buffer.from(`{"type":"event","event":${JSON.stringify(event)}}`);
        for (const set of [byTask.get(event.task_id), all]) {
          if (!set) continue;
          for (const ws of set) {
            if (!corked.has(ws)) {
              corked.add(ws);
              (ws as unknown as { _socket: { cork(): void } })._socket.cork();
            }
            ws.send(frame, TEXT);
          }
        }
      }
    }
    for (const ws of corked) (ws as unknown as { _socket: { uncork(): void } })._socket.uncork();
  }
}

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
  void read();
});
