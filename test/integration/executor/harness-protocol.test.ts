/**
 * Both harnesses answer every run op, whatever the line: a job they cannot decode fails with
 * JOB_UNREADABLE under the task id the platform writes first on the line (runLine), and the
 * harness stays usable (a warm worker) or leaves (--once). Driven through the raw protocol, as
 * the platform's own encoder never writes such lines.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runLine, type Job } from '../../../src/runtime/protocol.ts';
import { nested, startHarness, waitFor } from './helpers.ts';

const SCRIPTS = path.join(import.meta.dirname, 'scripts');
const job = (taskId: string, script: string, params: Record<string, unknown> = {}): Job => ({
  task_id: taskId,
  attempt: 1,
  script: path.join(SCRIPTS, script),
  input: null,
  output: null,
  params,
  env: {},
});

let started: ReturnType<typeof startHarness>[] = [];
afterEach(() => {
  for (const h of started) h.child.kill('SIGKILL');
  started = [];
});
const harness = (runtime: 'python' | 'node', args: string[] = []) => {
  const h = startHarness(runtime, args);
  started.push(h);
  return h;
};

const answer = async (h: ReturnType<typeof harness>, taskId: string) => {
  await waitFor(() => h.events.some((e) => e.type === 'done' && e.task_id === taskId), 15_000, `done of ${taskId}`);
  return h.events.filter((e) => e.task_id === taskId);
};

describe.each([
  ['python', 'py'],
  ['node', 'mjs'],
] as const)('%s harness: every run op is answered', (runtime, ext) => {
  it('a line cut short fails its task with JOB_UNREADABLE; the worker runs the next job', async () => {
    const h = harness(runtime);
    const cut = runLine(job('cut "1"', `echo.${ext}`, { a: [1, 2, 3] }));
    h.send(cut.slice(0, cut.length - 10));
    const events = await answer(h, 'cut "1"');
    expect(events.map((e) => e.type)).toEqual(['error', 'done']);
    expect(events[0]).toMatchObject({ code: 'JOB_UNREADABLE' });
    h.send(runLine(job('next', `echo.${ext}`, { n: 2 })));
    const next = await answer(h, 'next');
    expect(next.find((e) => e.type === 'result')).toMatchObject({ value: { params: { n: 2 } } });
  });

  it('a run op without a job object fails its task with JOB_UNREADABLE', async () => {
    const h = harness(runtime);
    h.send(JSON.stringify({ op: 'run', task_id: 'nojob', job: 'not an object' }));
    expect((await answer(h, 'nojob')).map((e) => [e.type, e.code])).toEqual([
      ['error', 'JOB_UNREADABLE'],
      ['done', undefined],
    ]);
  });

  it('--once: answers an unreadable job and exits', async () => {
    const h = harness(runtime, ['--once']);
    h.send('{"op":"run","task_id":"once","job":{"task_id":"once",');
    expect((await answer(h, 'once'))[0]).toMatchObject({ type: 'error', code: 'JOB_UNREADABLE' });
    await h.exited;
  });
});

describe('python harness', () => {
  it('params nested deeper than its JSON decoder goes: JOB_UNREADABLE naming the RecursionError', async () => {
    const h = harness('python');
    h.send(runLine(job('deep', 'echo.py', nested(3000))));
    const [error] = await answer(h, 'deep');
    expect(error).toMatchObject({ type: 'error', code: 'JOB_UNREADABLE' });
    expect(String(error!.message)).toContain('RecursionError');
    h.send(runLine(job('after', 'echo.py')));
    expect((await answer(h, 'after')).some((e) => e.type === 'result')).toBe(true);
  });
});

describe('node harness', () => {
  it('a cancel of a job still in its backlog drops it unrun', async () => {
    const h = harness('node', ['--concurrency', '1']);
    h.send(runLine(job('first', 'waits.mjs', { ms: 1500 })));
    h.send(runLine(job('second', 'echo.mjs')));
    await waitFor(() => h.events.some((e) => e.type === 'started' && e.task_id === 'first'), 15_000, 'the first job');
    h.send(JSON.stringify({ op: 'cancel', task_id: 'second' }));
    const second = await answer(h, 'second');
    expect(second.map((e) => e.type)).toEqual(['error', 'done']);
    expect((await answer(h, 'first')).some((e) => e.type === 'result')).toBe(true);
  });
});
