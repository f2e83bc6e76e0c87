/**
 * The test's end of scripts/remote.mjs: a TCP server the remote tasks connect to, and a
 * handle per running task that makes its script report events (each call resolves with the
 * event as the engine stored and published it) or end. This is how the API tests control
 * when a real task runs, reports and finishes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { EventType, TaskEvent } from '../../../src/domain/events.ts';
import { TERMINAL, type TaskStatus } from '../../../src/domain/task.ts';
import type { BusProbe } from './probes.ts';
import { waitFor } from './helpers.ts';

export interface Remote {
  readonly id: string;
  /** The script sends this command and answers once it has run it. */
  send(cmd: Record<string, unknown>): Promise<void>;
  /** Make the script report one event; resolves with it as published (seq assigned). */
  emit(type: 'log' | 'progress' | 'metric', data: Record<string, unknown>): Promise<TaskEvent>;
  /** run() returns (or throws, with `error`); resolves with the task's terminal state event. */
  finish(result?: unknown): Promise<TaskEvent>;
  fail(message: string): Promise<TaskEvent>;
}

const matches = (e: TaskEvent, type: EventType, data: Record<string, unknown>): boolean =>
  e.type === type && Object.entries(data).every(([k, v]) => e.data[k] === v);

export class RemoteControl {
  private readonly server: Server;
  private readonly sockets = new Map<string, Socket>();
  private readonly acks = new Map<number, () => void>();
  private nextId = 1;
  port = 0;

  constructor(private readonly bus: BusProbe) {
    this.server = createServer((socket) => {
      socket.setNoDelay(true);
      let text = '';
      socket.setEncoding('utf8');
      socket.on('error', () => {});
      socket.on('data', (chunk: string) => {
        text += chunk;
        let at: number;
        while ((at = text.indexOf('\n')) >= 0) {
          const msg = JSON.parse(text.slice(0, at)) as { task?: string; ack?: number };
          text = text.slice(at + 1);
          if (msg.task !== undefined) this.sockets.set(msg.task, socket);
          if (msg.ack !== undefined) this.acks.get(msg.ack)?.();
        }
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** The remote of a task, once its script is running and connected. */
  async attach(id: string, timeoutMs = 20_000): Promise<Remote> {
    await waitFor(() => this.sockets.has(id), timeoutMs, `task ${id}'s script to connect`);
    const socket = this.sockets.get(id) as Socket;
    const published = () => this.bus.published(id);
    const send = (cmd: Record<string, unknown>, ack = true): Promise<void> => {
      const id = this.nextId++;
      const done = ack ? new Promise<void>((resolve) => this.acks.set(id, resolve)) : Promise.resolve();
      socket.write(`${JSON.stringify({ ...cmd, id })}\n`);
      return done.finally(() => this.acks.delete(id));
    };
    const next = async (from: number, what: string, pred: (e: TaskEvent) => boolean): Promise<TaskEvent> => {
      let found: TaskEvent | undefined;
      await waitFor(() => (found = published().slice(from).find(pred)) !== undefined, 20_000, what);
      return found as TaskEvent;
    };
    const end = async (cmd: Record<string, unknown>): Promise<TaskEvent> => {
      const from = published().length;
      await send(cmd, false);
      return next(from, `task ${id} to end`, (e) => e.type === 'state' && TERMINAL.has(e.data.status as TaskStatus));
    };
    return {
      id,
      send: (cmd) => send(cmd),
      async emit(type, data) {
        const from = published().length;
        await send({ op: type, ...data });
        return next(from, `task ${id}'s ${type} event`, (e) => matches(e, type, data));
      },
      finish: (value) => end({ op: 'return', value }),
      fail: (message) => end({ op: 'throw', message }),
    };
  }

  async close(): Promise<void> {
    for (const s of this.sockets.values()) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
