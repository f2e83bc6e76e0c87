import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeApi, makeTask, Sink } from './fake-api.ts';
import { runCli, scriptedTask } from './harness.ts';

let api: FakeApi;
beforeEach(async () => {
  api = await new FakeApi().start();
});
afterEach(() => api.stop());

const eventRequests = () => api.requests.filter((q) => q.url.includes('/events'));

describe('lakeray watch', () => {
  it('resumes a dropped stream with Last-Event-ID: every event exactly once, in order', async () => {
    const t = api.add(scriptedTask('tsk_w'));
    t.dropOnce = 3; // seqs 1..3 arrive, then half of seq 4, then the socket dies
    const r = await runCli(['--url', api.url, '--json', 'watch', 'tsk_w']);
    expect(r.code).toBe(0);
    const events = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events[7]).toMatchObject({ type: 'state', data: { status: 'completed' }, task_id: 'tsk_w' });
    const reqs = eventRequests();
    expect(reqs).toHaveLength(2);
    expect(reqs[0]!.headers['last-event-id']).toBeUndefined();
    expect(reqs[0]!.headers.accept).toBe('text/event-stream');
    expect(reqs[1]!.headers['last-event-id']).toBe('3');
    expect(r.err).toContain('resuming after event 3');
  });

  it('prints plain lines when stdout is not a TTY, then the result', async () => {
    api.add(scriptedTask('tsk_p'));
    const r = await runCli(['--url', api.url, 'watch', 'tsk_p']);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('\r');
    expect(r.out.split('\n')).toEqual([
      'task tsk_p (demo) pending (next)',
      'running (attempt 1)',
      'progress 25% [1/4] loading',
      'progress 50% [2/4] training',
      'progress 75% [3/4] training',
      'completed in 4.0s',
      'result: {',
      '  "accuracy": 0.98',
      '}',
      '',
    ]);
  });

  it('draws a progress bar redrawn in place on a TTY', async () => {
    api.add(scriptedTask('tsk_t'));
    const r = await runCli(['--url', api.url, 'watch', 'tsk_t', '--logs'], { tty: true, columns: 100 });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(String.raw`\r\[#{6}-{19}\] {2}25% \d+\.\ds( ETA \d+s)? loading\u001b\[K`));
    expect(r.out).toMatch(/\r\[#{18}-{7}\] {2}75% /);
    expect(r.out).toContain('hello from the script\n');
    expect(r.out).not.toContain('progress 25%');
    // The bar is cleared before the final lines, so they start at column 0.
    expect(r.out).toContain('\r\x1b[Kcompleted in 4.0s\n');
  });

  it('exits 1 and prints the error when the task fails; 3 when cancelled', async () => {
    api.add(scriptedTask('tsk_f', 'failed'));
    api.add(scriptedTask('tsk_c', 'cancelled'));
    const failed = await runCli(['--url', api.url, 'watch', 'tsk_f']);
    expect(failed.code).toBe(1);
    expect(failed.out).toContain('failed in 4.0s');
    expect(failed.err).toBe('error SCRIPT_ERROR: boom\n');
    const cancelled = await runCli(['--url', api.url, 'watch', 'tsk_c']);
    expect(cancelled.code).toBe(3);
    expect(cancelled.out).toContain('cancelling\n');
    expect(cancelled.out).toContain('cancelled in 4.0s');
  });

  it('stops on Ctrl-C with 130 and leaves the task running', async () => {
    const t = api.add(scriptedTask('tsk_h'));
    t.events = t.events.slice(0, 2);
    t.hang = true;
    const signals = new EventEmitter();
    const stdout = new Sink();
    const pending = runCli(['--url', api.url, 'watch', 'tsk_h'], { signals, stdout });
    // Ctrl-C once the progress it follows is on the screen (a fixed delay was too short under load).
    while (!stdout.text.includes('progress 25%')) await new Promise((r) => setTimeout(r, 5));
    signals.emit('SIGINT');
    const r = await pending;
    expect(r.code).toBe(130);
    expect(r.out).toContain('progress 25% [1/4] loading');
    expect(r.err).toContain('the task keeps running (stop it with: lakeray cancel tsk_h)');
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('shows a finished task without streaming (humans); replays its events with --json', async () => {
    const t = api.add(scriptedTask('tsk_done'));
    t.before = undefined;
    const r = await runCli(['--url', api.url, 'watch', 'tsk_done']);
    expect(r).toMatchObject({ code: 0, out: 'completed in 4.0s\nresult: {\n  "accuracy": 0.98\n}\n' });
    expect(eventRequests()).toHaveLength(0);
    const json = await runCli(['--url', api.url, '--json', 'watch', 'tsk_done']);
    expect(json.out.trim().split('\n')).toHaveLength(8);
  });

  it("continues after the snapshot's last_seq instead of replaying history (humans)", async () => {
    const t = api.add(scriptedTask('tsk_mid'));
    t.before = { status: 'running', last_seq: 4, progress: { fraction: 0.5, message: 'training', step: 2, total: 4 }, queue_position: null, started_at: t.task.started_at, result: null };
    const r = await runCli(['--url', api.url, 'watch', 'tsk_mid']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n').slice(0, 4)).toEqual(['task tsk_mid (demo) running', 'progress 50% [2/4] training', 'progress 75% [3/4] training', 'completed in 4.0s']);
    expect(eventRequests()[0]!.headers['last-event-id']).toBe('4');
  });

  it('reports an unknown task without streaming', async () => {
    const r = await runCli(['--url', api.url, 'watch', 'nope']);
    expect(r).toMatchObject({ code: 1, err: 'error TASK_NOT_FOUND: Task nope does not exist\n' });
    expect(eventRequests()).toHaveLength(0);
  });

  it('submit --watch follows the new task', async () => {
    // The fake creates tsk_1 with no events; give it a script before the watch connects.
    const orig = api.add.bind(api);
    api.add = (t) => orig(t.events.length ? t : scriptedTask(t.task.id));
    const r = await runCli(['--url', api.url, 'submit', 'x.py', '--watch']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('tsk_1');
    expect(r.out).toContain('completed in 4.0s');
  });
});

describe('lakeray logs', () => {
  const lines = [1, 2, 3, 4, 5].map((seq) => ({ seq, ts: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(), stream: 'stdout', message: `line ${seq}\n` }));

  it('pages through the whole log', async () => {
    api.add({ task: makeTask({ id: 'tsk_l', status: 'completed' }), events: [], logs: lines });
    const r = await runCli(['--url', api.url, 'logs', 'tsk_l', '-t']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(lines.map((l) => `${l.ts} line ${l.seq}\n`).join(''));
    const json = await runCli(['--url', api.url, '--json', 'logs', 'tsk_l']);
    expect(JSON.parse(json.out).lines).toHaveLength(5);
  });

  it('-f prints log events from the stream until the task ends, across a drop', async () => {
    const t = api.add(scriptedTask('tsk_lf'));
    t.events.splice(4, 0, { seq: 4.5, type: 'log', ts: t.events[3]!.ts, data: { stream: 'stderr', message: 'second line' } });
    t.dropOnce = 3;
    const r = await runCli(['--url', api.url, 'logs', 'tsk_lf', '-f']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('hello from the script\nsecond line\n');
    expect(eventRequests()[1]!.headers['last-event-id']).toBe('3');
  });
});
