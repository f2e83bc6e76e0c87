/**
 * EventBus: live fan-out of task events to subscribers (SSE, WebSocket, webhooks). The
 * durable log is the TaskStore; the bus only carries events that were already stored, so a
 * subscriber that reconnects reads what it missed from the store and continues live.
 * Implementations: memory.ts (one process), later redis (Redis Streams) — one conformance suite.
 */
import type { TaskEvent } from '../domain/events.ts';

export interface Subscription {
  /** Only these tasks (undefined = no task filter). */
  taskIds?: ReadonlySet<string>;
  /** Only this tenant's tasks (undefined = every tenant). */
  tenant?: string;
}

export type EventHandler = (events: readonly TaskEvent[]) => void;

export interface EventBus {
  publish(events: readonly TaskEvent[]): void;
  /** Handler gets batches in publish order; returns an unsubscribe function. */
  subscribe(sub: Subscription, handler: EventHandler): () => void;
  close(): Promise<void>;
}
