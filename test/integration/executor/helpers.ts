/** Shared fixtures for the local executor's integration tests: tasks, executors, recorders. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localExecutorSchema, type LocalExecutorConfig } from '../../../src/config/schema.ts';
import type { Task } from '../../../src/domain/task.ts';
import type { Placement, RunCallbacks, RunOutcome } from '../../../src/executors/executor.ts';
import { LocalExecutor } from '../../../src/executors/local/local-executor.ts';
import { taskFixture } from '../../helpers/task-fixture.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
export const SCRIPTS = path.join(ROOT, 'test/fixtures/scripts');
export const RUNTIMES = path.join(ROOT, 'runtimes');
export const PYTHON = path.join(ROOT, '.venv/bin/python');

let seq = 0;

export const makeTask = (overrides: Partial<Task> = {}): Task => {
  seq += 1;
  const now = Date.now();
  return taskFixture({
    id: `t-${process.pid}-${seq}`,
    name: 'test',
    script: 'ok.py',
    retry: { max_attempts: 1, backoff_ms: 0, backoff_factor: 2, max_backoff_ms: 0 },
    status: 'running',
    attempt: 1,
    created_at: now,
    started_at: now,
    ...overrides,
  });
};

export const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'lakeray-exec-'));

export const makeExecutor = (
  config: Partial<LocalExecutorConfig> = {},
  extra: { dataRoots?: string[]; scriptRoots?: string[]; maxLogLineBytes?: number; apiUrl?: string; python?: string; owner?: string } = {},
): LocalExecutor =>
  new LocalExecutor({
    config: localExecutorSchema.parse(config),
    pythonInterpreter: extra.python ?? PYTHON,
    scriptRoots: extra.scriptRoots ?? [SCRIPTS],
    dataRoots: extra.dataRoots ?? [tempDir()],
    runtimesDir: RUNTIMES,
    maxLogLineBytes: extra.maxLogLineBytes,
    apiUrl: extra.apiUrl,
    owner: extra.owner,
  });

export interface Recorder {
  callbacks: RunCallbacks;
  events: Array<{ type: string; data: Record<string, unknown> }>;
  /** The started infos, with a placement's fields (a cold run's pid and worker) spread in. */
  started: Array<{ pid?: number; worker?: string; entered_at?: number; placement?: Placement }>;
  exits: RunOutcome[];
  exited: Promise<RunOutcome>;
  logs(): string[];
}

/** Records callbacks; `onExit` runs inside the exit callback (to check what is alive then). */
export const recorder = (onExit?: (outcome: RunOutcome) => void): Recorder => {
  let resolveExit!: (o: RunOutcome) => void;
  const rec: Recorder = {
    events: [],
    started: [],
    exits: [],
    exited: new Promise((resolve) => {
      resolveExit = resolve;
    }),
    callbacks: {
      started: (info) => rec.started.push({ ...info, ...(info.placement as { pid?: number; worker?: string } | undefined) }),
      event: (type, data) => rec.events.push({ type, data }),
      exit: (outcome) => {
        rec.exits.push(outcome);
        onExit?.(outcome);
        resolveExit(outcome);
      },
    },
    logs: () => rec.events.filter((e) => e.type === 'log').map((e) => String(e.data.message)),
  };
  return rec;
};

/** Run one task to completion and return its recorder. */
export const runTask = async (executor: LocalExecutor, task: Task, gpus: string[] = []): Promise<Recorder> => {
  const rec = recorder();
  executor.run(task, gpus, rec.callbacks);
  await rec.exited;
  return rec;
};

export const waitFor = async (check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

export const exists = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export const succeeded = (outcome: RunOutcome): Record<string, unknown> => {
  if (outcome.kind !== 'completed') throw new Error(`expected success, got ${JSON.stringify(outcome)}`);
  return outcome.result as Record<string, unknown>;
};

/**
 * A harness started the way the executor starts one (`args`: e.g. --once, --concurrency 2),
 * with the test holding its pipes: `send` writes stdin lines, `events` are its fd-3 messages.
 */
export const startHarness = (runtime: 'python' | 'node', args: string[] = []) => {
  const argv = runtime === 'python' ? ['-u', '-m', 'lakeray', ...args] : ['--import', 'tsx', path.join(RUNTIMES, 'node/harness.mjs'), ...args];
  const child = spawn(runtime === 'python' ? PYTHON : process.execPath, argv, {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONPATH: path.join(RUNTIMES, 'python') },
  });
  const events: Array<Record<string, unknown>> = [];
  let buffered = '';
  child.stdio[3]!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) events.push(JSON.parse(line) as Record<string, unknown>);
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const send = (line: string): void => {
    child.stdin!.write(line.endsWith('\n') ? line : `${line}\n`);
  };
  return { child, events, exited, send, output: () => output };
};

/** `{v: {v: … {leaf: 1}}}`, `depth` levels deep: params a JSON decoder (or encoder) may not get through. */
export const nested = (depth: number): Record<string, unknown> => {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < depth; i++) v = { v };
  return v;
};
