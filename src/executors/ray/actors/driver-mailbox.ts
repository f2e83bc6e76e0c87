/**
 * The long poll of an actors-mode driver: what waits for the driver's next poll, and the poll
 * that waits for work. One poll is held at a time; it is answered at once when a run or cancel
 * is queued, when a newer poll arrives (the driver sends one at once to report a task that died),
 * when its client goes away, or after `waitMs` with nothing.
 *
 * A queued item leaves with the answer. If that answer never reaches the driver (the
 * connection broke), the task is not in the next poll's `running` or `done`: the executor sees
 * that it is missing and fails it (the engine retries), rather than sending it twice.
 */
import type { DriverPollAnswer, DriverRunItem } from '../../../domain/driver-poll.ts';

interface Held {
  resolve(answer: DriverPollAnswer): void;
  timer: NodeJS.Timeout;
}

export class DriverMailbox {
  private runs: DriverRunItem[] = [];
  private cancels: { task_id: string; grace_ms: number }[] = [];
  private held: Held | undefined;

  constructor(private readonly waitMs: number) {}

  run(item: DriverRunItem): void {
    this.runs.push(item);
    this.flush();
  }

  cancel(taskId: string, graceMs: number): void {
    this.cancels.push({ task_id: taskId, grace_ms: graceMs });
    this.flush();
  }

  /** A poll is held now: its driver is alive (a driver that dies drops the connection, which ends it). */
  get holding(): boolean {
    return this.held !== undefined;
  }

  /** True when the run was still queued (never sent): taken back. */
  takeBack(taskId: string): boolean {
    const queued = this.runs.findIndex((r) => r.task_id === taskId);
    if (queued < 0) return false;
    this.runs.splice(queued, 1);
    return true;
  }

  /** Answer this poll now or hold it; `gone` (the client left) answers it empty. */
  wait(gone: AbortSignal, stop = false): Promise<DriverPollAnswer> {
    this.flush(); // a newer poll answers the older one
    if (stop) return Promise.resolve({ run: [], cancel: [], stop: true });
    if (this.runs.length > 0 || this.cancels.length > 0) return Promise.resolve(this.take());
    return new Promise((resolve) => {
      const held: Held = { resolve, timer: setTimeout(() => this.flush(), this.waitMs) };
      this.held = held;
      gone.addEventListener(
        'abort',
        () => {
          if (this.held !== held) return;
          this.held = undefined;
          clearTimeout(held.timer);
          resolve({ run: [], cancel: [] }); // nobody reads it: keep the queue for the next poll
        },
        { once: true },
      );
    });
  }

  /** Answer the held poll (the executor closes; later polls are held, so a driver never spins). */
  close(): void {
    this.flush();
  }

  private flush(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    clearTimeout(held.timer);
    held.resolve(this.take());
  }

  private take(): DriverPollAnswer {
    const answer = { run: this.runs, cancel: this.cancels };
    this.runs = [];
    this.cancels = [];
    return answer;
  }
}
