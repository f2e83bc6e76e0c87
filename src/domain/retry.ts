/** Retry decisions: pure, so the engine and tests agree on what happens after a failure. */
import { isRetryable, type TaskError } from './errors.ts';
import type { RetryPolicy } from './task.ts';

export const DEFAULT_RETRY: RetryPolicy = { max_attempts: 1, backoff_ms: 1000, backoff_factor: 2, max_backoff_ms: 60_000 };

/** Delay before attempt `attempt + 1`, after `attempt` attempts have failed (attempt ≥ 1). */
export const backoffDelay = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.max_backoff_ms, policy.backoff_ms * policy.backoff_factor ** Math.max(0, attempt - 1));

export type RetryDecision = { retry: true; delay_ms: number } | { retry: false };

export const decideRetry = (policy: RetryPolicy, attempt: number, error: TaskError): RetryDecision =>
  attempt < policy.max_attempts && isRetryable(error.code) ? { retry: true, delay_ms: backoffDelay(policy, attempt) } : { retry: false };
