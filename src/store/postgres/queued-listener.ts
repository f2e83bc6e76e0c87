/**
 * One LISTEN connection per store for `lakeray_queued` (TaskStore.watchQueued): inserts and
 * requeues in any process NOTIFY it with the executor's name, and this calls the watchers.
 *
 *   connecting ──(LISTEN done)──▶ listening ──(error / end: PostgreSQL restarted, network cut)──▶ waiting
 *   waiting ──(backoff 250 ms … 5 s)──▶ connecting          any ──(close)──▶ closed
 *
 * A notification sent while no connection listened is lost, so every time LISTEN is (re)done
 * the watchers are called with '*' ("any executor may have work"): a dispatcher then runs a
 * round over all executors and finds what it missed in the store, which is the queue.
 * Its errors never escape: a listener that cannot connect keeps trying until closed.
 */
import pg from 'pg';

export const QUEUED_CHANNEL = 'lakeray_queued';
/** Passed to watchers when notifications may have been missed. */
export const ANY_EXECUTOR = '*';

export class QueuedListener {
  private readonly watchers = new Set<(executor: string) => void>();
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(private readonly url: string) {
    void this.connect();
  }

  add(watcher: (executor: string) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 });
    this.client = client;
    // Either event may come first, or both: lost() acts once per client.
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => {
      if (n.channel === QUEUED_CHANNEL && n.payload) this.call(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${QUEUED_CHANNEL}`);
    } catch {
      this.lost(client);
      return;
    }
    if (this.client !== client) return; // closed or lost meanwhile
    this.failures = 0;
    this.call(ANY_EXECUTOR);
  }

  private lost(client: pg.Client): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    client.end().catch(() => {});
    const delay = Math.min(5_000, 250 * 2 ** this.failures++);
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
  }

  private call(executor: string): void {
    for (const watcher of this.watchers) {
      try {
        watcher(executor);
      } catch {
        // A watcher's bug must not stop the others or the listener.
      }
    }
  }
}
