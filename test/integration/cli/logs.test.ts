/**
 * `lakeray logs` against a real server (engine, SQLite, Python harness) for tasks that logged
 * nothing: one plain line on stderr with the task's state, nothing on stdout (so a pipe gets
 * only log lines), exit 0; a task that did log gets its lines and no note.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { runCli } from './harness.ts';

let server: RunningServer;

const SCRIPTS = {
  'quiet.py': 'def run(input_path, output_path, params, ctx):\n    return {"ok": True}\n',
  'quiet_wait.py': 'import time\n\n\ndef run(input_path, output_path, params, ctx):\n    time.sleep(float(params.get("seconds", 60)))\n    return {"ok": True}\n',
  'talks.py': 'def run(input_path, output_path, params, ctx):\n    ctx.log("hello")\n    ctx.log("a log line")\n    return {"ok": True}\n',
};

const submit = async (script: string, params: Record<string, unknown> = {}): Promise<string> => {
  const r = await runCli(['--url', server.url, 'submit', script, '--params-json', JSON.stringify(params)]);
  expect(r.code, r.err).toBe(0);
  return r.out.trim();
};

const status = async (id: string): Promise<string> => (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body.status as string;

const settled = (id: string) => until(`${id} to finish`, async () => ['completed', 'failed', 'cancelled'].includes(await status(id)), 30_000);

beforeAll(async () => {
  const dir = tempDir('lakeray-cli-logs-');
  for (const [name, source] of Object.entries(SCRIPTS)) writeFileSync(join(dir, name), source);
  // One CPU: a second quiet_wait task waits in the queue behind the first.
  const config = parseConfig({ state_dir: join(dir, 'state'), lake: { root: join(dir, 'lake') }, script_roots: [dir], executors: { local: { cpu: 1, kill_grace_ms: 500 } } }, dir, {});
  server = await startServer({ config, port: 0, host: '127.0.0.1', logLevel: 'silent' });
});

afterAll(async () => {
  await server?.close();
});

describe('lakeray logs of a task that logged nothing', () => {
  it('says so on stderr, with the state, and keeps stdout empty', async () => {
    const id = await submit('quiet.py');
    await settled(id);
    const r = await runCli(['--url', server.url, 'logs', id]);
    expect(r).toEqual({ code: 0, out: '', err: `task ${id} completed without logging anything (no output on stdout or stderr, no ctx.log)\n` });
    // -f follows to the end, then says the same.
    const f = await runCli(['--url', server.url, 'logs', id, '-f']);
    expect(f).toEqual({ code: 0, out: '', err: `task ${id} completed without logging anything (no output on stdout or stderr, no ctx.log)\n` });
    // --json: the document says it (no lines); stderr stays quiet for programs.
    const j = await runCli(['--url', server.url, '--json', 'logs', id]);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.out).lines).toEqual([]);
    expect(j.err).toBe('');
  });

  it('tells a running task from a queued one', async () => {
    const running = await submit('quiet_wait.py', { seconds: 60 });
    const queued = await submit('quiet_wait.py', { seconds: 60 });
    try {
      await until('the first to run', async () => (await status(running)) === 'running', 15_000);
      expect(await status(queued)).toBe('pending');
      const r = await runCli(['--url', server.url, 'logs', running]);
      expect(r).toEqual({ code: 0, out: '', err: `task ${running} is running and has logged nothing yet (lakeray logs ${running} -f follows it)\n` });
      const q = await runCli(['--url', server.url, 'logs', queued]);
      expect(q).toEqual({ code: 0, out: '', err: `task ${queued} is pending: it has not started, so it has no log lines yet (lakeray logs ${queued} -f waits for them)\n` });
    } finally {
      for (const id of [queued, running]) await runCli(['--url', server.url, 'cancel', id]);
      await settled(running);
    }
    const c = await runCli(['--url', server.url, 'logs', running]);
    expect(c.err).toBe(`task ${running} cancelled without logging anything (no output on stdout or stderr, no ctx.log)\n`);
  }, 40_000);

  it('prints the lines of a task that logged, with no note', async () => {
    const id = await submit('talks.py');
    await settled(id);
    const r = await runCli(['--url', server.url, 'logs', id]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('hello\na log line\n');
    expect(r.err).toBe('');
  });
});
