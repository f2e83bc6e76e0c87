// bench/sessions.ts reads cross-session batching two ways, and both rest on the load generator's
// mode "sessions" keeping exactly `window` chunks unanswered per session: 1 (lock-step) or the
// whole input (a stream). A real HTTP + WebSocket server that answers a session's chunks one at a
// time, in order, 2 ms each, records how many chunks each stream had unanswered at most.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { sessionLoad } from '../../../bench/serving-lib.ts';

describe('bench: the sessions load generator keeps `window` chunks in flight per session', () => {
  let server: http.Server;
  let url: string;
  const maxInFlight: number[] = [];
  const eofs: number[] = [];
  beforeAll(async () => {
    let sessions = 0;
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ session_id: `s${sessions++}` }));
      });
    });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => {
      const k = maxInFlight.push(0) - 1;
      let inFlight = 0;
      let answered = 0;
      let chain = Promise.resolve();
      ws.on('message', (data, binary) => {
        if (!binary) {
          eofs.push(answered);
          ws.close();
          return;
        }
        inFlight += 1;
        maxInFlight[k] = Math.max(maxInFlight[k]!, inFlight);
        // One chunk at a time, like a session's chain in the gateway: each answer 2 ms after the previous one.
        chain = chain.then(() => new Promise<void>((resolve) => setTimeout(() => {
          inFlight -= 1;
          ws.send(JSON.stringify({ chunk: answered++, outputs: {} }));
          resolve();
        }, 2)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  for (const window of [1, 4, 10]) {
    it(`window ${window}: every chunk answered once, at most ${window} unanswered, EOF after the last answer`, async () => {
      maxInFlight.length = 0;
      eofs.length = 0;
      const r = await sessionLoad({ url, deployment: 'd', sessions: 3, chunks: 10, chunkFloats: 28, window });
      expect(r.failed).toBe(0);
      expect(r.n).toBe(30);
      // Never more than `window`; and the window is filled (all sent in one turn, each answer 2 ms later).
      expect(maxInFlight.every((m) => m <= window)).toBe(true);
      expect(Math.max(...maxInFlight)).toBe(window);
      expect(eofs).toEqual([10, 10, 10]);
      // Latency runs from each chunk's own send: with the whole input sent at once, the last
      // chunk waited for the nine before it (2 ms each, timers at least that late).
      if (window === 10) expect(r.p99_ms).toBeGreaterThanOrEqual(18);
    }, 30_000);
  }
});
