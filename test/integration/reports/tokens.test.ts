/**
 * Every task the local executor runs gets LAKERAY_TASK_TOKEN, minted for its id and attempt
 * under the secret of the server's state dir — in a cold process and in a warm worker alike.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskTokens } from '../../../src/engine/task-tokens.ts';
import { startReportsServer, type ReportsServer } from './server.ts';

let s: ReportsServer;
beforeAll(async () => {
  s = await startReportsServer();
});
afterAll(async () => s?.close());

describe('task tokens', () => {
  it.each([['cold', {}], ['warm', { pool: 'py' }]])('a %s task gets a token for its own id and attempt', async (_kind, extra) => {
    const id = await s.submit({ script: 'env_token.py', ...extra });
    const task = await s.finished(id);
    expect(task.status, JSON.stringify(task.error)).toBe('completed');
    expect(task.result.task_id).toBe(id);
    expect(TaskTokens.fromStateDir(join(s.dir, 'state')).verify(task.result.token)).toEqual({ taskId: id, attempt: 1 });
  });
});
