/** A webhook receiver on 127.0.0.1 for the outbox tests: records every request; can start late on a fixed port. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: { id: string; event: string; task_id: string; data: Record<string, unknown> };
}

export interface Receiver {
  received: Received[];
  close(): Promise<void>;
}

/** Listens on `port`; answers 204 after `delayMs` (a slow receiver keeps deliveries in flight). */
export async function startReceiver(port: number, delayMs = 0): Promise<Receiver> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      setTimeout(() => res.writeHead(204).end(), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Delivery id → how many times it arrived. */
export const arrivals = (received: readonly Received[]): Map<string, number> => {
  const n = new Map<string, number>();
  for (const r of received) n.set(r.body.id, (n.get(r.body.id) ?? 0) + 1);
  return n;
};
