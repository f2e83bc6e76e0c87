/**
 * How a task's attempt ends, decided from what happened to its process (pure): the
 * compare-and-set the dispatcher applies when the executor reports the process gone.
 *
 *   user cancel                 → cancelling → cancelled
 *   server shutdown (not done)  → running → queued, the attempt not counted
 *   succeeded                   → running → succeeded (with its `result` event)
 *   failed / timed out          → running → queued (retryable, attempts left; backoff)
 *                                 running → failed  (otherwise)
 *   lost (server or worker died) → running → queued (attempts left), else failed TASK_LOST;
 *                                 cancelling → cancelled          (recoveryTransition)
 *
 * A task's `error` is the error it ended with: only a transition to `failed` sets it. A task
 * that goes back to the queue for another attempt has none (it is cleared), and the error of
 * the attempt that ended is kept in the event history, on the `state` event that re-queued it;
 * so a task that later succeeds or is cancelled never shows an earlier attempt's error.
 */
import { taskError, type TaskError } from '../domain/errors.ts';
import { decideRetry } from '../domain/retry.ts';
import type { Task } from '../domain/task.ts';
import type { RunOutcome } from '../executors/executor.ts';
import type { Fence, TransitionRequest } from '../store/task-store.ts';

/** What the dispatcher knows about a run besides its outcome. */
export interface RunFlags {
  cancelRequested: boolean;
  timedOut: boolean;
  shutdown: boolean;
}

const SUCCEEDED_FROM = ['running'] as const;

/** `fence`: the executor's ownership the run was claimed under (ownership.ts); a deposed owner's settle is refused. */
export function finalTransition(task: Task, run: RunFlags, outcome: RunOutcome, now: number, instanceId: string, fence?: Fence): TransitionRequest {
  const base = { id: task.id, lease_owner: instanceId, fence, now };
  const end = { finished_at: now, lease_owner: null, lease_expires_at: null };
  if (run.cancelRequested)
    return { ...base, from: ['cancelling'], to: 'cancelled', patch: end, event: { reason: task.cancel_reason ?? 'user' } };
  if (run.shutdown && outcome.kind !== 'completed')
    return {
      ...base,
      from: ['running'],
      to: 'pending',
      patch: { attempt: task.attempt - 1, lease_owner: null, lease_expires_at: null, assignment: null, not_before: null },
      event: { reason: 'shutdown' },
    };
  if (outcome.kind === 'completed') {
    // The common case, written out as literals (no spreads): thousands per second settle here.
    const result = outcome.result ?? null;
    return {
      id: task.id,
      lease_owner: instanceId,
      fence,
      now,
      from: SUCCEEDED_FROM,
      to: 'completed',
      patch: { finished_at: now, lease_owner: null, lease_expires_at: null, result },
      event: {},
      before: [{ type: 'result', data: { value: result } }],
    };
  }
  const error: TaskError = run.timedOut
    ? taskError('TASK_TIMEOUT', `the task ran past its timeout of ${task.timeout_s} s`)
    : outcome.kind === 'failed'
      ? outcome.error
      : taskError('EXECUTOR_ERROR', 'the process was stopped by the executor');
  const decision = decideRetry(task.retry, task.attempt, error);
  if (decision.retry)
    return {
      ...base,
      from: ['running'],
      to: 'pending',
      patch: { error: null, lease_owner: null, lease_expires_at: null, assignment: null, not_before: now + decision.delay_ms },
      event: { reason: 'retry', error, retry_in_ms: decision.delay_ms },
    };
  return { ...base, from: ['running'], to: 'failed', patch: { ...end, error }, event: { error } };
}

/** A task whose lease was lost (its server or worker died): see reconciler.ts. */
export const recoveryTransition = (task: Task, now: number, fence?: Fence): TransitionRequest => {
  const cleared = { lease_owner: null, lease_expires_at: null, assignment: null };
  if (task.status === 'cancelling')
    return { id: task.id, fence, from: ['cancelling'], to: 'cancelled', patch: { ...cleared, finished_at: now }, event: { reason: 'recovered' }, now };
  if (task.attempt < task.retry.max_attempts)
    return {
      id: task.id,
      fence,
      from: ['running'],
      to: 'pending',
      patch: { ...cleared, not_before: null, error: null },
      event: { reason: 'lease_lost', error: taskError('TASK_LOST', 'the server or worker running this attempt died') },
      now,
    };
  const error = taskError('TASK_LOST');
  return { id: task.id, fence, from: ['running'], to: 'failed', patch: { ...cleared, finished_at: now, error }, event: { reason: 'lease_lost', error }, now };
};
