import { describe, expect, it } from 'vitest';
import { resources } from '../../../../src/domain/resources.ts';
import { entrypointResources } from '../../../../src/executors/ray/entrypoint-resources.ts';
import { RayApiError, kindOfStatus, rayTextSummary } from '../../../../src/executors/ray/ray-api-error.ts';

describe('entrypointResources', () => {
  it('maps cpu, gpu, memory (whole bytes) and custom resources; leaves zeros out', () => {
    expect(entrypointResources(resources({ cpu: 0.5, gpu: 1, memory_mb: 1.5, custom: { A100: 1, unused: 0 } }))).toEqual({
      entrypoint_num_cpus: 0.5,
      entrypoint_num_gpus: 1,
      entrypoint_memory: 1_572_864,
      entrypoint_resources: { A100: 1 },
    });
    expect(Number.isInteger(entrypointResources(resources({ memory_mb: 0.3 })).entrypoint_memory)).toBe(true);
    expect(entrypointResources(resources())).toEqual({});
  });
});

describe('RayApiError', () => {
  it('is retryable for unreachable, timeout and server errors only', () => {
    const kinds = ['unreachable', 'timeout', 'server', 'not_found', 'unauthorized', 'rejected', 'not_terminal', 'invalid_request'] as const;
    expect(kinds.filter((k) => new RayApiError(k, k).retryable)).toEqual(['unreachable', 'timeout', 'server']);
  });

  it('classifies statuses: 404, 401/403, other 4xx, 5xx, and the 500 of deleting a running job', () => {
    expect(kindOfStatus(404, 'Job x does not exist')).toBe('not_found');
    expect(kindOfStatus(401, '')).toBe('unauthorized');
    expect(kindOfStatus(403, '')).toBe('unauthorized');
    expect(kindOfStatus(400, 'TypeError')).toBe('rejected');
    expect(kindOfStatus(500, 'No available agent to submit job')).toBe('server');
    expect(kindOfStatus(500, "RuntimeError: Attempted to delete job 'x', but it is in a non-terminal state PENDING.")).toBe('not_terminal');
  });

  it('summarises a traceback by its last line', () => {
    expect(rayTextSummary('Traceback (most recent call last):\n  File "x"\nValueError: Job with submission_id x already exists.\n.\n')).toBe(
      'ValueError: Job with submission_id x already exists.',
    );
  });
});
