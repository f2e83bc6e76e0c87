/**
 * POST /api/v1/tasks/{id}/reports against a real server: the test opens the task's channel
 * in the hub, as an executor of remote tasks does, and plays the remote harness over HTTP.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HarnessMessage } from '../../../src/runtime/protocol.ts';
import { api } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { startReportsServer, type ReportsServer } from './server.ts';

let s: ReportsServer;
beforeAll(async () => {
  s = await startReportsServer();
});
afterAll(async () => s?.close());

async function post(id: string, body: unknown, token?: string) {
  const r = await request(`${s.url}/api/v1/tasks/${id}/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  return { status: r.statusCode, headers: r.headers, body: (await r.body.json()) as any };
}

async function runningTask(): Promise<string> {
  const id = await s.submit({ script: 'waits.py' });
  await until('task running', async () => (await s.get(id)).status === 'running');
  return id;
}

const batch = (attempt: number, ...seqs: number[]) => ({
  attempt,
  messages: seqs.map((seq) => ({ seq, type: 'progress', task_id: 'someone-else', fraction: seq / 10, message: `m${seq}` })),
});

describe('POST /api/v1/tasks/{id}/reports', () => {
  it('hands new messages to the open channel in seq order, skips what it stored before, acks the highest seq', async () => {
    const id = await runningTask();
    const got: HarnessMessage[] = [];
    const channel = s.server.reports.open(id, 1, (m) => void got.push(m));
    const token = s.server.tokens.mint(id, 1);
    try {
      expect(await post(id, batch(1, 1, 2, 3), token)).toMatchObject({ status: 200, body: { acked: 3 } });
      expect(await post(id, batch(1, 2, 3, 4), token)).toMatchObject({ status: 200, body: { acked: 4 } }); // a retry, plus one
      expect(await post(id, batch(1, 3), token)).toMatchObject({ status: 200, body: { acked: 4 } });
      expect(got.map((m) => [m.type, (m as { message: string }).message, (m as { task_id: string }).task_id])).toEqual(
        [1, 2, 3, 4].map((n) => ['progress', `m${n}`, id]),
      );
      expect(await post(id, { attempt: 1, messages: [{ seq: 5, type: 'log', message: 'x' }, { seq: 5, type: 'log', message: 'y' }] }, token)).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_REQUEST' } },
      });
    } finally {
      channel.close();
    }
    // Without a channel (the executor has not re-attached): 503 with Retry-After, nothing taken.
    const closed = await post(id, batch(1, 5), token);
    expect(closed).toMatchObject({ status: 503, body: { error: { code: 'REPORTS_NOT_OPEN' } } });
    expect(closed.headers['retry-after']).toBe('1');
    expect(got).toHaveLength(4);
    await api(s.url, 'POST', `/api/v1/tasks/${id}/cancel`);
  });

  it('refuses a missing or foreign token (401), an unknown task (404), an attempt that is over (409)', async () => {
    const id = await runningTask();
    const channel = s.server.reports.open(id, 1, () => {});
    try {
      const other = await runningTask();
      const cases: [string, unknown, string | undefined, number, string][] = [
        [id, batch(1, 1), undefined, 401, 'UNAUTHORIZED'],
        [id, batch(1, 1), 'lrt1.garbage.1.garbage', 401, 'UNAUTHORIZED'],
        [id, batch(1, 1), s.server.tokens.mint(other, 1), 401, 'UNAUTHORIZED'],
        [id, batch(1, 1), s.server.tokens.mint(id, 2), 401, 'UNAUTHORIZED'], // token of another attempt than the body's
        [id, batch(2, 1), s.server.tokens.mint(id, 2), 409, 'STALE_ATTEMPT'], // the task runs attempt 1
        ['t_unknown', batch(1, 1), s.server.tokens.mint('t_unknown', 1), 404, 'TASK_NOT_FOUND'],
        [id, { attempt: 1, messages: [{ seq: 0, type: 'log' }] }, s.server.tokens.mint(id, 1), 400, 'INVALID_REQUEST'],
        [id, { attempt: 1, messages: [{ seq: 1 }] }, s.server.tokens.mint(id, 1), 400, 'INVALID_REQUEST'],
      ];
      for (const [task, body, token, status, code] of cases) {
        expect(await post(task, body, token), `${task} ${JSON.stringify(body)} ${token}`).toMatchObject({ status, body: { error: { code } } });
      }
      await api(s.url, 'POST', `/api/v1/tasks/${other}/cancel`);
      await api(s.url, 'POST', `/api/v1/tasks/${id}/cancel`);
      await s.finished(id);
      // The task ended: the harness is told to stop.
      expect(await post(id, batch(1, 1), s.server.tokens.mint(id, 1))).toMatchObject({ status: 409, body: { error: { code: 'STALE_ATTEMPT' } } });
    } finally {
      channel.close();
    }
  });

  it('acks only once the sink has taken the messages; a sink that failed gets them again on the retry', async () => {
    const id = await runningTask();
    const token = s.server.tokens.mint(id, 1);
    const seen: string[] = [];
    let release!: () => void;
    let fail = true;
    const channel = s.server.reports.open(id, 1, (m) => {
      const { message } = m as { message: string };
      seen.push(message);
      if (message === 'slow') return new Promise<void>((r) => (release = r));
      if (message === 'flaky' && fail) return Promise.reject(new Error('store down'));
    });
    try {
      let answered = false;
      const slow = post(id, { attempt: 1, messages: [{ seq: 1, type: 'log', message: 'slow' }] }, token).then((r) => ((answered = true), r));
      await until('the sink got it', async () => seen.length === 1);
      await new Promise((r) => setTimeout(r, 100));
      expect(answered).toBe(false);
      release();
      expect(await slow).toMatchObject({ status: 200, body: { acked: 1 } });

      const flaky = { attempt: 1, messages: [{ seq: 2, type: 'log', message: 'flaky' }] };
      expect((await post(id, flaky, token)).status).toBe(500);
      fail = false;
      expect(await post(id, flaky, token)).toMatchObject({ status: 200, body: { acked: 2 } });
      expect(seen).toEqual(['slow', 'flaky', 'flaky']);
    } finally {
      channel.close();
      await api(s.url, 'POST', `/api/v1/tasks/${id}/cancel`);
    }
  });
});
