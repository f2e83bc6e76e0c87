/**
 * Follows one task's event log for a streaming client (SSE, WebSocket): replays the stored
 * events after `after`, then continues live — with no gap and no duplicate across the
 * replay/live boundary.
 *
 * Protocol:
 *   1. subscribe to the bus FIRST and buffer what arrives (an event stored while we read
 *      history is then either in the history, in the buffer, or both — never in neither);
 *   2. read history from the store in pages after the last seq sent, pausing while the
 *      client is backed up (a long log must not be pulled into memory all at once); every
 *      read is async, and whatever the bus publishes while one is in flight is buffered;
 *   3. go live: drain the buffer, then forward bus events, dropping every seq ≤ last sent.
 *      Going live happens synchronously after the last read resolved, so no event can slip
 *      between the final read and the drain.
 * While live and idle, a bus event is emitted in the same tick as its publish (no await on
 * the hot path). A live event whose seq jumps past last+1 (a bus that lost or reordered
 * events) is preceded by the missing events read from the store; during that read the
 * follower is "busy" again and buffers everything, so order holds and the stream stays
 * gap-free either way. If the buffer grows too large while the store is read, it is
 * discarded and the store is read to its end once more instead — the store is the source
 * of truth, the buffer only an optimisation. A bus that may have lost events says so
 * (Subscription.onGap: Redis was away, a publish failed): the follower then reads the store
 * to its end as well — at once when live, after the read in flight when busy — since the
 * lost event may be the last one (the task's end), with no later event to reveal the gap.
 *
 * The follower stops itself after the task's terminal `state` event (or at once when the
 * task was already finished and the client has seen everything) and then calls `onEnd`.
 */
import type { TaskEvent } from '../domain/events.ts';
import { TERMINAL, type TaskStatus } from '../domain/task.ts';
import type { Caller, TaskService } from '../engine/task-service.ts';

const PAGE = 500;
/** Live events buffered during one store read before the buffer is dropped for a re-read. */
export const MAX_BUFFERED = 10_000;

export const isTerminalState = (ev: TaskEvent): boolean =>
  ev.type === 'state' && typeof ev.data.status === 'string' && TERMINAL.has(ev.data.status as TaskStatus);

export interface FlowControl {
  backedUp(): boolean;
  onceDrained(cb: () => void): void;
}

export interface FollowOptions {
  tasks: TaskService;
  caller: Caller;
  taskId: string;
  /** Replay events with seq > after. */
  after: number;
  emit(event: TaskEvent): void;
  /** Called once, after the follower stopped on its own (task finished, or gone). */
  onEnd(): void;
  flow?: FlowControl;
}

export class TaskFollower {
  private last: number;
  /** A store read is in flight (or replay has not finished): live events are buffered. */
  private busy = true;
  /** Inside drain(): a re-entrant publish is appended to the buffer, not drained out of order. */
  private draining = false;
  private stopped = false;
  private buffer: TaskEvent[] = [];
  private overflowed = false;
  /** The bus said it may have lost events during a store read: read to the end once more. */
  private reread = false;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly o: FollowOptions) {
    this.last = o.after;
  }

  /** The seq of the last event emitted (or `after`). */
  get lastSeq(): number {
    return this.last;
  }

  /** True until stopped (by the client, or because the task finished). */
  get active(): boolean {
    return !this.stopped;
  }

  start(): void {
    const { tasks, caller, taskId } = this.o;
    const sub = { taskIds: new Set([taskId]), tenant: caller.tenant, onGap: () => this.onGap() };
    this.unsubscribe = tasks.subscribe(caller, sub, (batch) => this.onLive(batch));
    this.fetch(Infinity, true);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.buffer = [];
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private onLive(batch: readonly TaskEvent[]): void {
    if (this.stopped) return;
    if (this.busy) {
      if (this.buffer.length + batch.length > MAX_BUFFERED) {
        this.buffer = [];
        this.overflowed = true;
      } else for (const ev of batch) this.buffer.push(ev);
      return;
    }
    if (this.draining) {
      for (const ev of batch) this.buffer.push(ev);
      return;
    }
    this.drain(batch, 0);
  }

  private onGap(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.reread = true;
      return;
    }
    this.busy = true;
    this.fetch(Infinity, false);
  }

  /**
   * Emits `events` (then anything buffered meanwhile) in order, synchronously. A gap past
   * last+1 (beyond `tolerate`) makes the follower busy: the rest is buffered and the
   * missing events are read from the store first.
   */
  private drain(events: readonly TaskEvent[], tolerate: number): void {
    this.draining = true;
    try {
      let queue = events;
      for (;;) {
        for (let i = 0; i < queue.length; i++) {
          if (this.stopped) return;
          const ev = queue[i] as TaskEvent;
          if (ev.task_id !== this.o.taskId || ev.seq <= this.last) continue;
          if (ev.seq > this.last + 1 && ev.seq > tolerate) {
            this.buffer = queue.slice(i).concat(this.buffer);
            this.busy = true;
            this.fetch(ev.seq, false);
            return;
          }
          this.deliver(ev);
        }
        if (this.buffer.length === 0 || this.stopped) return;
        queue = this.buffer;
        this.buffer = [];
      }
    } finally {
      this.draining = false;
    }
  }

  private fetch(before: number, initial: boolean): void {
    this.read(before, initial).catch(() => this.end());
  }

  /**
   * The busy phase: reads the store after `last` — up to seq `before` (exclusive), or to its
   * end for Infinity — then (initial replay only) checks whether a finished task has nothing
   * more to send, and goes live by draining the buffer. The store's errors are handled here;
   * it rejects only when emit itself throws (fetch() then ends the follower).
   */
  private async read(before: number, initial: boolean): Promise<void> {
    const { tasks, caller, taskId, flow } = this.o;
    let target = before;
    try {
      for (;;) {
        if (this.stopped) return;
        if (flow?.backedUp()) {
          await new Promise<void>((resume) => flow.onceDrained(resume));
          continue;
        }
        const want = target === Infinity ? PAGE : Math.min(PAGE, target - 1 - this.last);
        if (want > 0) {
          const page = await tasks.events(caller, taskId, this.last, want);
          if (this.stopped) return;
          for (const ev of page) {
            if (ev.seq >= target) break;
            if (ev.seq <= this.last) continue;
            this.deliver(ev);
            if (this.stopped) return;
          }
          if (page.length === want) continue; // there may be more
        }
        if (initial) {
          initial = false;
          // Resuming after the terminal event: there is nothing left to wait for.
          const task = await tasks.get(caller, taskId);
          if (this.stopped) return;
          if (TERMINAL.has(task.status) && this.last >= task.last_seq) return this.end();
        }
        // Nothing may be awaited between this check and drain() below.
        if (!this.overflowed && !this.reread) break;
        // The buffer was discarded, or the bus lost events: read what they held from the store.
        this.overflowed = false;
        this.reread = false;
        target = Infinity;
      }
    } catch {
      // Replay failed: the task was deleted under us, nothing more will come. A failed gap
      // fill is best effort: forward what the bus gave us.
      if (before === Infinity) return this.end();
    }
    if (this.stopped) return;
    this.busy = false;
    const buffered = this.buffer;
    this.buffer = [];
    this.drain(buffered, before === Infinity ? 0 : before);
  }

  private deliver(ev: TaskEvent): void {
    this.last = ev.seq;
    this.o.emit(ev);
    if (isTerminalState(ev)) this.end();
  }

  private end(): void {
    if (this.stopped) return;
    this.stop();
    this.o.onEnd();
  }
}
