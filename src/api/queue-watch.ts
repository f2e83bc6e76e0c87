/**
 * Queue positions for streaming clients: while some WebSocket or SSE subscriber watches a
 * queued task, the positions of all watched tasks are read together every `intervalMs` (one
 * store call), and each watcher hears of its task's position when it changed. A task that is
 * no longer queued drops out; with nothing watched the timer stops.
 *
 * Queue order is priority, then age, so a waiting task only moves forward as tasks ahead of
 * it start or are cancelled (a higher-priority submit is the one exception): the positions a
 * watcher hears strictly decrease.
 */
import type { TaskService } from '../engine/task-service.ts';

/** Returns false when the position could not be passed on (the client is backed up): it is offered again. */
export type PositionListener = (position: number) => boolean | void;

interface Watcher {
  listener: PositionListener;
  last: number | undefined;
}

export class QueueWatch {
  private readonly watchers = new Map<string, Set<Watcher>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private soon = false;

  constructor(
    private readonly tasks: TaskService,
    private readonly intervalMs = 300,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Watch a queued task; the first position comes at once. Returns the unwatch function. */
  watch(taskId: string, listener: PositionListener): () => void {
    const w: Watcher = { listener, last: undefined };
    let set = this.watchers.get(taskId);
    if (!set) this.watchers.set(taskId, (set = new Set()));
    set.add(w);
    this.start();
    this.tickSoon();
    return () => {
      const s = this.watchers.get(taskId);
      s?.delete(w);
      if (s?.size === 0) this.watchers.delete(taskId);
      if (this.watchers.size === 0) this.stop();
    };
  }

  get watching(): number {
    return this.watchers.size;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private tickSoon(): void {
    if (this.soon) return;
    this.soon = true;
    setImmediate(() => {
      this.soon = false;
      void this.tick();
    });
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.watchers.size === 0) return;
    this.ticking = true;
    try {
      const positions = await this.tasks.queuePositions([...this.watchers.keys()]);
      // Synchronous from here on: an unwatch between the read and now is honoured.
      for (const [id, set] of this.watchers) {
        const position = positions.get(id);
        if (position === undefined) {
          this.watchers.delete(id); // started, cancelled or gone: nothing more to say
          continue;
        }
        for (const w of set) {
          if (w.last === position) continue;
          if (w.listener(position) !== false) w.last = position;
        }
      }
      if (this.watchers.size === 0) this.stop();
    } catch (err) {
      this.onError(err);
    } finally {
      this.ticking = false;
    }
  }
}
