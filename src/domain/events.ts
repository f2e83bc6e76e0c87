/**
 * Task event log entries (DESIGN.md §3). Each task's events carry a gap-free sequence number.
 * `webhook` records one delivery attempt of the task's webhook (webhooks/notifier.ts); it may
 * follow the task's terminal state event.
 */
export const EVENT_TYPES = ['state', 'progress', 'log', 'metric', 'artifact', 'result', 'error', 'service', 'webhook'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface TaskEvent {
  task_id: string;
  tenant: string;
  seq: number;
  type: EventType;
  /** epoch ms */
  ts: number;
  data: Record<string, unknown>;
}

/** An event before the store gave it a sequence number. */
export type NewEvent = Omit<TaskEvent, 'seq'>;
