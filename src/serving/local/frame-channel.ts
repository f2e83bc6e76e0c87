/**
 * The client end of a replica's frame channel (runtimes/serving/protocol.mjs): one socket,
 * upgraded from `GET /frames`, carrying numbered requests and their answers. Opened on first
 * use and again after it closes; when it closes, every call still waiting fails as 'lost'.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { CHANNEL_PATH, CHANNEL_UPGRADE, KIND, MessageReader, writeMessage, type ChannelMessage } from '../../../runtimes/serving/protocol.mjs';
import { ReplicaError } from '../types.ts';

interface Waiting {
  resolve(m: ChannelMessage): void;
  reject(err: unknown): void;
}

/** ids wrap at 2^32 (the wire field); far more than ever wait at once. */
const MAX_ID = 0xffff_ffff;

export class FrameChannel {
  private socket: Promise<Socket> | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly url: URL,
    /** For messages: "replica r1". */
    private readonly name: string,
  ) {}

  /** The answer to one request (kind OK, REJECTED or FAILED); ReplicaError('lost') if the channel breaks. */
  async request(body: Buffer, signal?: AbortSignal): Promise<ChannelMessage> {
    if (signal?.aborted) throw signal.reason;
    const socket = await this.open();
    if (signal?.aborted) throw signal.reason;
    const id = (this.nextId = this.nextId === MAX_ID ? 1 : this.nextId + 1);
    return new Promise<ChannelMessage>((resolve, reject) => {
      // An abort forgets the request; its answer, when it comes, finds no one waiting.
      const onAbort = () => {
        this.waiting.delete(id);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.waiting.set(id, {
        resolve: (m) => (done(), resolve(m)),
        reject: (e) => (done(), reject(e)),
      });
      writeMessage(socket, id, KIND.REQUEST, body);
    });
  }

  close(): void {
    this.closed = true;
    void this.socket?.then((s) => s.destroy(), () => undefined);
    this.socket = null;
    this.failAll('the channel was closed');
  }

  private open(): Promise<Socket> {
    if (this.closed) return Promise.reject(new ReplicaError('lost', `${this.name} is closed`));
    this.socket ??= this.connect();
    return this.socket;
  }

  private connect(): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const req = http.request({
        host: this.url.hostname,
        port: this.url.port,
        path: CHANNEL_PATH,
        agent: false,
        headers: { connection: 'Upgrade', upgrade: CHANNEL_UPGRADE },
      });
      const fail = (err: ReplicaError) => {
        this.socket = null;
        reject(err);
      };
      req.once('error', (err) => fail(new ReplicaError('lost', `${this.name} is unreachable: ${err.message}`)));
      req.once('response', (res) => {
        res.resume();
        fail(new ReplicaError('internal', `${this.name} answered ${res.statusCode} instead of opening the frame channel`));
      });
      req.once('upgrade', (_res, socket: Socket, head: Buffer) => {
        socket.setNoDelay(true);
        const reader = new MessageReader((m) => {
          const w = this.waiting.get(m.id);
          this.waiting.delete(m.id);
          w?.resolve(m);
        });
        const onData = (chunk: Buffer) => {
          try {
            reader.push(chunk);
          } catch (err) {
            socket.destroy(err as Error);
          }
        };
        socket.on('data', onData);
        socket.on('error', () => undefined); // 'close' follows and says what matters
        socket.once('close', () => {
          if (this.socket !== null && !this.closed) this.socket = null;
          this.failAll('its connection closed (the process is gone or stopping)');
        });
        onData(head);
        resolve(socket);
      });
      req.end();
    });
  }

  private failAll(why: string): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(new ReplicaError('lost', `${this.name}: ${why}`));
  }
}
