/**
 * Follows one task's event log for a streaming client (SSE, WebSocket): replays the stored
 * events after `after`, then continues live — with no gap and no duplicate across the
 * replay/live boundary.
 *
 * Protocol:
 *   1. subscribe to the bus FIRST and buffer what arrives (an event stored while we read
 *      history is then either in the history, in the buffer, or both — never in neither);
 *   2. read history from the store in pages after the last seq sent, pausing while the
 *      client is backed up (a long log must not be pulled into memory all at once);
 *   3. go live: drain the buffer, then forward bus events, dropping every seq ≤ last sent.
 * A live event whose seq jumps past last+1 (a bus that lost or reordered events) is preceded
 * by the missing events read from the store, so the stream stays gap-free either way. If the
 * buffer grows too large while history is read, it is discarded and the store is read once
 * more instead — the store is the source of truth, the buffer only an optimisation.
 *
 * The follower stops itself after the task's terminal `state` event (or at once when the
 * task was already finished and the client has seen everything) and then calls `onEnd`.
 */
import type { TaskEvent } from '../domain/events.ts';
import { TERMINAL, type TaskStatus } from '../domain/task.ts';
import type { Caller, TaskService } from '../engine/task-service.ts';

const PAGE = 500;
const MAX_BUFFERED = 10_000;

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
  private live = false;
  private stopped = false;
  private buffer: TaskEvent[] = [];
  private overflowed = false;
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
    this.unsubscribe = tasks.subscribe({ taskIds: new Set([taskId]), tenant: caller.tenant }, (batch) => this.onLive(batch));
    this.replay();
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
    if (!this.live) {
      if (this.buffer.length + batch.length > MAX_BUFFERED) {
        this.buffer = [];
        this.overflowed = true;
      } else for (const ev of batch) this.buffer.push(ev);
      return;
    }
    for (const ev of batch) {
      this.accept(ev);
      if (this.stopped) return;
    }
  }

  private readonly replay = (): void => {
    const { tasks, caller, taskId, flow } = this.o;
    try {
      while (!this.stopped) {
        if (flow?.backedUp()) {
          flow.onceDrained(this.replay);
          return;
        }
        const page = tasks.events(caller, taskId, this.last, PAGE);
        for (const ev of page) {
          this.deliver(ev);
          if (this.stopped) return;
        }
        if (page.length === PAGE) continue;
        if (!this.overflowed) break;
        this.overflowed = false; // the buffer was discarded: read what it held from the store
      }
    } catch {
      this.end(); // the task was deleted under us: nothing more will come
      return;
    }
    if (!this.stopped) this.goLive();
  };

  private goLive(): void {
    this.live = true;
    const buffered = this.buffer;
    this.buffer = [];
    for (const ev of buffered) {
      this.accept(ev);
      if (this.stopped) return;
    }
    // Resuming after the terminal event: there is nothing left to wait for.
    try {
      const task = this.o.tasks.get(this.o.caller, this.o.taskId);
      if (TERMINAL.has(task.status) && this.last >= task.last_seq) this.end();
    } catch {
      this.end();
    }
  }

  private accept(ev: TaskEvent): void {
    if (ev.task_id !== this.o.taskId || ev.seq <= this.last) return;
    if (ev.seq > this.last + 1) this.backfill(ev.seq);
    if (!this.stopped && ev.seq > this.last) this.deliver(ev);
  }

  /** Emits stored events between last and `before` (exclusive), best effort. */
  private backfill(before: number): void {
    try {
      while (!this.stopped && this.last < before - 1) {
        const page = this.o.tasks.events(this.o.caller, this.o.taskId, this.last, Math.min(PAGE, before - 1 - this.last));
        if (page.length === 0) return;
        for (const ev of page) {
          if (ev.seq >= before) return;
          this.deliver(ev);
          if (this.stopped) return;
        }
      }
    } catch {
      // The store could not fill the gap (task deleted): forward what the bus gave us.
    }
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
