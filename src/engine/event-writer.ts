/**
 * Buffers events reported by running scripts and writes them in one store transaction per
 * flush, then publishes what was stored. Every event is kept while the store keeps up; only
 * a backlog coalesces (see COALESCE_AFTER_MS). State events never pass through here: the
 * store appends them atomically with their transition.
 *
 * Group commit: with many scripts reporting, events arrive one or two per event-loop turn,
 * and a transaction per turn costs more than the rows in it. So a flush follows the
 * previous one by at least `minIntervalMs`: an idle writer still flushes on the next turn,
 * a busy one writes what a few milliseconds brought in one transaction. Measured with the
 * events bench (4,000 progress events/s from 200 scripts): 2,100 transactions/s of 1.7
 * events became 450–650/s of 6–8, and the store's time fell by ~40%.
 *
 * One flush at a time, and a batch is cut only when the store is free: what arrives while a
 * transaction runs waits in the buffer (coalescing there) and is the next transaction. Cutting
 * a batch every few milliseconds and queueing it behind a slow store (PostgreSQL over the
 * network, ~15 ms a transaction on a loaded machine) made a queue of tiny transactions that
 * grew without bound: events-multi measured 3.6 events per transaction, 55 transactions/s,
 * 200 of 2,000 events/s stored and a lag growing by a second every second.
 */
import type { NewEvent, TaskEvent } from '../domain/events.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { TaskStore } from '../store/task-store.ts';

/** Under load, flushes are at least this far apart (see above). */
export const MIN_FLUSH_INTERVAL_MS = 2;

/**
 * Progress coalescing is back-pressure only: it starts once the oldest buffered event has
 * waited this long. A store that keeps up writes each buffer within one flush cycle, so the
 * oldest event's age is about one flush (a few ms idle; 60–350 ms measured on a loaded 2-core
 * machine with PostgreSQL): nothing is dropped. A second of backlog means the store is falling
 * behind; from then on a task's new progress replaces its buffered one (a client only needs
 * the latest), so the buffer grows by at most one progress event per task, not by the rate.
 * Age rather than a count because it does not depend on the event rate: 1,000 buffered events
 * are 250 ms at 4,000 events/s and minutes for one task. Until session 12 any second progress
 * event of a task within one flush was dropped, and a 60 ms flush with tasks reporting every
 * 50 ms lost 3.4 % of the events-multi bench's progress.
 */
export const COALESCE_AFTER_MS = 1000;

export class EventWriter {
  /** The next batch; `null` marks a progress event replaced by a later one (coalesced). */
  private pending: (NewEvent | null)[] = [];
  private replaced = 0;
  /** When the oldest event in `pending` arrived. */
  private pendingSince = 0;
  /** index in `pending` of the latest progress event per task */
  private progressAt = new Map<string, number>();
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private lastFlush = -Infinity;
  /** The transaction running now (its batch already published when it resolves); never rejects. */
  private inFlight: Promise<void> | null = null;
  /** Resolves once `pending` (the next batch) is stored; made when someone waits for it. */
  private next: { promise: Promise<void>; resolve: () => void } | null = null;
  /** Flushes that failed so far (see stored()). */
  private failures = 0;

  constructor(
    private readonly store: TaskStore,
    private readonly bus: EventBus,
    private readonly onWritten: (events: readonly TaskEvent[]) => void = () => {},
    private readonly onError: (err: unknown) => void = () => {},
    private readonly minIntervalMs = MIN_FLUSH_INTERVAL_MS,
    private readonly coalesceAfterMs = COALESCE_AFTER_MS,
  ) {}

  push(event: NewEvent): void {
    if (this.pending.length === 0) this.pendingSince = performance.now();
    if (event.type === 'progress') {
      const at = this.progressAt.get(event.task_id);
      // Backlog: drop the task's buffered progress; the new one goes last, after the task's
      // other events reported in between, so the task's order holds.
      if (at !== undefined && performance.now() - this.pendingSince > this.coalesceAfterMs) {
        this.pending[at] = null;
        this.replaced++;
      }
      this.progressAt.set(event.task_id, this.pending.length);
    }
    this.pending.push(event);
    this.schedule();
  }

  /**
   * Write everything buffered now; resolves once it (and every earlier flush) is stored.
   * Called before a task's final transition, so its logs and result precede its end state.
   */
  flush(): Promise<void> {
    if (this.pending.length === 0) return this.inFlight ?? Promise.resolve();
    // The running transaction takes the buffer up as soon as it ends.
    if (this.inFlight) return this.waitForNext();
    return this.start();
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return; // a running flush starts the next itself
    this.scheduled = true;
    const wait = this.lastFlush + this.minIntervalMs - performance.now();
    if (wait <= 0) setImmediate(this.flushSoon);
    else this.timer = setTimeout(this.flushSoon, wait);
  }

  private waitForNext(): Promise<void> {
    if (!this.next) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.next = { promise, resolve };
    }
    return this.next.promise;
  }

  /** Cuts the buffer into a batch and writes it; only when nothing is in flight. */
  private start(): Promise<void> {
    this.scheduled = false;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.lastFlush = performance.now();
    const batch = this.replaced > 0 ? this.pending.filter((e) => e !== null) : (this.pending as NewEvent[]);
    const waiting = this.next;
    this.pending = [];
    this.replaced = 0;
    this.progressAt.clear();
    this.next = null;
    const flight = this.write(batch).then(() => {
      this.inFlight = null;
      waiting?.resolve();
      if (this.pending.length > 0) {
        // Someone waits for these: write them now; otherwise the usual pacing.
        if (this.next) void this.start();
        else this.schedule();
      }
    });
    this.inFlight = flight;
    return flight;
  }

  private async write(batch: NewEvent[]): Promise<void> {
    try {
      const stored = await this.store.appendEvents(batch);
      this.bus.publish(stored);
      this.onWritten(stored);
    } catch (err) {
      this.failures++;
      this.onError(err);
    }
  }

  /**
   * flush(), but rejects when a flush failed meanwhile: for callers that acknowledge events
   * to their sender only once stored (remote reports, the Redis progress stream), which then
   * resend. Conservative: a failure of any batch of the wait rejects.
   */
  async stored(): Promise<void> {
    const before = this.failures;
    await this.flush();
    if (this.failures !== before) throw new Error('events could not be stored; the sender will resend');
  }

  private readonly flushSoon = (): void => {
    this.timer = null;
    this.scheduled = false;
    if (!this.inFlight && this.pending.length > 0) void this.start();
  };

  /** Publish events the store already wrote (state events from transitions, inserts). */
  published(events: readonly TaskEvent[]): void {
    if (events.length === 0) return;
    this.bus.publish(events);
    this.onWritten(events);
  }
}
