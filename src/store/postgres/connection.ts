/**
 * The PostgreSQL store's connection pool, and what it does when the database goes away.
 *
 * Mode machine of the store's health (read by /ready through `health()`):
 *
 *   up ──(a query fails for want of a connection, or the pool reports an idle client's error)──▶ down(reason)
 *   down ──(any query succeeds)──▶ up
 *
 * A lost connection never crashes the process: the pool's 'error' event (an idle client's
 * socket closed, e.g. a PostgreSQL restart) is handled here, and the broken client is dropped.
 * Reads are safe to repeat and are retried for a while (a restart takes a second or two);
 * writes are repeated only when PostgreSQL rolled them back itself (deadlock, serialization
 * failure): a commit cut off mid-way may have applied, so it is reported, not repeated.
 * Callers then get STORE_UNAVAILABLE (503) rather than a raw driver error.
 */
import pg from 'pg';
import { LakerayError } from '../../domain/errors.ts';

/** BIGINT (epoch ms, counts) as a JavaScript number: every value the store keeps is below 2^53. */
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** SQLSTATEs after which PostgreSQL rolled the transaction back and it may simply run again. */
const RETRY_WRITE = new Set(['40P01', '40001']);
/** How long /ready waits for the database's answer. */
const PROBE_MS = 2_000;
/**
 * A transaction that sends nothing for this long is ended by PostgreSQL (its locks released).
 * Ours send their statements back to back; one that stalls belongs to a frozen process (a
 * long GC pause, SIGSTOP, a suspended VM) and may hold an executor fence's share lock
 * (owners.ts), which would keep a standby's claim waiting for as long as the freeze lasts.
 */
const IDLE_IN_TRANSACTION_MS = 5_000;
/** Read retries: backoff 100, 200, 400… ms, about 6 s in all (a restart is quicker). */
const READ_ATTEMPTS = 7;

/** True when `err` means "no usable connection" rather than "this statement is wrong". */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    // 08: connection exception; 57P01–57P03: admin shutdown, crash shutdown, cannot connect now.
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
    if (/^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT…
  }
  // "timeout exceeded when trying to connect": pg-pool waited connectionTimeoutMillis for a
  // client (the server unreachable, or every client busy): unavailable now, not a bug (503, not 500).
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(err.message);
}

export interface StoreHealth {
  ok: boolean;
  /** Why it is not ok (the last connection error), for /ready. */
  reason?: string;
}

export interface ConnectionOptions {
  url: string;
  poolSize: number;
  /** Told when the store goes down or comes back (logging). */
  onHealth?: (health: StoreHealth) => void;
}

export class Connection {
  readonly pool: pg.Pool;
  private down: string | null = null;
  private closed = false;

  constructor(private readonly opts: ConnectionOptions) {
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize,
      types,
      connectionTimeoutMillis: 5_000,
      options: `-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_MS}`,
    });
    // Without a listener an idle client's error would be an uncaught 'error' event: a crash.
    this.pool.on('error', (err) => this.failed(err));
    // The pool listens only to its idle clients. A checked-out client that the server drops
    // between two statements (a transaction awaiting something else when PostgreSQL restarts:
    // FATAL 57P01 with no query to fail) emits 'error' too; its next statement fails and the
    // client is destroyed on release.
    this.pool.on('connect', (client) => client.on('error', (err) => this.failed(err)));
  }

  /**
   * Asks the database (`SELECT 1`, not retried, at most PROBE_MS): /ready must say what is true
   * now, also when nothing else has queried since the database went away or came back.
   */
  async health(): Promise<StoreHealth> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_MS} ms`)), PROBE_MS);
    });
    try {
      await Promise.race([this.pool.query('SELECT 1'), late]);
      this.up();
    } catch (err) {
      this.failed(err);
    } finally {
      clearTimeout(timer);
    }
    return this.down === null ? { ok: true } : { ok: false, reason: this.down };
  }

  /** A read: retried while the database cannot be reached. */
  async query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<R[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { rows } = await this.pool.query<R>(config);
        this.up();
        return rows;
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        this.failed(err);
        if (attempt >= READ_ATTEMPTS || this.closed) throw unavailable(err);
        await sleep(100 * 2 ** (attempt - 1));
      }
    }
  }

  /** One write statement (autocommit): not repeated on a lost connection, it may have applied. */
  async execute<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    try {
      const result = await this.pool.query<R>(config);
      this.up();
      return result;
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      this.failed(err);
      throw unavailable(err);
    }
  }

  /**
   * One write statement that is its own transaction, run again when PostgreSQL rolled it back
   * itself (deadlock, serialization failure), as transaction() does: a whole transaction in
   * one round trip.
   */
  async executeRetrying<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.execute<R>(config);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && RETRY_WRITE.has(code) && attempt < 5) continue;
        throw err;
      }
    }
  }

  /** `work` in one transaction on one client; rolled back (and the error passed on) when it throws. */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        this.failed(err);
        throw unavailable(err);
      }
      try {
        await client.query('BEGIN');
        const out = await work(client);
        await client.query('COMMIT');
        client.release();
        this.up();
        return out;
      } catch (err) {
        const broken = isConnectionError(err);
        if (!broken) await client.query('ROLLBACK').catch(() => {});
        // A client whose connection broke is destroyed, not handed to the next caller.
        client.release(broken ? (err as Error) : undefined);
        if (broken) {
          this.failed(err);
          throw unavailable(err);
        }
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && RETRY_WRITE.has(code) && attempt < 5) continue;
        throw err;
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.end();
  }

  private failed(err: unknown): void {
    const reason = `database unreachable: ${err instanceof Error ? err.message : String(err)}`;
    if (this.down === null) this.opts.onHealth?.({ ok: false, reason });
    this.down = reason;
  }

  private up(): void {
    if (this.down === null) return;
    this.down = null;
    this.opts.onHealth?.({ ok: true });
  }
}

const unavailable = (err: unknown): LakerayError =>
  new LakerayError('STORE_UNAVAILABLE', `The task store cannot be reached (${err instanceof Error ? err.message : String(err)}); retry shortly`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
