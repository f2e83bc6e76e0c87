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

/**
 * An event before the store gave it a sequence number. `fence`: the executor ownership the
 * reporting run was claimed under (store/task-store.ts, Fence); the store drops the event
 * unless that ownership is current and the task is that executor's, so a deposed owner's
 * late reports are never written.
 */
export type NewEvent = Omit<TaskEvent, 'seq'> & { fence?: { executor: string; epoch: number } };
