/**
 * Per-connection outbox for event streams (SSE and WebSocket).
 *
 * Mode machine:
 *   direct  — the queue is empty and the transport has room: push() writes at once, in the
 *             same tick as the bus publish (no timer, no copy).
 *   backlog — the transport is backed up (or items are already waiting): push() queues.
 *             A queued `progress` item is superseded by a newer one with the same key (the
 *             task): the older is dropped, the newer keeps its own place, so the stream stays
 *             in sequence order and the latest value always arrives. Every other item keeps
 *             its place. flush(), called when the transport reports room, drains the queue
 *             and returns to direct.
 *   closed  — close() or overflow: everything is dropped. A client too slow to take even the
 *             non-coalescible events (logs) is disconnected rather than allowed to grow the
 *             server's memory; it resumes from its last sequence number.
 */
export interface OutboxSink<T> {
  /** True when the transport can take another item now. */
  writable(): boolean;
  write(item: T): void;
}

export interface OutboxOptions<T> {
  /** Coalescing key (e.g. the task id of a progress event); null = never coalesced. */
  keyOf(item: T): string | null;
  /** Queued (non-superseded) items beyond which the connection is given up. */
  maxQueued: number;
  onOverflow(): void;
}

interface Slot<T> {
  item: T;
  key: string | null;
  dropped: boolean;
}

export class Outbox<T> {
  private slots: Slot<T>[] = [];
  private head = 0;
  private waiting = 0;
  private readonly latest = new Map<string, Slot<T>>();
  private drainWaiters: (() => void)[] = [];
  private flushing = false;
  private closed = false;

  constructor(
    private readonly sink: OutboxSink<T>,
    private readonly opts: OutboxOptions<T>,
  ) {}

  /** Items waiting to be written. */
  get queued(): number {
    return this.waiting;
  }

  /** True while writes would queue; producers that can wait (history replay) should. */
  backedUp(): boolean {
    return this.waiting > 0 || !this.sink.writable();
  }

  push(item: T): void {
    if (this.closed) return;
    if (this.waiting === 0 && this.sink.writable()) {
      this.sink.write(item);
      return;
    }
    const key = this.opts.keyOf(item);
    if (key !== null) {
      const prev = this.latest.get(key);
      if (prev) {
        prev.dropped = true;
        this.waiting--;
      }
    }
    const slot: Slot<T> = { item, key, dropped: false };
    if (key !== null) this.latest.set(key, slot);
    this.slots.push(slot);
    this.waiting++;
    if (this.waiting > this.opts.maxQueued) {
      this.close();
      this.opts.onOverflow();
      return;
    }
    this.compact();
  }

  /** Call when the transport has room again (socket drain / write callback). */
  flush(): void {
    if (this.closed || this.flushing || (this.waiting === 0 && this.drainWaiters.length === 0)) return;
    this.flushing = true;
    try {
      while (this.waiting > 0 && !this.closed && this.sink.writable()) {
        const slot = this.slots[this.head++] as Slot<T>;
        if (slot.dropped) continue;
        this.waiting--;
        if (slot.key !== null && this.latest.get(slot.key) === slot) this.latest.delete(slot.key);
        this.sink.write(slot.item);
      }
      if (this.waiting === 0) {
        this.slots = [];
        this.head = 0;
      } else this.compact();
    } finally {
      this.flushing = false;
    }
    if (!this.closed && this.drainWaiters.length > 0 && !this.backedUp()) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Runs `cb` once nothing is queued and the transport has room (at once if so now). */
  onceDrained(cb: () => void): void {
    if (this.closed) return;
    if (!this.backedUp()) cb();
    else this.drainWaiters.push(cb);
  }

  close(): void {
    this.closed = true;
    this.slots = [];
    this.head = 0;
    this.waiting = 0;
    this.latest.clear();
    this.drainWaiters = [];
  }

  // Superseded slots and the consumed prefix are garbage; drop them once they dominate.
  private compact(): void {
    const held = this.slots.length - this.head;
    if (held < 1024 || held < 2 * this.waiting) return;
    this.slots = this.slots.slice(this.head).filter((s) => !s.dropped);
    this.head = 0;
  }
}
