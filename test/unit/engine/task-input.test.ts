/**
 * What a task submission may contain, below the API: the name rule (taskInput) and the
 * bounds on params that compileTask enforces for every caller, the API or not.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { LakerayError } from '../../../src/domain/errors.ts';
import { resources } from '../../../src/domain/resources.ts';
import { compileTask, type SubmissionContext } from '../../../src/engine/submission.ts';
import { TASK_NAME_RULE, taskInput } from '../../../src/engine/task-input.ts';
import type { Executor } from '../../../src/executors/executor.ts';

const nameIssue = (name: string): string | null => {
  const r = taskInput.safeParse({ script: 'ok.py', name });
  return r.success ? null : (r.error.issues[0]?.message ?? 'invalid');
};

describe('task names', () => {
  it.each(['héllo', 'he\u0301llo', '日本語', 'Ünïcode-1.2', 'देवनागरी', 'مرحبا', 'Ελληνικά', 'mnist_cnn_v1', 'team/job:1@v2', '٣'])('accepts %s', (name) => {
    expect(nameIssue(name)).toBeNull();
  });

  it.each([
    ['a space', 'my task'],
    ['a newline', 'a\nb'],
    ['a tab', 'a\tb'],
    ['a bidi override', 'abc\u202Eexe'],
    ['a zero-width joiner', 'a\u200Db'],
    ['a quote', 'a"b'],
    ['a semicolon', 'a;b'],
    ['an emoji', 'run🚀'],
    ['a backslash', 'a\\b'],
  ])('refuses %s, saying exactly what is allowed', (_what, name) => {
    expect(nameIssue(name)).toBe(TASK_NAME_RULE);
  });

  it('says what is allowed in words', () => {
    expect(TASK_NAME_RULE).toBe('letters and digits of any script (with their accents), and _ . : @ / - (no spaces)');
  });
});

describe('params bounds in compileTask', () => {
  const config = parseConfig({ script_roots: [resolve(import.meta.dirname, '../../fixtures/scripts')], data_roots: [], tasks: { max_params_bytes: 1024 } }, process.cwd(), {});
  const executor = { name: 'local', capacity: resources({ cpu: 4 }) } as unknown as Executor;
  const ctx: SubmissionContext = { config, executors: new Map([['local', executor]]), pools: new Map(), defaultExecutor: 'local' };
  const compile = (params: Record<string, unknown>) => compileTask({ script: 'ok.py', params }, 'default', ctx, 0);
  const refusal = (params: Record<string, unknown>): string => {
    try {
      compile(params);
    } catch (err) {
      expect(err).toBeInstanceOf(LakerayError);
      expect((err as LakerayError).code).toBe('INVALID_REQUEST');
      return (err as LakerayError).message;
    }
    throw new Error('accepted');
  };
  const nested = (depth: number): Record<string, unknown> => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

  it('takes params up to server.max_json_depth levels and tasks.max_params_bytes bytes', () => {
    expect(compile(nested(64)).params).toEqual(nested(64));
    expect(compile({ s: 'x'.repeat(1000) }).params).toEqual({ s: 'x'.repeat(1000) });
  });

  it('refuses deeper params without overflowing, however deep (callers that are not the API too)', () => {
    expect(refusal(nested(65))).toBe('params: nested more than 64 levels deep (the limit is server.max_json_depth = 64)');
    expect(refusal(nested(200_000))).toContain('nested more than 64 levels');
  });

  it('refuses numbers JSON.parse turned into Infinity (they would be stored as null)', () => {
    expect(refusal({ lr: 0.001, steps: [1, -Infinity] })).toBe('params: the number at "1" does not fit a 64-bit float (e.g. 1e400)');
    expect(refusal(JSON.parse('{"big": 1e400}'))).toContain('"big"');
  });

  it('refuses larger params, saying the size and the limit', () => {
    expect(refusal({ s: 'x'.repeat(1100) })).toBe('params: 1108 bytes of JSON is over the limit of 1024 (tasks.max_params_bytes); pass large data as input');
    expect(refusal({ s: 'é'.repeat(600) })).toContain('1208 bytes'); // bytes, not characters
  });
});
