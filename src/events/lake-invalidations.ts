/**
 * Tells every node that a lake table was deleted, so each drops what it caches of it (snapshot
 * files, table handles): a table made again under the same name starts at version 1 again, and
 * a cache keyed by (table, version) would otherwise serve the old table's rows.
 *
 * Redis pub/sub on the events' Redis (the channel `<stream>:lake`): fire and forget, like the
 * caches it cleans. A node whose subscription dropped (Redis restarted) may have missed a
 * delete: it is told to drop everything (`all`) once it is subscribed again. With the memory
 * bus there is one process, and the delete drops its own caches: nothing to send.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export interface TableInvalidation {
  tenant: string;
  kind: string;
  name: string;
}

export interface InvalidationHandlers {
  table(t: TableInvalidation): void;
  /** Invalidations may have been missed: drop every cached table. */
  all(): void;
}

export interface LakeInvalidations {
  publish(t: TableInvalidation): void;
  subscribe(handlers: InvalidationHandlers): () => void;
  close(): Promise<void>;
}

export class RedisLakeInvalidations implements LakeInvalidations {
  /** This process: its own messages are skipped (it dropped its caches before publishing). */
  private readonly node = randomUUID();
  private readonly channel: string;
  private readonly writer: Redis;
  private readonly reader: Redis;
  private readonly handlers = new Set<InvalidationHandlers>();
  private interrupted = false;
  /** Resolves once this node receives what other nodes publish. */
  readonly ready: Promise<void>;

  constructor(private readonly opts: { url: string; stream?: string; onError?: (err: unknown, context: string) => void }) {
    this.channel = `${opts.stream ?? 'lakeray:events'}:lake`;
    this.writer = new Redis(opts.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectionName: `lakeray-lake-w:${this.node}` });
    this.reader = new Redis(opts.url, { maxRetriesPerRequest: null, connectionName: `lakeray-lake-r:${this.node}` });
    this.writer.on('error', () => {}); // reconnecting is ioredis's job
    this.reader.on('error', () => {});
    this.reader.on('close', () => void (this.interrupted = true));
    // ioredis subscribes again after a reconnect; what was published meanwhile is gone.
    this.reader.on('ready', () => {
      if (!this.interrupted) return;
      this.interrupted = false;
      for (const h of this.handlers) h.all();
    });
    this.reader.on('message', (_channel: string, message: string) => {
      let m: TableInvalidation & { node?: string };
      try {
        m = JSON.parse(message) as TableInvalidation & { node?: string };
      } catch {
        return;
      }
      if (m.node === this.node) return;
      for (const h of this.handlers) h.table({ tenant: m.tenant, kind: m.kind, name: m.name });
    });
    this.ready = this.reader.subscribe(this.channel).then(
      () => undefined,
      (err: unknown) => opts.onError?.(err, 'lake invalidations: subscribe'),
    );
  }

  publish(t: TableInvalidation): void {
    this.writer.publish(this.channel, JSON.stringify({ ...t, node: this.node })).catch((err: unknown) => this.opts.onError?.(err, 'lake invalidations: publish'));
  }

  subscribe(handlers: InvalidationHandlers): () => void {
    this.handlers.add(handlers);
    return () => void this.handlers.delete(handlers);
  }

  async close(): Promise<void> {
    this.handlers.clear();
    this.writer.disconnect();
    this.reader.disconnect();
  }
}
