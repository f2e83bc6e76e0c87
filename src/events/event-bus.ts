/**
 * EventBus: live fan-out of task events to subscribers (SSE, WebSocket, webhooks). The
 * durable log is the TaskStore; the bus only carries events that were already stored, so a
 * subscriber that reconnects reads what it missed from the store and continues live.
 * Implementations: memory.ts (one process) and redis-event-bus.ts (Redis Streams, every node).
 * Every one passes test/integration/events/conformance.ts, which checks the contract written
 * on the methods.
 *
 * A networked bus can lose events (its backend was unreachable, a publish failed, a bounded
 * stream was trimmed before a slow node read it). It does not hide that: it calls the
 * subscription's `onGap`, and the subscriber re-reads the store from the last seq it has
 * (api/feed.ts does). The memory bus never loses an event, so it never calls it.
 */
import type { TaskEvent } from '../domain/events.ts';

export interface Subscription {
  /** Only these tasks (undefined = no task filter; an empty set matches nothing). Read once, at subscribe. */
  taskIds?: ReadonlySet<string>;
  /** Only this tenant's tasks (undefined = every tenant). With taskIds, both must hold. */
  tenant?: string;
  /**
   * Called (with no events) when the bus may have dropped events this subscription should
   * have had. Later events are still delivered; what was dropped is only in the store.
   */
  onGap?: () => void;
}

export type EventHandler = (events: readonly TaskEvent[]) => void;

export interface EventBus {
  /**
   * Fire and forget: never throws. Delivery may be later (a networked bus) or at once; a
   * handler that throws or is slow costs the other subscribers nothing.
   */
  publish(events: readonly TaskEvent[]): void;
  /**
   * Each call is its own subscription. The handler gets every matching event once, in
   * non-empty batches, in publish order (so one task's events arrive in seq order), also when
   * a handler publishes. A handler that throws keeps its subscription. Returns an idempotent
   * unsubscribe: nothing published after it returns is delivered to this subscription.
   */
  subscribe(sub: Subscription, handler: EventHandler): () => void;
  /** Ends all delivery; publish and unsubscribe after it are harmless no-ops. */
  close(): Promise<void>;
}
