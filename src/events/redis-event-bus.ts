/**
 * EventBus over one Redis Stream, shared by every node (API and scheduler processes).
 *
 * Wire format: one XADD per publish() (MAXLEN ~ bounded), fields
 *   n  the publishing bus instance (random, per process start)
 *   s  that instance's publish counter (1, 2, …: counted even when the XADD fails)
 *   e  the events, as a JSON array — absent in a "notice" (see below)
 * Each node reads the stream with one plain XREAD BLOCK from the last id it read (no group:
 * every node needs every event) and hands the entries to its local subscribers through a
 * MemoryEventBus, which does the filtering and keeps publish order. A node's own publishes
 * come back the same way, so every node sees the same order.
 *
 * Losing events, and saying so (the store is the log; subscribers re-read it on a gap):
 *   - a publish that fails (Redis away: no offline queue, nothing piles up in memory) tells
 *     this node's subscribers at once, and leaves a hole in this instance's counter;
 *   - once the XADD works again, a notice entry (n, s, no e) tells every other node;
 *   - a reader that sees a counter skip (a failed publish, an entry trimmed before it read
 *     it) or a notice tells its subscribers; a counter going back is a resent duplicate;
 *   - a reader whose connection dropped (Redis restarted, maybe empty) tells its subscribers
 *     when it is back, before reading on from its last id; one that could not even find the
 *     stream's end at start (Redis away) tells the subscriptions made meanwhile.
 * Redis Streams ids grow with Redis's clock, so entries written after a restart that lost the
 * stream still sort after the last id a reader had.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { TaskEvent } from '../domain/events.ts';
import type { EventBus, EventHandler, Subscription } from './event-bus.ts';
import { MemoryEventBus } from './memory.ts';

export interface RedisEventBusOptions {
  /** redis://host:port/db */
  url: string;
  stream?: string;
  /** Approximate bound of the stream (XADD MAXLEN ~). */
  maxLen?: number;
  /** How long one XREAD blocks (a reader notices close() at once anyway). */
  blockMs?: number;
  /** Wait after a failed read before the next. */
  retryDelayMs?: number;
  onError?: (err: unknown, context: string) => void;
}

export interface RedisEventBusStats {
  published: number;
  /** Publishes whose XADD failed (their events are only in the store). */
  lost: number;
  /** Times subscribers were told they may have missed events. */
  gaps: number;
  /** Stream entries read (this node's and others'). */
  received: number;
}

const READ_COUNT = 1000;
/** Failed publishes within this long make one gap signal on this node. */
const LOCAL_GAP_MS = 100;
/** How often an owed notice is retried while the XADD keeps failing. */
const NOTICE_RETRY_MS = 500;

export class RedisEventBus implements EventBus {
  /** Resolves once the reader knows where the stream ends (publishes after it come back here). */
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private readonly node = randomUUID().slice(0, 12);
  private readonly stream: string;
  private readonly writer: Redis;
  private readonly reader: Redis;
  private readonly local = new MemoryEventBus();
  private readonly gapListeners = new Set<{ onGap: () => void }>();
  /** Last counter seen from each publishing instance. */
  private readonly seen = new Map<string, number>();
  private readonly stats_: RedisEventBusStats = { published: 0, lost: 0, gaps: 0, received: 0 };
  private readonly o: Required<Omit<RedisEventBusOptions, 'onError'>> & Pick<RedisEventBusOptions, 'onError'>;
  private counter = 0;
  private lastId: string | null = null;
  private readerInterrupted = false;
  private noticeTimer: NodeJS.Timeout | null = null;
  private localGapTimer: NodeJS.Timeout | null = null;
  /** Publishes are failing (reported once, until one succeeds). */
  private failing = false;
  private closed = false;
  private readonly loop: Promise<void>;

  constructor(opts: RedisEventBusOptions) {
    this.o = { stream: 'lakeray:events', maxLen: 100_000, blockMs: 5_000, retryDelayMs: 200, ...opts };
    this.stream = this.o.stream;
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    // protocol 2: XREAD's documented reply, [[stream, entries]] (RESP3 would flatten a map).
    // The writer fails fast while Redis is away (no offline queue): a lost publish is a gap,
    // never a pile of memory, and never a late, out-of-order delivery.
    this.writer = new Redis(this.o.url, {
      protocol: 2,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectionName: `lakeray-bus-w:${this.node}`,
    });
    // The reader waits Redis out: its blocking read is sent again after a reconnect.
    this.reader = new Redis(this.o.url, { protocol: 2, maxRetriesPerRequest: null, connectionName: `lakeray-bus-r:${this.node}` });
    this.writer.on('error', () => {}); // reconnecting is ioredis's job; failures surface per command
    this.reader.on('error', () => {});
    this.reader.on('close', () => void (this.readerInterrupted = true));
    this.reader.on('ready', () => {
      if (!this.readerInterrupted || this.lastId === null) return;
      this.readerInterrupted = false;
      this.gap();
    });
    this.loop = this.run();
  }

  stats(): RedisEventBusStats {
    return { ...this.stats_ };
  }

  publish(events: readonly TaskEvent[]): void {
    if (this.closed || events.length === 0) return;
    const s = ++this.counter;
    this.stats_.published++;
    let body: string;
    try {
      body = JSON.stringify(events);
    } catch (err) {
      return this.lost(err);
    }
    this.writer.xadd(this.stream, 'MAXLEN', '~', String(this.o.maxLen), '*', 'n', this.node, 's', String(s), 'e', body).then(
      () => void (this.failing = false),
      (err: unknown) => this.lost(err),
    );
  }

  subscribe(sub: Subscription, handler: EventHandler): () => void {
    const unsubscribe = this.local.subscribe(sub, handler);
    if (!sub.onGap) return unsubscribe;
    const listener = { onGap: sub.onGap };
    this.gapListeners.add(listener);
    return () => {
      unsubscribe();
      this.gapListeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.noticeTimer) clearTimeout(this.noticeTimer);
    if (this.localGapTimer) clearTimeout(this.localGapTimer);
    this.gapListeners.clear();
    await this.local.close();
    // A read queued while ioredis waits to reconnect is never rejected by disconnect(): wait
    // for the loop only when its read is on a live connection (nothing is delivered after
    // close either way: `closed` is checked before every delivery).
    const reading = this.reader.status === 'ready';
    this.reader.disconnect(); // ends a blocking read at once
    this.writer.disconnect();
    this.markReady();
    if (reading) await this.loop;
  }

  /** A publish that did not reach Redis: this node's subscribers now, the others by a notice. */
  private lost(err: unknown): void {
    if (this.closed) return;
    this.stats_.lost++;
    // Once per outage, not once per publish (every flush fails while Redis is away).
    if (!this.failing) this.o.onError?.(err, 'event bus: a publish did not reach Redis (subscribers re-read the store)');
    this.failing = true;
    // One signal per LOCAL_GAP_MS while publishes keep failing (every flush fails while Redis
    // is away): each signal makes every follower on this node read the store.
    this.localGapTimer ??= setTimeout(() => {
      this.localGapTimer = null;
      if (!this.closed) this.gap();
    }, LOCAL_GAP_MS);
    this.noticeTimer ??= setTimeout(() => void this.sendNotice(), NOTICE_RETRY_MS);
  }

  private async sendNotice(): Promise<void> {
    try {
      await this.writer.xadd(this.stream, 'MAXLEN', '~', String(this.o.maxLen), '*', 'n', this.node, 's', String(this.counter));
      this.noticeTimer = null;
    } catch {
      if (!this.closed) this.noticeTimer = setTimeout(() => void this.sendNotice(), NOTICE_RETRY_MS);
    }
  }

  private gap(): void {
    this.stats_.gaps++;
    for (const l of [...this.gapListeners]) {
      try {
        l.onGap();
      } catch {
        // One subscriber's failure must not keep the others from catching up.
      }
    }
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        if (this.lastId === null) {
          // Start at the stream's end: what was published before this node came up is in the store.
          const last = (await this.reader.xrevrange(this.stream, '+', '-', 'COUNT', 1)) as [string, string[]][];
          this.lastId = last[0]?.[0] ?? '0-0';
          this.readerInterrupted = false;
          this.markReady();
          // Subscribed before the reader knew where to start (Redis was away at startup):
          // what other nodes published meanwhile is behind the start.
          if (this.gapListeners.size > 0) this.gap();
          continue;
        }
        const reply = (await this.reader.xread('COUNT', READ_COUNT, 'BLOCK', this.o.blockMs, 'STREAMS', this.stream, this.lastId)) as
          | [string, [string, string[]][]][]
          | null;
        if (reply?.[0]) this.receive(reply[0][1]);
      } catch (err) {
        if (this.closed) return;
        this.o.onError?.(err, 'event bus read');
        await new Promise((r) => setTimeout(r, this.o.retryDelayMs));
      }
    }
  }

  /** Hands the entries' events to the local subscribers in stream order, a gap where one shows. */
  private receive(entries: [string, string[]][]): void {
    let batch: TaskEvent[] = [];
    const flush = () => {
      if (batch.length > 0) this.local.publish(batch);
      batch = [];
    };
    for (const [id, fields] of entries) {
      if (this.closed) return;
      this.lastId = id;
      this.stats_.received++;
      const f = fieldMap(fields);
      const prev = this.seen.get(f.n ?? '');
      const s = Number(f.s);
      let events: TaskEvent[] | null = null;
      if (f.e !== undefined) {
        try {
          events = JSON.parse(f.e) as TaskEvent[];
        } catch (err) {
          this.o.onError?.(err, `event bus entry ${id}`);
        }
      }
      if (events && f.n !== undefined && prev !== undefined && s <= prev) continue; // an XADD sent twice
      if (f.n !== undefined && Number.isFinite(s)) this.seen.set(f.n, Math.max(prev ?? 0, s));
      const hole = events === null || (prev !== undefined && s > prev + 1);
      if (hole) {
        flush(); // what came before the hole is delivered before the subscribers re-read
        this.gap();
      }
      if (events) batch.push(...events);
    }
    flush();
  }
}

function fieldMap(fields: string[]): Record<string, string> {
  const m: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) m[fields[i] as string] = fields[i + 1] as string;
  return m;
}
