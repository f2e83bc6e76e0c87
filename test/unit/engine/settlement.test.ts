import { describe, expect, it } from 'vitest';
import { taskError } from '../../../src/domain/errors.ts';
import { finalTransition, recoveryTransition, type RunFlags } from '../../../src/engine/settlement.ts';
import { taskFixture } from '../../helpers/task-fixture.ts';

const task = taskFixture({
  id: 't1',
  created_at: 0,
  status: 'running',
  attempt: 1,
  timeout_s: 5,
  retry: { max_attempts: 3, backoff_ms: 100, backoff_factor: 2, max_backoff_ms: 1000 },
});
const flags = (over: Partial<RunFlags> = {}): RunFlags => ({ cancelRequested: false, timedOut: false, shutdown: false, ...over });
const NOW = 1_000;

describe('how an attempt ends', () => {
  it('succeeds with its result and gives up the lease', () => {
    const r = finalTransition(task, flags(), { kind: 'completed', result: { ok: 1 } }, NOW, 'me');
    expect(r).toMatchObject({ from: ['running'], to: 'completed', lease_owner: 'me', patch: { result: { ok: 1 }, finished_at: NOW, lease_owner: null } });
  });

  it('a user cancel ends cancelled whatever the process did', () => {
    for (const outcome of [{ kind: 'completed', result: 1 }, { kind: 'cancelled' }] as const)
      expect(finalTransition(task, flags({ cancelRequested: true }), outcome, NOW, 'me')).toMatchObject({ from: ['cancelling'], to: 'cancelled' });
  });

  it('retries a retryable failure with backoff while attempts remain, then fails', () => {
    const failed = { kind: 'failed', error: taskError('SCRIPT_ERROR', 'boom') } as const;
    expect(finalTransition(task, flags(), failed, NOW, 'me')).toMatchObject({ to: 'pending', patch: { not_before: NOW + 100 }, event: { reason: 'retry' } });
    expect(finalTransition({ ...task, attempt: 3 }, flags(), failed, NOW, 'me')).toMatchObject({ to: 'failed', patch: { error: { code: 'SCRIPT_ERROR' } } });
    const lost = { kind: 'failed', error: taskError('TASK_LOST') } as const;
    expect(finalTransition(task, flags(), lost, NOW, 'me')).toMatchObject({ to: 'failed' });
  });

  it('a timeout is TASK_TIMEOUT, retried like any retryable failure', () => {
    const r = finalTransition({ ...task, attempt: 3 }, flags({ timedOut: true }), { kind: 'cancelled' }, NOW, 'me');
    expect(r).toMatchObject({ to: 'failed', patch: { error: { code: 'TASK_TIMEOUT' } } });
  });

  it('a shutdown re-queues an unfinished attempt without counting it, but keeps a success', () => {
    expect(finalTransition(task, flags({ shutdown: true }), { kind: 'cancelled' }, NOW, 'me')).toMatchObject({
      to: 'pending',
      patch: { attempt: 0, not_before: null },
      event: { reason: 'shutdown' },
    });
    expect(finalTransition(task, flags({ shutdown: true }), { kind: 'completed', result: null }, NOW, 'me')).toMatchObject({ to: 'completed' });
  });
});

describe("an earlier attempt's error", () => {
  // The row's `error` is the error the task ended with; a queued or running task has none.
  // Each attempt's error stays in the event history, on the state event that re-queued it.
  const failed = { kind: 'failed', error: taskError('SCRIPT_ERROR', 'boom') } as const;

  it('a retry keeps the error in its state event, not on the row', () => {
    const r = finalTransition(task, flags(), failed, NOW, 'me');
    expect(r).toMatchObject({ to: 'pending', event: { reason: 'retry', error: { code: 'SCRIPT_ERROR', message: 'boom' } } });
    expect(r.patch.error).toBeNull();
  });

  it('a task lost with attempts left is re-queued with TASK_LOST in its state event, not on the row', () => {
    const r = recoveryTransition({ ...task, attempt: 1 }, NOW);
    expect(r).toMatchObject({ from: ['running'], to: 'pending', event: { reason: 'lease_lost', error: { code: 'TASK_LOST' } } });
    expect(r.patch.error).toBeNull();
  });

  it('a task lost with no attempts left fails with TASK_LOST on the row', () => {
    const r = recoveryTransition({ ...task, attempt: 3 }, NOW);
    expect(r).toMatchObject({ to: 'failed', patch: { error: { code: 'TASK_LOST' } }, event: { reason: 'lease_lost', error: { code: 'TASK_LOST' } } });
  });

  it('a cancelling task lost ends cancelled, without an error', () => {
    const r = recoveryTransition({ ...task, status: 'cancelling' }, NOW);
    expect(r).toMatchObject({ from: ['cancelling'], to: 'cancelled', event: { reason: 'recovered' } });
    expect(r.patch.error ?? null).toBeNull();
  });
});
