/**
 * WebSocket /api/v1/ws — live task events for dashboards and clients watching many tasks.
 *
 * Client → server (JSON text frames):
 *   {"op":"subscribe","tasks":["id",…],"after":{"id":seq}}   replay after seq (default 0), then live
 *   {"op":"subscribe","all":true}                             every task of the caller's tenant, live only
 *   {"op":"unsubscribe","tasks":[…]} · {"op":"unsubscribe","all":true} · {"op":"ping"}
 * Server → client:
 *   {"type":"event","event":TaskEvent} · {"type":"subscribed","tasks":[…],"all":bool}
 *   {"type":"queue","task_id","position","ts"}   a subscribed queued task's queue position,
 *       when it changed (queue-watch.ts); not part of the stored log (no seq), so it never
 *       moves a client's resume point
 *   {"type":"unsubscribed",…} · {"type":"pong"} · {"type":"error","error":{"code","message"}}
 *   {"type":"gap","ts"}   the tenant-wide feed (`all`) may have missed events (the event bus
 *       lost some: Redis was away); task subscriptions catch up from the store by themselves,
 *       a client of `all` re-reads what it needs (GET /api/v1/tasks)
 *
 * A bad message gets an error message and the connection stays open; only protocol abuse
 * closes it (frames over 1 MiB: 1009; a client too slow even for coalesced events: 1013 —
 * it reconnects and resumes with `after`). Task subscriptions follow feed.ts (no gap, no
 * duplicate between replay and live) and end on their own after the task's terminal state.
 * Delivery goes through one Outbox per connection: direct while the socket keeps up,
 * queued with progress coalesced per task while its bufferedAmount is over the high-water mark.
 * Client messages are handled one at a time, in order (a subscribe awaits the engine; an
 * unsubscribe sent right after it must not overtake it); while many wait, the socket stops
 * reading so a flooding client cannot queue work without bound.
 */
import type { Socket } from 'node:net';
import type { FastifyPluginAsync } from 'fastify';
import { WebSocket } from 'ws';
import { z } from 'zod';
import type { TaskEvent } from '../domain/events.ts';
import { LakerayError } from '../domain/errors.ts';
import type { Caller, TaskService } from '../engine/task-service.ts';
import { callerOf } from './caller.ts';
import { TaskFollower } from './feed.ts';
import { Outbox } from './outbox.ts';
import { wsOnlyRoute } from './ws-route.ts';
import { describeIssues, toApiError } from './plugins/errors.ts';
import type { QueueWatch } from './queue-watch.ts';

export const WS_MAX_FRAME = 1024 * 1024;
const MAX_SUBSCRIPTIONS = 10_000;
const MAX_QUEUED = 50_000;
const KEEPALIVE_MS = 30_000;
// With this many client messages waiting to be handled the socket stops reading; below half, it reads again.
const MAX_PENDING = 64;

const taskIds = z.array(z.string().min(1).max(200)).min(1).max(1000);

const clientMessage = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('subscribe'),
      tasks: taskIds.optional(),
      all: z.literal(true).optional(),
      after: z.record(z.string(), z.number().int().nonnegative()).optional(),
    })
    .strict(),
  z.object({ op: z.literal('unsubscribe'), tasks: taskIds.optional(), all: z.literal(true).optional() }).strict(),
  z.object({ op: z.literal('ping') }).strict(),
]);
type ClientMessage = z.output<typeof clientMessage>;

type Outgoing = { event: TaskEvent } | { control: Record<string, unknown> };

export interface WsOptions {
  tasks: TaskService;
  /** Queue (and coalesce) once a socket holds more than this many unsent bytes. */
  highWaterBytes: number;
  /** Queue position pushes for subscribed queued tasks (none without it). */
  queueWatch?: QueueWatch;
}

/**
 * One event goes to many sockets (every watcher of the task, plus tenant-wide ones): the bus
 * hands each the same object, so its message is serialized and UTF-8 encoded once, and the
 * same bytes are written to every socket (sent as a text frame).
 */
const frames = new WeakMap<TaskEvent, Buffer>();
const eventFrame = (event: TaskEvent): Buffer => {
  let frame = frames.get(event);
  if (frame === undefined) frames.set(event, (frame = Buffer.from(`{"type":"event","event":${JSON.stringify(event)}}`)));
  return frame;
};
const TEXT = { binary: false } as const;

/**
 * Sockets corked in this turn of the event loop; one callback at its end uncorks them all.
 * A burst (many tasks reporting at once, or a replay) sends many frames to a socket: held
 * until the end of the turn, they leave in one write system call instead of one per frame.
 */
const corked: Socket[] = [];
const uncorkAll = (): void => {
  for (const raw of corked.splice(0)) raw.uncork(); // a socket corked meanwhile waits for its own turn's end
};
const corkForThisTurn = (raw: Socket | undefined): void => {
  if (!raw || raw.writableCorked > 0) return; // already held (ws corks only within a send)
  if (corked.length === 0) process.nextTick(uncorkAll);
  corked.push(raw);
  raw.cork();
};

class Connection {
  private readonly follows = new Map<string, TaskFollower>();
  /** Unwatch functions of the subscribed tasks that are queued. */
  private readonly queueWatches = new Map<string, () => void>();
  private unsubscribeAll: (() => void) | null = null;
  private readonly outbox: Outbox<Outgoing>;
  private readonly keepalive: NodeJS.Timeout;
  private alive = true;
  private closed = false;
  /** Client messages are handled in order, one at a time: this is the tail of that chain. */
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private paused = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly tasks: TaskService,
    private readonly caller: Caller,
    highWaterBytes: number,
    private readonly queueWatch?: QueueWatch,
  ) {
    const afterSend = (err?: Error) => {
      if (!err) this.outbox.flush();
    };
    this.outbox = new Outbox<Outgoing>(
      {
        writable: () => socket.readyState === WebSocket.OPEN && socket.bufferedAmount <= highWaterBytes,
        // Each send's callback fires when its bytes left for the kernel: that is our "drain".
        write: (item) => {
          corkForThisTurn((socket as unknown as { _socket?: Socket })._socket);
          if ('event' in item) socket.send(eventFrame(item.event), TEXT, afterSend);
          else socket.send(JSON.stringify(item.control), afterSend);
        },
      },
      {
        keyOf: (item) => ('event' in item && item.event.type === 'progress' ? item.event.task_id : null),
        maxQueued: MAX_QUEUED,
        onOverflow: () => socket.close(1013, 'client too slow; reconnect and resume with "after"'),
      },
    );
    socket.on('message', (data, isBinary) => this.enqueue(data, isBinary));
    socket.on('pong', () => (this.alive = true));
    socket.on('close', () => this.dispose());
    // Dead peers (laptop lid closed) never send a close frame; ping them out.
    this.keepalive = setInterval(() => {
      if (!this.alive) return void socket.terminate();
      this.alive = false;
      socket.ping();
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  private control(msg: Record<string, unknown>): void {
    this.outbox.push({ control: msg });
  }

  private fail(code: string, message: string): void {
    this.control({ type: 'error', error: { code, message } });
  }

  private enqueue(data: WebSocket.RawData, isBinary: boolean): void {
    this.pending++;
    if (this.pending >= MAX_PENDING && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.queue = this.queue
      .then(() => (this.closed ? undefined : this.onMessage(data, isBinary)))
      .catch(() => {}) // onMessage reports its own errors; never break the chain
      .finally(() => {
        this.pending--;
        if (this.paused && this.pending < MAX_PENDING / 2 && !this.closed) {
          this.paused = false;
          this.socket.resume();
        }
      });
  }

  private async onMessage(data: WebSocket.RawData, isBinary: boolean): Promise<void> {
    if (isBinary) return this.fail('INVALID_REQUEST', 'binary frames are not supported; send JSON text');
    let raw: unknown;
    try {
      raw = JSON.parse(String(data));
    } catch {
      return this.fail('INVALID_REQUEST', 'message is not valid JSON');
    }
    const parsed = clientMessage.safeParse(raw);
    if (!parsed.success) {
      const op = (raw as { op?: unknown } | null)?.op;
      if (!['subscribe', 'unsubscribe', 'ping'].includes(op as string))
        return this.fail('INVALID_REQUEST', 'message.op: expected "subscribe", "unsubscribe" or "ping"');
      return this.fail('INVALID_REQUEST', describeIssues(parsed.error.issues, 'message'));
    }
    try {
      await this.handle(parsed.data);
    } catch (err) {
      const e = toApiError(err);
      this.fail(e.code, e.message);
    }
  }

  private async handle(msg: ClientMessage): Promise<void> {
    if (msg.op === 'ping') return this.control({ type: 'pong' });
    if (msg.op === 'unsubscribe') return this.unsubscribe(msg.tasks ?? [], msg.all === true);
    await this.subscribe(msg.tasks ?? [], msg.all === true, msg.after ?? {});
  }

  private async subscribe(ids: string[], all: boolean, after: Record<string, number>): Promise<void> {
    if (ids.length === 0 && !all) throw new LakerayError('INVALID_REQUEST', 'message: give "tasks" or "all": true');
    for (const id of Object.keys(after))
      if (!ids.includes(id)) throw new LakerayError('INVALID_REQUEST', `message.after.${id}: not one of the subscribed tasks`);
    // All or nothing: one unknown id subscribes none (another tenant's task is unknown too).
    // The lookups run concurrently; the first failing id in the client's order is reported.
    const found = await Promise.allSettled(ids.map((id) => this.tasks.get(this.caller, id)));
    const queued = new Set<string>();
    for (const [i, r] of found.entries()) {
      if (r.status === 'fulfilled') {
        if (r.value.status === 'pending') queued.add(r.value.id);
        continue;
      }
      const err: unknown = r.reason;
      if (err instanceof LakerayError) throw new LakerayError(err.code, `${ids[i]}: ${err.message}`);
      throw err;
    }
    if (this.closed) return; // the client left while we looked: subscribe nothing
    this.evictFinished(ids.length);
    if (this.follows.size + ids.length > MAX_SUBSCRIPTIONS)
      throw new LakerayError('INVALID_REQUEST', `at most ${MAX_SUBSCRIPTIONS} task subscriptions per connection`);

    // Acknowledge first, so the replayed events follow the acknowledgement.
    this.control({ type: 'subscribed', tasks: ids, all });
    if (all && !this.unsubscribeAll)
      this.unsubscribeAll = this.tasks.subscribe(
        this.caller,
        { tenant: this.caller.tenant, onGap: () => this.control({ type: 'gap', ts: Date.now() }) },
        (batch) => this.onTenantEvents(batch),
      );
    for (const id of ids) {
      const current = this.follows.get(id);
      // Re-subscribing without `after` keeps the live subscription (and its position).
      if (current?.active && after[id] === undefined) continue;
      current?.stop();
      if (queued.has(id)) this.watchQueue(id);
      const follower = new TaskFollower({
        tasks: this.tasks,
        caller: this.caller,
        taskId: id,
        after: after[id] ?? 0,
        emit: (event) => {
          if (event.type === 'state' && event.data.status !== 'pending') this.unwatchQueue(id);
          this.outbox.push({ event });
        },
        onEnd: () => {},
        flow: this.outbox,
      });
      this.follows.set(id, follower);
      follower.start();
    }
  }

  private unsubscribe(ids: string[], all: boolean): void {
    if (ids.length === 0 && !all) throw new LakerayError('INVALID_REQUEST', 'message: give "tasks" or "all": true');
    for (const id of ids) {
      this.follows.get(id)?.stop();
      this.follows.delete(id);
      this.unwatchQueue(id);
    }
    if (all) {
      this.unsubscribeAll?.();
      this.unsubscribeAll = null;
    }
    this.control({ type: 'unsubscribed', tasks: ids, all });
  }

  /**
   * The tenant-wide feed is live only. A task that also has its own subscription gets its
   * events from that follower (which may still be replaying); once that follower finished,
   * only events newer than what it sent pass here — both feeds see the same publish.
   */
  private onTenantEvents(batch: readonly TaskEvent[]): void {
    for (const event of batch) {
      const follower = this.follows.get(event.task_id);
      if (follower && (follower.active || event.seq <= follower.lastSeq)) continue;
      this.outbox.push({ event });
    }
  }

  // Finished followers are kept only to de-duplicate against the tenant feed; make room.
  private evictFinished(needed: number): void {
    if (this.follows.size + needed <= MAX_SUBSCRIPTIONS) return;
    for (const [id, f] of this.follows) if (!f.active) this.follows.delete(id);
  }

  private watchQueue(id: string): void {
    if (!this.queueWatch || this.queueWatches.has(id)) return;
    const unwatch = this.queueWatch.watch(id, (position) => {
      this.control({ type: 'queue', task_id: id, position, ts: Date.now() });
    });
    this.queueWatches.set(id, unwatch);
  }

  private unwatchQueue(id: string): void {
    this.queueWatches.get(id)?.();
    this.queueWatches.delete(id);
  }

  private dispose(): void {
    this.closed = true;
    for (const unwatch of this.queueWatches.values()) unwatch();
    this.queueWatches.clear();
    clearInterval(this.keepalive);
    for (const f of this.follows.values()) f.stop();
    this.follows.clear();
    this.unsubscribeAll?.();
    this.unsubscribeAll = null;
    this.outbox.close();
  }
}

export const wsRoutes: FastifyPluginAsync<WsOptions> = async (app, { tasks, highWaterBytes, queueWatch }) => {
  wsOnlyRoute(app, '/api/v1/ws', (socket, request) => {
    new Connection(socket, tasks, callerOf(request), highWaterBytes, queueWatch);
  });
};
