/**
 * Claims: from the scheduling policy's answer to the compare-and-sets `queued → running`
 * (a node's executor also takes its shared queue's tasks in them: node-queues.ts).
 * Admitted tasks first hold their resources (and concrete GPUs) in the executor's ledger, so
 * that nothing else admits into that capacity while the claim's transaction is in flight; a
 * claim whose transaction fails, or a task whose CAS lost (cancelled, or claimed elsewhere),
 * gives them back.
 *
 * Then the executor is asked for room for the task's script (Executor.reserve: a free slot of
 * a ready warm-pool worker). A task without room is not claimed: it stays `pending`, and goes
 * back into the view for the next round (woken by the executor's room listener), so a task is
 * never `running`, with an attempt used up, while it only waits for a worker.
 */
import type { TenantTerms } from '../domain/fair-share.ts';
import { schedule } from '../domain/scheduling.ts';
import type { Task } from '../domain/task.ts';
import type { Executor } from '../executors/executor.ts';
import type { Fence, TransitionRequest } from '../store/task-store.ts';
import type { CandidateView } from './candidates.ts';
import type { Ledger } from './ledger.ts';
import { sharedQueueOf } from './node-queues.ts';

/** Tasks held in an executor's ledger, with the CASes that claim them. */
export interface Claim {
  executor: Executor;
  ledger: Ledger;
  held: Task[];
  requests: TransitionRequest[];
  /** Admitted by the policy, but the executor had no room for them now: still queued. */
  refused: Task[];
  /** The executor's ownership the claim is made under (ownership.ts). */
  fence: Fence;
  now: number;
}

/** What the scheduling policy admits from the view into the ledger's free capacity (tenants: fair share and quotas), taken out of the view. */
export const admit = (view: CandidateView, ledger: Ledger, tenants?: ReadonlyMap<string, TenantTerms>): Task[] =>
  view.take(schedule({ candidates: view.candidates, capacity: ledger.capacity, free: ledger.free, usage: ledger.byTenant, tenants }).admit);

/** Holds resources for `tasks` in the ledger and builds their queued → running CASes. */
export function prepareClaim(executor: Executor, ledger: Ledger, tasks: readonly Task[], now: number, owner: string, leaseMs: number, fence: Fence): Claim {
  const requests: TransitionRequest[] = [];
  const held: Task[] = [];
  const refused: Task[] = [];
  // A node's executor takes tasks of the shared queue it serves in the claim itself (every
  // request names it: one statement shape for the whole claim).
  const shared = sharedQueueOf(fence.executor);
  for (const t of tasks) {
    const gpus = ledger.hold(t.id, t.tenant, t.resources);
    if (gpus === null) continue; // devices fragmented; next round
    if (executor.reserve !== undefined && !executor.reserve(t, gpus)) {
      ledger.release(t.id);
      refused.push(t);
      continue;
    }
    held.push(t);
    requests.push({
      id: t.id,
      fence,
      ...(shared !== undefined ? { shared_queue: shared } : {}),
      from: ['pending'],
      to: 'running',
      patch: {
        attempt: t.attempt + 1,
        started_at: now,
        not_before: null,
        lease_owner: owner,
        lease_expires_at: now + leaseMs,
        assignment: { gpus },
      },
      event: { attempt: t.attempt + 1, ...(gpus.length ? { gpus } : {}) },
      now,
    });
  }
  return { executor, ledger, held, requests, refused, fence, now };
}

/** A task of the claim was not claimed after all: give back its resources and its room. */
export const release = (claim: Claim, taskId: string): void => {
  claim.ledger.release(taskId);
  claim.executor.unreserve?.(taskId);
};

/** A claim's transaction failed: give its tasks' resources and room back. */
export const unhold = (claim: Claim): void => {
  for (const t of claim.held) release(claim, t.id);
};
