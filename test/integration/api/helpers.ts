/** Shared pieces of the API tests: a valid task, waiting, SSE and WebSocket clients. */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';

/** A task of scripts/ that keeps its slot until cancelled. */
export const validTask = { script: 'hold.mjs', params: { epochs: 2 }, resources: { cpu: 1, gpu: 0 } };

export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
}

export interface SseClient {
  status: number;
  headers: IncomingMessage['headers'];
  frames: SseFrame[];
  /** `event: queue` frames (queue positions, not part of the event log) are kept apart. */
  queue: SseFrame[];
  comments: string[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
  /** Stop reading (the server's socket backs up) / read again. */
  pause(): void;
  resume(): void;
}

export function openSse(base: string, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`http://${base}${path}`, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const frames: SseFrame[] = [];
      const queue: SseFrame[] = [];
      const comments: string[] = [];
      let text = '';
      res.setEncoding('utf8');
      const ended = new Promise<void>((done) => res.on('end', done).on('close', done));
      res.on('data', (chunk: string) => {
        text += chunk;
        let at: number;
        while ((at = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, at);
          text = text.slice(at + 2);
          const frame: SseFrame = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) frame.id = line.slice(4);
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) frame.data = line.slice(6);
          }
          if (frame.data !== undefined) (frame.event === 'queue' ? queue : frames).push(frame);
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        frames,
        queue,
        comments,
        ended,
        close: () => req.destroy(),
        pause: () => res.pause(),
        resume: () => res.resume(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export const seqsOf = (frames: readonly SseFrame[]): number[] => frames.map((f) => Number(f.id));

// Messages are JSON from the server; tests assert on their shape.
export type WsMessage = any;

export interface WsClient {
  ws: WebSocket;
  messages: WsMessage[];
  send(msg: unknown): void;
  waitFor(pred: (m: WsMessage) => boolean, timeoutMs?: number): Promise<WsMessage>;
  close(): Promise<void>;
}

export async function openWs(base: string): Promise<WsClient> {
  const ws = new WebSocket(`ws://${base}/api/v1/ws`);
  const messages: WsMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return {
    ws,
    messages,
    send: (msg) => ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg)),
    async waitFor(pred, timeoutMs = 5000) {
      let found: WsMessage;
      await waitFor(() => (found = messages.find(pred)) !== undefined, timeoutMs, 'a WebSocket message');
      return found;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
}

export const eventsOf = (messages: readonly WsMessage[], taskId?: string): WsMessage[] =>
  messages.filter((m) => m.type === 'event' && (taskId === undefined || m.event.task_id === taskId)).map((m) => m.event);
