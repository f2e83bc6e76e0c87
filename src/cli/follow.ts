/**
 * Follows a task's event stream to its end, surviving dropped connections. The server's
 * contract: every event has a per-task seq, the stream ends right after the terminal
 * `state` event, and a reconnect with Last-Event-ID = the last seq seen replays everything
 * after it. So: remember the last seq, skip anything at or below it (a server may replay),
 * reconnect with backoff until the terminal state arrives. Nothing is missed, nothing
 * is shown twice.
 */
import type { ApiClient, TaskEventJson } from './client.ts';
import { TERMINAL_STATUSES } from './client.ts';
import { ApiError, CliError } from './errors.ts';

export interface FollowOptions {
  signal?: AbortSignal;
  /** First retry delay; doubles per consecutive failure up to 5 s. */
  reconnectDelayMs?: number;
  /** Start after this seq (e.g. a snapshot's last_seq) instead of replaying the whole log. */
  after?: number;
  /** Consecutive failed reconnects before giving up. */
  maxFailures?: number;
  /** Told about each reconnect, e.g. to print a note. */
  onReconnect?: (lastSeq: number | undefined, reason: string) => void;
}

export const isTerminalEvent = (e: TaskEventJson): boolean =>
  e.type === 'state' && TERMINAL_STATUSES.has(String(e.data.status));

export async function* followEvents(client: ApiClient, id: string, o: FollowOptions = {}): AsyncGenerator<TaskEventJson> {
  const baseDelay = o.reconnectDelayMs ?? 250;
  const maxFailures = o.maxFailures ?? 8;
  let lastSeq: number | undefined = o.after;
  let failures = 0;
  let connectedOnce = false;
  for (;;) {
    let reason = 'the server closed the stream before the task finished';
    let progressed = false;
    try {
      const opened = () => (connectedOnce = true);
      for await (const msg of client.events(id, lastSeq, o.signal, opened)) {
        const event = parseEvent(msg.data, msg.id);
        if (!event || (lastSeq !== undefined && event.seq <= lastSeq)) continue;
        progressed = true;
        lastSeq = event.seq;
        yield event;
        if (isTerminalEvent(event)) return;
      }
    } catch (e) {
      if (o.signal?.aborted) return;
      // 4xx (unknown task, bad auth) will not get better by retrying; neither does a server
      // that was never reachable (wrong --url): fail fast then. 5xx and drops are retried.
      if (e instanceof ApiError && e.status < 500) throw e;
      if (!connectedOnce && !(e instanceof ApiError)) throw e;
      if (!(e instanceof CliError) && !isStreamDrop(e)) throw e;
      reason = e instanceof Error ? e.message : String(e);
      if (++failures > maxFailures) throw e;
    }
    if (o.signal?.aborted) return;
    // A connection that delivered something resets the backoff; one that ended empty counts
    // as a failure so a misbehaving server cannot make us spin forever.
    if (progressed) failures = 0;
    else if (reason.startsWith('the server closed') && ++failures > maxFailures)
      throw new CliError('STREAM_ENDED', `event stream for ${id} keeps ending before the task finishes`);
    o.onReconnect?.(lastSeq, reason);
    await sleep(Math.min(baseDelay * 2 ** Math.max(0, failures - 1), 5000), o.signal);
  }
}

function parseEvent(data: string, id: string | undefined): TaskEventJson | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(data);
  } catch {
    return undefined; // not a task event (e.g. a server hello); ignore rather than abort
  }
  if (!doc || typeof doc !== 'object') return undefined;
  const e = doc as TaskEventJson;
  const seq = typeof e.seq === 'number' ? e.seq : Number(id);
  if (!Number.isFinite(seq)) return undefined;
  return { ...e, seq, data: e.data ?? {} };
}

/** Undici body errors when the peer resets or closes mid-stream. */
function isStreamDrop(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? '';
  return code.startsWith('UND_ERR') || code === 'ECONNRESET' || code === 'EPIPE' || (e as Error)?.message === 'terminated';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
