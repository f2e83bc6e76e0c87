/**
 * ReplicaClient's failure mapping against a real HTTP server standing in for a misbehaving
 * replica: 5xx and unreadable answers are 'internal', an abort is the caller's reason, and a
 * server that is gone is 'lost'. (400 → 'rejected' is covered with the real replica in replica.test.ts.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaClient } from '../../../src/serving/local/replica-client.ts';
import { freePort } from '../../helpers/server-process.ts';

let server: http.Server;
let client: ReplicaClient;
const one = { x: { dtype: 'float32' as const, shape: [1, 2], data: Float32Array.from([1, 2]) } };

beforeAll(async () => {
  let calls = 0;
  server = http.createServer((req, res) => {
    req.resume();
    calls += 1;
    if (calls === 1) {
      res.writeHead(500, { 'content-type': 'application/json' });
      return res.end('{"error":{"code":"INFERENCE_FAILED","message":"onnxruntime failed: out of memory"}}');
    }
    if (calls === 2) return res.end('not a frame'); // 200, but not a frame
    res.writeHead(502);
    res.end('bad gateway');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new ReplicaClient({ id: 'r9', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});

afterAll(async () => {
  await client.close();
  server.close();
});

describe('ReplicaClient failures', () => {
  it("maps a 500 to 'internal' with the replica's message, and an aborted call to the caller's reason", async () => {
    await expect(client.infer(one)).rejects.toMatchObject({ name: 'ReplicaError', failure: 'internal', message: 'onnxruntime failed: out of memory' });
    await expect(client.infer(one)).rejects.toMatchObject({ failure: 'internal', message: expect.stringContaining('replica r9 sent an unreadable answer') });
    await expect(client.infer(one)).rejects.toMatchObject({ failure: 'internal', message: 'the replica answered 502: bad gateway' });
    const reason = new Error('deadline passed');
    await expect(client.infer(one, AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it("calls a server that is gone 'lost'", async () => {
    const gone = new ReplicaClient({ id: 'r10', url: `http://127.0.0.1:${await freePort()}` }); // nothing listens there
    await expect(gone.infer(one)).rejects.toMatchObject({ name: 'ReplicaError', failure: 'lost' });
    await gone.close();
  });
});
