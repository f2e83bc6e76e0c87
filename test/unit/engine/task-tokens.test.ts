import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskTokens } from '../../../src/engine/task-tokens.ts';
import { tempDir } from '../../helpers/server-process.ts';

describe('TaskTokens', () => {
  const tokens = new TaskTokens(Buffer.alloc(32, 7));

  it('verifies what it minted, for that task and attempt only', () => {
    const t = tokens.mint('t_01ABC', 2);
    expect(tokens.verify(t)).toEqual({ taskId: 't_01ABC', attempt: 2 });
    expect(tokens.verify(tokens.mint('t_other', 2))).toEqual({ taskId: 't_other', attempt: 2 });
    expect(tokens.mint('t_01ABC', 1)).not.toBe(t);
  });

  it('refuses tokens of another secret, tampered ones and garbage', () => {
    const t = tokens.mint('t_01ABC', 1);
    expect(new TaskTokens(Buffer.alloc(32, 8)).verify(t)).toBeNull();
    const [v, id, , mac] = t.split('.');
    expect(tokens.verify(`${v}.${id}.2.${mac}`)).toBeNull(); // another attempt, same MAC
    expect(tokens.verify(`${v}.${Buffer.from('t_other').toString('base64url')}.1.${mac}`)).toBeNull();
    expect(tokens.verify(t.slice(0, -2))).toBeNull();
    for (const bad of ['', 'x', 'a.b.c.d', `${v}.${id}.0.${mac}`, `${v}.${id}.-1.${mac}`, `${v}.${id}.1e3.${mac}`, `${t}.x`]) expect(tokens.verify(bad)).toBeNull();
  });

  it('keeps its secret in the state dir (mode 0600), so tokens outlive a restart', () => {
    const dir = tempDir();
    const first = TaskTokens.fromStateDir(dir);
    const t = first.mint('t_1', 1);
    expect(statSync(join(dir, 'task-token.key')).mode & 0o777).toBe(0o600);
    expect(TaskTokens.fromStateDir(dir).verify(t)).toEqual({ taskId: 't_1', attempt: 1 });
    expect(TaskTokens.fromStateDir(tempDir()).verify(t)).toBeNull();
  });

  it('nodes with different state dirs share tokens through LAKERAY_TASK_TOKEN_KEY, which wins over the state dir; a malformed key stops the start', () => {
    const env = { LAKERAY_TASK_TOKEN_KEY: 'ab'.repeat(32) };
    const a = TaskTokens.fromEnvOrStateDir(tempDir(), env);
    const t = a.mint('t_1', 1);
    expect(TaskTokens.fromEnvOrStateDir(tempDir(), env).verify(t)).toEqual({ taskId: 't_1', attempt: 1 });
    expect(TaskTokens.fromEnvOrStateDir(tempDir(), {}).verify(t)).toBeNull();
    const dir = tempDir();
    expect(TaskTokens.fromEnvOrStateDir(dir, {}).verify(TaskTokens.fromStateDir(dir).mint('t_2', 1))).toEqual({ taskId: 't_2', attempt: 1 });
    for (const bad of ['abc', 'ab'.repeat(15), 'zz'.repeat(32)]) expect(() => TaskTokens.fromEnvOrStateDir(tempDir(), { LAKERAY_TASK_TOKEN_KEY: bad })).toThrow(/LAKERAY_TASK_TOKEN_KEY/);
  });

  it('executor tokens: valid for their executor only, never as a task token, and no task token passes for one', () => {
    const t = tokens.mintExecutor('gpu-cluster');
    expect(tokens.verifyExecutor(t, 'gpu-cluster')).toBe(true);
    expect(tokens.verifyExecutor(t, 'other')).toBe(false);
    expect(new TaskTokens(Buffer.alloc(32, 8)).verifyExecutor(t, 'gpu-cluster')).toBe(false);
    expect(tokens.verify(t)).toBeNull();
    expect(tokens.verifyExecutor(tokens.mint('gpu-cluster', 1), 'gpu-cluster')).toBe(false);
    expect(tokens.verifyExecutor(`${t}x`, 'gpu-cluster')).toBe(false);
    expect(tokens.verifyExecutor('', 'gpu-cluster')).toBe(false);
  });
});
