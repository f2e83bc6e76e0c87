/**
 * Reads the seed's Redis progress streams (e.g. `wan22-progress-stream`) as an event SOURCE:
 * generators that only know Redis (seed 002's serve_app.py) report through it unchanged, and
 * each entry reaches `onEntry`, which the engine wires to the task's progress, result and
 * error events. Not the event bus: nothing is published back to Redis.
 *
 * Delivery is at least once, in stream order:
 * - one consumer group (default `lakeray`) per stream, created at the stream's start (`0`, so
 *   entries written before Lakeray first came up are read too) with MKSTREAM;
 * - an entry is XACKed only after `onEntry` resolved — the event is stored. `onEntry` throws
 *   only when storing failed for now (the store is down); the entry is retried in place with
 *   backoff, `callbackAttempts` times, and then left pending for the claim below, so nothing
 *   is lost and a broken entry does not stall the stream for ever;
 * - on start the consumer re-reads what was delivered to its own name and never acked
 *   (it crashed after reading), then every `claimEveryMs` takes over entries another consumer
 *   has held unacked for `claimIdleMs` (XAUTOCLAIM: that consumer crashed);
 * - an entry for a task Lakeray does not know, or that is already finished, is acked and
 *   counted (`onEntry` says which); an entry without task_id is acked and counted as invalid;
 * - Redis going away is waited out (ioredis reconnects); a Redis that came back without the
 *   group (restarted without persistence) answers NOGROUP, and the group is created again.
 * The same entry id can therefore arrive twice; the engine deduplicates on it.
 * Entries of one task are handled one after another, in stream order; different tasks' entries
 * of one read are handled side by side (a result waits for its task's settle, which must not
 * hold up every other task's progress).
 */
import { hostname } from 'node:os';
import { setTimeout as delayFor } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { parseSeedEntry, type SeedProgressEntry } from './seed-progress-entry.ts';

/** `duplicate`: an entry id already stored (at-least-once delivery); acked and counted. */
export type EntryVerdict = 'stored' | 'duplicate' | 'unknown_task' | 'finished_task';

export interface RedisProgressStreamOptions {
  /** redis://host:port/db */
  url: string;
  streams: readonly string[];
  group?: string;
  /** default `<hostname>-<pid>`; a stable name lets a restarted server re-read its own pending entries at once */
  consumer?: string;
  onEntry(entry: SeedProgressEntry): Promise<EntryVerdict>;
  onError?(err: unknown, context: string): void;
  /** entries per read (default 100) */
  batch?: number;
  /** how long one read waits for new entries (default 1 s); also bounds how soon stop() returns */
  blockMs?: number;
  /** an entry unacked this long is taken over from its consumer (default 30 s) */
  claimIdleMs?: number;
  claimEveryMs?: number;
  /** tries of onEntry per delivery before the entry is left pending (default 5) */
  callbackAttempts?: number;
  retryDelayMs?: number;
}

export interface ProgressStreamStats {
  stored: number;
  duplicate: number;
  unknownTask: number;
  finishedTask: number;
  invalid: number;
  /** entries taken over from a consumer that held them unacked too long */
  claimed: number;
  callbackErrors: number;
  redisErrors: number;
}

type StreamEntries = [id: string, fields: string[] | null][];
type ReadReply = [stream: string, entries: StreamEntries][] | null;

export class RedisProgressStream {
  readonly group: string;
  readonly consumer: string;
  readonly ready: Promise<void>;
  private readonly stats_: ProgressStreamStats = { stored: 0, duplicate: 0, unknownTask: 0, finishedTask: 0, invalid: 0, claimed: 0, callbackErrors: 0, redisErrors: 0 };
  // Blocking reads get a connection of their own, so acks and claims never wait behind them.
  private readonly reader: Redis;
  private readonly commands: Redis;
  private markReady!: () => void;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private readonly stopped = new AbortController();
  private readonly o: Required<Omit<RedisProgressStreamOptions, 'group' | 'consumer' | 'onError'>> & Pick<RedisProgressStreamOptions, 'onError'>;

  constructor(opts: RedisProgressStreamOptions) {
    if (opts.streams.length === 0) throw new Error('RedisProgressStream: no streams to read');
    this.group = opts.group ?? 'lakeray';
    this.consumer = opts.consumer ?? `${hostname()}-${process.pid}`;
    this.o = { batch: 100, blockMs: 1_000, claimIdleMs: 30_000, claimEveryMs: 5_000, callbackAttempts: 5, retryDelayMs: 200, ...opts };
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    // maxRetriesPerRequest null: while Redis is away, commands wait for the reconnect instead of failing.
    // protocol 2: XREADGROUP's documented reply, [[stream, entries], …]; ioredis 6 speaks RESP3 by
    // default, whose map reply it flattens to [stream, entries, …].
    const connection = { maxRetriesPerRequest: null, lazyConnect: true, protocol: 2 as const, connectionName: `lakeray-progress:${this.consumer}` };
    this.reader = new Redis(opts.url, connection);
    this.commands = new Redis(opts.url, connection);
    for (const c of [this.reader, this.commands]) c.on('error', () => {}); // reconnects are ioredis's job; errors surface per command
  }

  stats(): ProgressStreamStats {
    return { ...this.stats_ };
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Finishes the entry in hand, its ack included, if that takes less than `blockMs` + 1 s;
   * past that (a store that hangs, a Redis that is away) it lets go: the entry stays pending
   * and is read again by this consumer's name or claimed by another.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    this.reader.disconnect(); // ends a blocking read at once
    await Promise.race([this.loop, delayFor(this.o.blockMs + 1_000)]);
    this.commands.disconnect(); // a late ack fails, and the loop ends on it
    this.markReady();
  }

  private async run(): Promise<void> {
    let needGroups = true;
    let nextClaim = 0;
    let delay = this.o.retryDelayMs;
    while (!this.stopping) {
      try {
        if (needGroups) {
          await this.ensureGroups();
          await this.rereadOwnPending();
          needGroups = false;
          this.markReady();
        }
        if (Date.now() >= nextClaim) {
          await this.claimStale();
          nextClaim = Date.now() + this.o.claimEveryMs;
        }
        const reply = (await this.reader.call(
          'XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', this.o.batch, 'BLOCK', this.o.blockMs,
          'STREAMS', ...this.o.streams, ...this.o.streams.map(() => '>'),
        )) as ReadReply;
        for (const [stream, entries] of reply ?? []) await this.handle(stream, entries);
        delay = this.o.retryDelayMs;
      } catch (err) {
        if (this.stopping) break;
        if (String((err as Error)?.message).startsWith('NOGROUP')) needGroups = true;
        this.stats_.redisErrors++;
        this.o.onError?.(err, 'redis progress stream');
        await this.pause(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  private async ensureGroups(): Promise<void> {
    for (const stream of this.o.streams) {
      try {
        await this.commands.xgroup('CREATE', stream, this.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!String((err as Error)?.message).startsWith('BUSYGROUP')) throw err;
      }
    }
  }

  /** Entries delivered to this consumer's name and never acked: a previous life of it crashed. */
  private async rereadOwnPending(): Promise<void> {
    for (const stream of this.o.streams) {
      let after = '0';
      for (;;) {
        const reply = (await this.commands.call(
          'XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', this.o.batch, 'STREAMS', stream, after,
        )) as ReadReply;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) break;
        await this.handle(stream, entries);
        after = entries[entries.length - 1]![0];
      }
    }
  }

  private async claimStale(): Promise<void> {
    for (const stream of this.o.streams) {
      let cursor = '0-0';
      do {
        const [next, entries] = (await this.commands.xautoclaim(
          stream, this.group, this.consumer, this.o.claimIdleMs, cursor, 'COUNT', this.o.batch,
        )) as [string, StreamEntries, string[]?];
        this.stats_.claimed += entries.length;
        await this.handle(stream, entries);
        cursor = next;
      } while (cursor !== '0-0' && !this.stopping);
    }
  }

  private async handle(stream: string, entries: StreamEntries): Promise<void> {
    const perTask = new Map<string, [id: string, entry: SeedProgressEntry | { invalid: string }][]>();
    for (const [id, flat] of entries) {
      // A null body: the entry was trimmed away (XTRIM/MAXLEN) while pending; nothing to store.
      const entry = flat ? parseSeedEntry(stream, id, flat) : { invalid: `entry ${id} of ${stream} was deleted` };
      const key = 'invalid' in entry ? '' : entry.taskId;
      const list = perTask.get(key);
      if (list) list.push([id, entry]);
      else perTask.set(key, [[id, entry]]);
    }
    await Promise.all([...perTask.values()].map((list) => this.handleInOrder(stream, list)));
  }

  private async handleInOrder(stream: string, list: [id: string, entry: SeedProgressEntry | { invalid: string }][]): Promise<void> {
    for (const [id, entry] of list) {
      if (this.stopping) return;
      if ('invalid' in entry) {
        this.stats_.invalid++;
        this.o.onError?.(new Error(entry.invalid), 'redis progress entry');
      } else {
        const verdict = await this.deliver(entry);
        // Left pending (claimed and tried again later); the task's later entries wait with it.
        if (verdict === null) return;
        if (verdict === 'stored') this.stats_.stored++;
        else if (verdict === 'duplicate') this.stats_.duplicate++;
        else if (verdict === 'unknown_task') this.stats_.unknownTask++;
        else this.stats_.finishedTask++;
      }
      await this.commands.xack(stream, this.group, id);
    }
  }

  /** A backoff that stop() cuts short. */
  private pause(ms: number): Promise<void> {
    return delayFor(ms, undefined, { signal: this.stopped.signal }).catch(() => {});
  }

  private async deliver(entry: SeedProgressEntry): Promise<EntryVerdict | null> {
    let delay = this.o.retryDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.o.onEntry(entry);
      } catch (err) {
        this.stats_.callbackErrors++;
        this.o.onError?.(err, `progress entry ${entry.id} of task ${entry.taskId}`);
        if (attempt >= this.o.callbackAttempts || this.stopping) return null;
        await this.pause(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }
}

