import { describe, expect, it } from 'vitest';
import { pickDevices } from '../../../src/domain/gpu.ts';
import { add, dominantShare, fits, resources, sub } from '../../../src/domain/resources.ts';
import { backoffDelay, decideRetry, DEFAULT_RETRY } from '../../../src/domain/retry.ts';
import { taskError, isRetryable } from '../../../src/domain/errors.ts';

describe('resources', () => {
  it('fits compares every dimension including custom', () => {
    const cap = resources({ cpu: 2, memory_mb: 1000, gpu: 1, custom: { tpu: 1 } });
    expect(fits(resources({ cpu: 2 }), cap)).toBe(true);
    expect(fits(resources({ cpu: 2.5 }), cap)).toBe(false);
    expect(fits(resources({ gpu: 2 }), cap)).toBe(false);
    expect(fits(resources({ custom: { tpu: 1 } }), cap)).toBe(true);
    expect(fits(resources({ custom: { fpga: 1 } }), cap)).toBe(false);
  });

  it('tolerates float drift of fractional cpus', () => {
    let used = resources();
    for (let i = 0; i < 10; i++) used = add(used, resources({ cpu: 0.1 }));
    expect(fits(resources({ cpu: 1 }), used)).toBe(true);
    expect(sub(used, resources({ cpu: 1 })).cpu).toBeCloseTo(0);
  });

  it('dominant share is the largest fraction used', () => {
    expect(dominantShare(resources({ cpu: 1, gpu: 1 }), resources({ cpu: 4, gpu: 2 }))).toBe(0.5);
    expect(dominantShare(resources(), resources({ cpu: 4 }))).toBe(0);
  });
});

describe('retry', () => {
  const policy = { ...DEFAULT_RETRY, max_attempts: 3, backoff_ms: 100, backoff_factor: 2, max_backoff_ms: 300 };
  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(policy, a))).toEqual([100, 200, 300, 300]);
  });
  it('retries retryable errors while attempts remain', () => {
    expect(decideRetry(policy, 1, taskError('SCRIPT_ERROR'))).toEqual({ retry: true, delay_ms: 100 });
    expect(decideRetry(policy, 3, taskError('SCRIPT_ERROR'))).toEqual({ retry: false });
    expect(decideRetry(policy, 1, taskError('TASK_LOST'))).toEqual({ retry: false });
    expect(isRetryable('NOT_A_CODE')).toBe(false);
  });
});

describe('gpu assignment', () => {
  it('picks the lowest free devices and never shares', () => {
    expect(pickDevices(['0', '1', '2', '3'], ['1'], 2)).toEqual(['0', '2']);
    expect(pickDevices(['0', '1'], ['0', '1'], 1)).toBeNull();
    expect(pickDevices(['0'], [], 0)).toEqual([]);
  });
});
