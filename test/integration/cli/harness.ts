/** Runs `main()` in-process with captured streams, an injected env and a fake signal source. */
import { EventEmitter } from 'node:events';
import { main } from '../../../src/cli/index.ts';
import { type FakeTask, iso, makeTask, Sink } from './fake-api.ts';

export interface RunResult {
  code: number;
  out: string;
  err: string;
}

export async function runCli(
  args: string[],
  o: { tty?: boolean; columns?: number; env?: NodeJS.ProcessEnv; cwd?: string; signals?: EventEmitter; stdout?: Sink } = {},
): Promise<RunResult> {
  const stdout = o.stdout ?? new Sink(o.tty ?? false, o.columns ?? 80);
  const stderr = new Sink();
  const code = await main(args, {
    stdout,
    stderr,
    env: o.env ?? {},
    cwd: o.cwd ?? process.cwd(),
    signals: o.signals ?? new EventEmitter(),
    reconnectDelayMs: 5,
  });
  return { code, out: stdout.text, err: stderr.text };
}

/** A task that runs to `final` with progress, a log line, a metric and (on success) a result. */
export function scriptedTask(id: string, final: 'completed' | 'failed' | 'cancelled' = 'completed'): FakeTask {
  const t0 = Date.now() - 4000;
  const at = (s: number) => iso(t0 + s * 1000);
  const events: FakeTask['events'] = [
    { seq: 1, type: 'state', ts: at(0), data: { status: 'running', attempt: 1 } },
    { seq: 2, type: 'progress', ts: at(1), data: { fraction: 0.25, message: 'loading', step: 1, total: 4 } },
    { seq: 3, type: 'log', ts: at(1), data: { stream: 'stdout', message: 'hello from the script' } },
    { seq: 4, type: 'progress', ts: at(2), data: { fraction: 0.5, message: 'training', step: 2, total: 4 } },
    { seq: 5, type: 'metric', ts: at(2), data: { name: 'loss', value: 0.5, step: 2 } },
    { seq: 6, type: 'progress', ts: at(3), data: { fraction: 0.75, message: 'training', step: 3, total: 4 } },
  ];
  if (final === 'completed') events.push({ seq: 7, type: 'result', ts: at(4), data: { value: { accuracy: 0.98 } } });
  if (final === 'failed') events.push({ seq: 7, type: 'error', ts: at(4), data: { code: 'SCRIPT_ERROR', message: 'boom' } });
  if (final === 'cancelled') events.push({ seq: 7, type: 'state', ts: at(4), data: { status: 'cancelling' } });
  events.push({ seq: 8, type: 'state', ts: at(4), data: { status: final } });
  const task = makeTask({
    id,
    status: final,
    attempt: 1,
    started_at: at(0),
    finished_at: at(4),
    queue_position: null,
    result: final === 'completed' ? { accuracy: 0.98 } : null,
    error: final === 'failed' ? { code: 'SCRIPT_ERROR', message: 'boom' } : null,
  });
  const before = { status: 'pending' as const, attempt: 0, started_at: null, finished_at: null, result: null, error: null, queue_position: 0 };
  return { task, events, before };
}
