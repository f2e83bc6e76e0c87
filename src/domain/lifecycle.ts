/**
 * The task state machine.
 *
 *   pending ──start──▶ running ──succeed──▶ completed
 *     │                 │ ├────fail─────▶ failed
 *     │                 │ └────retry────▶ pending     (attempts remain; backoff in not_before)
 *     │                 └──cancel──▶ cancelling ──stopped──▶ cancelled
 *     ├──cancel───────────────────────────────────────▶ cancelled
 *     └──fail (lost, cannot run) ─────────────────────▶ failed
 *
 * Stores apply a transition with a compare-and-set on the current status (and lease owner),
 * so whatever crashes, a task completes at most once.
 */
import { LakerayError } from './errors.ts';
import type { TaskStatus } from './task.ts';

export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  pending: ['running', 'cancelled', 'failed'],
  running: ['completed', 'failed', 'pending', 'cancelling'],
  cancelling: ['cancelled', 'failed'],
  completed: [],
  failed: [],
  cancelled: [],
};

export const canTransition = (from: TaskStatus, to: TaskStatus): boolean => TRANSITIONS[from].includes(to);

export class IllegalTransitionError extends LakerayError {
  constructor(
    readonly from: TaskStatus,
    readonly to: TaskStatus,
  ) {
    super('INTERNAL_ERROR', `illegal task transition ${from} → ${to}`);
  }
}

/** Returns `to` when legal, throws otherwise. */
export const transition = (from: TaskStatus, to: TaskStatus): TaskStatus => {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
  return to;
};

/** The statuses from which `to` can be reached: the `from` set of a compare-and-set. */
export const sourcesOf = (to: TaskStatus): TaskStatus[] =>
  (Object.keys(TRANSITIONS) as TaskStatus[]).filter((from) => TRANSITIONS[from].includes(to));
