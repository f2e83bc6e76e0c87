/**
 * One WebSocket to /api/v1/ws for the whole UI (protocol: src/api/ws.ts), shared by every
 * page that watches tasks live.
 *
 *   subscribeAll(fn)          every live event of the tenant's tasks (tasks table)
 *   subscribeTask(id, fn)     one task's events from seq 0 (replayed), then live (detail, video)
 *   onQueue(id, fn)           queue-position pushes for a subscribed queued task (an event of
 *                             type "queue" with data.position and no seq)
 *   onStatus(fn)              connecting | open | closed, for the "Live" indicator
 *
 * Each listener sees each event once and in order: a listener remembers the last seq it got
 * and drops anything not newer. That makes the rest simple: a reconnect resubscribes every
 * task with `after` = the lowest seq its listeners have, a second listener on a task already
 * followed resubscribes from 0 so it gets the replay, and whatever arrives twice is dropped.
 * The socket opens on the first subscription, closes a while after the last one goes, and
 * reconnects with backoff (1 s doubling to 15 s) while anything is subscribed.
 */
import type { TaskEvent } from './types.ts';
import { withToken } from './auth.ts';

export type LiveStatus = 'idle' | 'connecting' | 'open' | 'closed';
type EventFn = (event: TaskEvent) => void;

interface Listener {
  fn: EventFn;
  lastSeq: Map<string, number>;
}

const IDLE_CLOSE_MS = 10_000;

class LiveSocket {
  private ws: WebSocket | null = null;
  private status: LiveStatus = 'idle';
  private readonly statusFns = new Set<(s: LiveStatus) => void>();
  private readonly allListeners = new Set<Listener>();
  private readonly taskListeners = new Map<string, Set<Listener>>();
  private readonly queueFns = new Map<string, Set<(position: number) => void>>();
  private retryMs = 1000;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;

  subscribeAll(fn: EventFn): () => void {
    const l: Listener = { fn, lastSeq: new Map() };
    this.allListeners.add(l);
    if (this.allListeners.size === 1) this.send({ op: 'subscribe', all: true });
    this.ensureOpen();
    return () => {
      this.allListeners.delete(l);
      if (this.allListeners.size === 0) this.send({ op: 'unsubscribe', all: true });
      this.maybeIdle();
    };
  }

  subscribeTask(id: string, fn: EventFn, after = 0): () => void {
    const l: Listener = { fn, lastSeq: new Map([[id, after]]) };
    let set = this.taskListeners.get(id);
    if (!set) this.taskListeners.set(id, (set = new Set()));
    set.add(l);
    this.send({ op: 'subscribe', tasks: [id], after: { [id]: after } });
    this.ensureOpen();
    return () => {
      set.delete(l);
      if (set.size === 0) {
        this.taskListeners.delete(id);
        this.send({ op: 'unsubscribe', tasks: [id] });
      }
      this.maybeIdle();
    };
  }

  onQueue(id: string, fn: (position: number) => void): () => void {
    let set = this.queueFns.get(id);
    if (!set) this.queueFns.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.queueFns.delete(id);
    };
  }

  onStatus(fn: (s: LiveStatus) => void): () => void {
    this.statusFns.add(fn);
    fn(this.status);
    return () => this.statusFns.delete(fn);
  }

  getStatus(): LiveStatus {
    return this.status;
  }

  private get wanted(): boolean {
    return this.allListeners.size > 0 || this.taskListeners.size > 0;
  }

  private setStatus(s: LiveStatus): void {
    this.status = s;
    for (const fn of this.statusFns) fn(s);
  }

  private send(msg: Record<string, unknown>): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
    // Not open: everything is (re)subscribed on open.
  }

  private ensureOpen(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (this.ws || this.retryTimer) return;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`;
    this.setStatus('connecting');
    let ws: WebSocket;
    try {
      ws = new WebSocket(withToken(url));
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = 1000;
      this.setStatus('open');
      if (this.allListeners.size > 0) this.send({ op: 'subscribe', all: true });
      for (const [id, set] of this.taskListeners) {
        let after = Infinity;
        for (const l of set) after = Math.min(after, l.lastSeq.get(id) ?? 0);
        this.send({ op: 'subscribe', tasks: [id], after: { [id]: Number.isFinite(after) ? after : 0 } });
      }
    };
    ws.onmessage = (msg) => this.onMessage(msg.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setStatus(this.wanted ? 'closed' : 'idle');
      if (this.wanted) this.scheduleRetry();
    };
    // onerror is always followed by onclose; nothing to do here.
    ws.onerror = () => {};
  }

  private scheduleRetry(): void {
    this.setStatus('closed');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.wanted) this.ensureOpen();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 15_000);
  }

  private maybeIdle(): void {
    if (this.wanted || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.wanted) return;
      const ws = this.ws;
      this.ws = null;
      ws?.close(1000, 'idle');
      this.setStatus('idle');
    }, IDLE_CLOSE_MS);
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: { type?: string; event?: TaskEvent; task_id?: string; position?: number };
    try {
      msg = JSON.parse(data) as typeof msg;
    } catch {
      return;
    }
    if (msg.type === 'event' && msg.event) {
      const ev = msg.event as TaskEvent | { type: 'queue'; task_id: string; data: { position?: unknown } };
      // Queue positions are pushed as seq-less events outside the stored log.
      if (ev.type === 'queue') this.queue(ev.task_id, ev.data?.position);
      else this.dispatch(ev);
    } else if (msg.type === 'queue' && typeof msg.task_id === 'string') this.queue(msg.task_id, msg.position);
  }

  private queue(taskId: string, position: unknown): void {
    if (typeof position !== 'number') return;
    for (const fn of this.queueFns.get(taskId) ?? []) fn(position);
  }

  private dispatch(event: TaskEvent): void {
    const deliver = (l: Listener) => {
      if (typeof event.seq !== 'number') return l.fn(event); // outside the stored log
      const last = l.lastSeq.get(event.task_id) ?? 0;
      if (event.seq <= last) return;
      l.lastSeq.set(event.task_id, event.seq);
      l.fn(event);
    };
    for (const l of this.taskListeners.get(event.task_id) ?? []) deliver(l);
    for (const l of this.allListeners) deliver(l);
  }
}

export const live = new LiveSocket();
