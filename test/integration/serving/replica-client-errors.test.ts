/**
 * ReplicaClient's failure mapping against a real HTTP server standing in for a misbehaving
 * replica on the frame channel (runtimes/serving/protocol.mjs): a FAILED answer and an
 * unreadable one are 'internal', a server that will not open the channel is 'internal', an abort
 * is the caller's reason, a socket closed before the answer and a server that is gone are
 * 'lost', and the channel opens again after it broke. Answers out of order reach their callers.
 * (REJECTED → 'rejected' is covered with the real replica in replica.test.ts.)
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_UPGRADE, decodeFrame, encodeFrame, KIND, MessageReader, writeMessage, type ChannelMessage } from '../../../runtimes/serving/protocol.mjs';
import { ReplicaClient } from '../../../src/serving/local/replica-client.ts';
import { freePort } from '../../helpers/server-process.ts';

let server: http.Server;
let url: string;
let client: ReplicaClient;
let upgrades = 0;
const one = (v: number) => ({ x: { dtype: 'float32' as const, shape: [1, 2], data: Float32Array.from([v, v]) } });

/** What the stand-in does with request `x = [v, v]`. */
const behave = (socket: Socket, m: ChannelMessage, held: ChannelMessage[]): void => {
  const v = (decodeFrame(m.body).x!.data as Float32Array)[0]!;
  if (v === 1) return writeMessage(socket, m.id, KIND.FAILED, Buffer.from('onnxruntime failed: out of memory'));
  if (v === 2) return writeMessage(socket, m.id, KIND.OK, Buffer.from('not a frame'));
  if (v === 3) return void socket.destroy(); // the process died mid-batch
  if (v === 4) return void held.push(m); // answered after the next one
  const answer = (r: ChannelMessage, value: number) =>
    writeMessage(socket, r.id, KIND.OK, encodeFrame({ y: { dtype: 'float32', shape: [1], data: Float32Array.from([value]) } }, 'outputs'));
  answer(m, v * 10);
  for (const h of held.splice(0)) answer(h, 40);
};

beforeAll(async () => {
  server = http.createServer((_req, res) => res.end('{}'));
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    if (req.headers.upgrade !== CHANNEL_UPGRADE) return void socket.destroy();
    upgrades += 1;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${CHANNEL_UPGRADE}\r\nconnection: Upgrade\r\n\r\n`);
    const held: ChannelMessage[] = [];
    const reader = new MessageReader((m) => behave(socket, m, held));
    socket.on('data', (c: Buffer) => reader.push(c));
    reader.push(head);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new ReplicaClient({ id: 'r9', url });
});

afterAll(async () => {
  await client.close();
  server.closeAllConnections();
  server.close();
});

describe('ReplicaClient failures', () => {
  it("maps FAILED and an unreadable answer to 'internal', and an aborted call to the caller's reason", async () => {
    await expect(client.infer(one(1))).rejects.toMatchObject({ name: 'ReplicaError', failure: 'internal', message: 'onnxruntime failed: out of memory' });
    await expect(client.infer(one(2))).rejects.toMatchObject({ failure: 'internal', message: expect.stringContaining('replica r9 sent an unreadable answer') });
    const reason = new Error('deadline passed');
    await expect(client.infer(one(5), AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(upgrades).toBe(1); // one channel for all of them
  });

  it('gives each caller its own answer when they come out of order', async () => {
    const [late, early] = await Promise.all([client.infer(one(4)), client.infer(one(6))]);
    expect(Array.from(late.y!.data as Float32Array)).toEqual([40]);
    expect(Array.from(early.y!.data as Float32Array)).toEqual([60]);
  });

  it("calls a channel closed before the answer 'lost', and opens a new one for the next call", async () => {
    const before = upgrades;
    const waiting = client.infer(one(7)); // held by nothing: answered at once
    const dying = client.infer(one(3));
    await expect(waiting).resolves.toBeDefined();
    await expect(dying).rejects.toMatchObject({ name: 'ReplicaError', failure: 'lost' });
    const again = await client.infer(one(8));
    expect(Array.from(again.y!.data as Float32Array)).toEqual([80]);
    expect(upgrades).toBe(before + 1);
  });

  it("calls a server that will not open the channel 'internal', and one that is gone 'lost'", async () => {
    const plain = http.createServer((_req, res) => res.writeHead(502).end('bad gateway'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const refusing = new ReplicaClient({ id: 'r11', url: `http://127.0.0.1:${(plain.address() as AddressInfo).port}` });
    await expect(refusing.infer(one(5))).rejects.toMatchObject({ failure: 'internal', message: 'replica r11 answered 502 instead of opening the frame channel' });
    await refusing.close();
    plain.close();

    const gone = new ReplicaClient({ id: 'r10', url: `http://127.0.0.1:${await freePort()}` }); // nothing listens there
    await expect(gone.infer(one(5))).rejects.toMatchObject({ name: 'ReplicaError', failure: 'lost' });
    await gone.close();
  });
});
