/**
 * The notifier writes a task's `completed` delivery right after the transition that ended the
 * task commits, in the process that made it. A kill -9 between the two, or a store outage that
 * fails the write, would lose the delivery. This sweep closes the gap: every process looks for
 * tasks that ended with a webhook and have no `completed` delivery, and writes it. The store
 * keeps at most one `completed` delivery per task (a unique index), so processes sweeping at
 * once, and a notifier that was merely slow, write it once.
 *
 * Each sweep walks (finished_at, id) forward from where the last one stopped, over tasks that
 * ended at least GRACE_MS ago (the notifier's own write comes first; the sweep's would
 * otherwise reach the receiver before a `start` still being written). A starting process looks
 * back LOOKBACK_MS: after a longer outage of every process, earlier completions stay unsent.
 */
import type { Task } from '../domain/task.ts';
import type { FinishedCursor, WebhookOutboxStore } from '../store/webhook-outbox-store.ts';

export const MISSED_SWEEP_MS = 5_000;
export const MISSED_GRACE_MS = 10_000;
export const MISSED_LOOKBACK_MS = 24 * 3600_000;
/** `completed` deliveries outlive the look-back: the sweep reads them to know what was written. */
export const COMPLETED_KEEP_MS = 2 * MISSED_LOOKBACK_MS;
const PAGE = 200;

export interface MissedCompletionDeps {
  outbox: WebhookOutboxStore;
  /** Writes the task's `completed` delivery (the notifier's own path, which knows its body). */
  enqueue: (task: Task) => Promise<void>;
  now: () => number;
  onError?: (err: unknown, context: string) => void;
}

export class MissedCompletionSweep {
  private cursor: FinishedCursor;
  private running = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly deps: MissedCompletionDeps) {
    this.cursor = { finished_at: deps.now() - MISSED_LOOKBACK_MS, id: '' };
    this.timer = setInterval(() => void this.sweep(), MISSED_SWEEP_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** One pass up to now − GRACE_MS; overlapping calls are skipped (the next tick goes on). */
  async sweep(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const until = this.deps.now() - MISSED_GRACE_MS;
      for (;;) {
        const page = await this.deps.outbox.missedCompletions(this.cursor, until, PAGE);
        for (const task of page) await this.deps.enqueue(task);
        if (page.length < PAGE) break;
        const last = page[page.length - 1]!;
        this.cursor = { finished_at: last.finished_at!, id: last.id };
      }
      // Everything up to `until` is written; ties at `until` are looked at again, harmlessly.
      this.cursor = { finished_at: until, id: '' };
    } catch (err) {
      this.deps.onError?.(err, 'webhook missed completions'); // the next tick retries from the same cursor
    } finally {
      this.running = false;
    }
  }
}
