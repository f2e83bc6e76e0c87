/**
 * One harness process (runtimes/python or runtimes/node): spawned detached as the leader of its
 * own process group, with fd 3 as the event pipe. Events are read only from fd 3; stdout and
 * stderr are the script's and are handed on line by line, never parsed.
 *
 * `exited` resolves once the process has exited, every other member of its group is gone and
 * its pipes are drained: only then is the task's slot (and GPU) really free.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setPriority } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { ENV, EVENTS_FD, parseHarnessLine, type HarnessMessage } from '../../runtime/protocol.ts';
import { LineSplitter } from './line-splitter.ts';
import { HARNESS_MARKER, signalGroup, sweepGroup } from './process-group.ts';
import { taskBaseEnv } from './task-env.ts';

export type Runtime = 'python' | 'node';
export type OutputStream = 'stdout' | 'stderr';

export interface HarnessSpec {
  /** Worker id, shown to users as the task's `worker`. */
  id: string;
  runtime: Runtime;
  interpreter: string;
  runtimesDir: string;
  preload: readonly string[];
  once: boolean;
  /** Jobs at once (node only). */
  concurrency: number;
  cwd: string;
  /** Added to the allowlisted part of the server's environment (task-env.ts). */
  env: Record<string, string>;
  /** More names of the server's environment the task may see (config `pass_env`). */
  passEnv?: readonly string[];
  /** CPU priority of the process (config `nice`): 0 keeps the server's. */
  nice?: number;
}

export interface HarnessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the interpreter could not be started at all. */
  spawnError?: string;
}

export interface HarnessHandlers {
  message(msg: HarnessMessage): void;
  output(stream: OutputStream, line: string, truncated: boolean): void;
}

/** Results travel on fd 3 and may be large, but not unbounded. */
const EVENT_LINE_MAX_BYTES = 64 * 1024 * 1024;
const STDERR_TAIL_LINES = 20;
/** After the exit and the group sweep, pipes held by a stray process are not waited on longer. */
const DRAIN_TIMEOUT_MS = 2000;

let tsxLoaderUrl: string | undefined;

/** The tsx loader as a file URL, so `--import` works whatever directory the script is in. */
const tsxLoader = (): string => {
  if (tsxLoaderUrl !== undefined) return tsxLoaderUrl;
  try {
    const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
    const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8')) as { exports?: Record<string, unknown> };
    const entry = pkg.exports?.['.'];
    tsxLoaderUrl = typeof entry === 'string' ? pathToFileURL(path.resolve(path.dirname(pkgPath), entry)).href : 'tsx';
  } catch {
    tsxLoaderUrl = 'tsx';
  }
  return tsxLoaderUrl;
};

const commandLine = (spec: HarnessSpec): string[] => {
  const preload = spec.preload.length > 0 ? ['--preload', spec.preload.join(',')] : [];
  const once = spec.once ? ['--once'] : [];
  if (spec.runtime === 'python') return ['-u', '-m', 'lakeray', ...preload, ...once];
  const harness = path.join(spec.runtimesDir, 'node', 'harness.mjs');
  return ['--import', tsxLoader(), harness, ...preload, ...once, '--concurrency', String(spec.concurrency)];
};

const environment = (spec: HarnessSpec): NodeJS.ProcessEnv => {
  const pythonPath = [path.join(spec.runtimesDir, 'python'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  const [markerKey, markerValue] = HARNESS_MARKER.split('=') as [string, string];
  return {
    ...taskBaseEnv(process.env, spec.passEnv),
    PYTHONPATH: pythonPath,
    PYTHONUNBUFFERED: '1',
    // Python ≥ 3.11: the start directory (the script's) is not put on sys.path, so a user's
    // `signal.py` cannot shadow the harness's own imports. The harness unsets it for the script.
    PYTHONSAFEPATH: '1',
    ...spec.env,
    [markerKey]: markerValue,
    [ENV.EVENTS_FD]: String(EVENTS_FD),
    LAKERAY_WORKER: spec.id,
  };
};

export class HarnessProcess {
  readonly pid: number | undefined;
  readonly spawnedAt = Date.now();
  readonly exited: Promise<HarnessExit>;
  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private running = true;
  private killTimer: NodeJS.Timeout | undefined;
  /** Protocol lines waiting for the end of this event-loop turn (see send). */
  private outbox = '';
  private flushQueued = false;

  constructor(
    readonly spec: HarnessSpec,
    private readonly handlers: HarnessHandlers,
    maxLogLineBytes: number,
  ) {
    const [command, ...rest] = [spec.interpreter, ...commandLine(spec)] as [string, ...string[]];
    this.child = spawn(command, rest, {
      cwd: spec.cwd,
      env: environment(spec),
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.pid = this.child.pid;
    // Lowered before it has done much (its interpreter is starting); what it starts inherits it.
    // ESRCH: it is gone already, which its exit reports.
    if (spec.nice && this.pid !== undefined) {
      try {
        setPriority(this.pid, spec.nice);
      } catch {
        /* exited */
      }
    }
    this.exited = this.watchExit();
    this.child.stdin?.on('error', () => {}); // EPIPE when it died first; 'exit' reports that
    this.read(this.child.stdio[EVENTS_FD] as Readable | null, EVENT_LINE_MAX_BYTES, (line, truncated) => {
      if (truncated) return; // a cut JSON line is not a message; a missing result is reported instead
      const msg = parseHarnessLine(line);
      if (msg !== null) this.handlers.message(msg);
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      this.read(this.child[stream], maxLogLineBytes, (line, truncated) => {
        if (stream === 'stderr') this.remember(line);
        this.handlers.output(stream, line, truncated);
      });
    }
  }

  get alive(): boolean {
    return this.running;
  }

  /**
   * Queue one protocol message for the harness's stdin. Messages sent in the same event-loop
   * turn are written together, whole lines in order, by one write at the end of the turn
   * (setImmediate, no delay): a batch of jobs for a worker costs one system call, not one each.
   */
  send(msg: unknown): boolean {
    return this.sendLine(`${JSON.stringify(msg)}\n`);
  }

  /** Queue one protocol line, already encoded (with its newline): see send(). */
  sendLine(line: string): boolean {
    const stdin = this.child.stdin;
    if (!this.running || stdin === null || stdin.destroyed) return false;
    this.outbox += line;
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flushOutbox);
    }
    return true;
  }

  private readonly flushOutbox = (): void => {
    this.flushQueued = false;
    const text = this.outbox;
    this.outbox = '';
    const stdin = this.child.stdin;
    if (text === '' || !this.running || stdin === null || stdin.destroyed) return;
    stdin.write(text);
  };

  /** SIGTERM to the whole group now; SIGKILL to it after `graceMs` unless it has exited. */
  terminate(graceMs: number): void {
    if (!this.running || this.pid === undefined) return;
    signalGroup(this.pid, 'SIGTERM');
    if (this.killTimer === undefined) {
      this.killTimer = setTimeout(() => this.kill(), graceMs);
      this.killTimer.unref();
    }
  }

  kill(): void {
    if (this.running && this.pid !== undefined) signalGroup(this.pid, 'SIGKILL');
  }

  /** The last lines the process wrote to stderr, for "exited without a result" errors. */
  stderrTail(): string[] {
    return [...this.tail];
  }

  private remember(line: string): void {
    this.tail.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    if (this.tail.length > STDERR_TAIL_LINES) this.tail.shift();
  }

  private read(stream: Readable | null | undefined, maxBytes: number, onLine: (line: string, truncated: boolean) => void): void {
    if (!stream) return;
    const splitter = new LineSplitter(maxBytes, onLine);
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    stream.on('end', () => splitter.end());
    stream.on('error', () => {}); // the exit path reports what matters
  }

  private watchExit(): Promise<HarnessExit> {
    return new Promise((resolve) => {
      const closed = new Promise<void>((done) => this.child.once('close', () => done()));
      this.child.once('error', (err) => {
        if (this.pid !== undefined) return; // e.g. a failed write; the process itself is fine
        this.running = false;
        resolve({ code: null, signal: null, spawnError: err.message });
      });
      this.child.once('exit', (code, signal) => {
        this.running = false;
        clearTimeout(this.killTimer);
        void this.finishExit(closed).then(() => resolve({ code, signal }));
      });
    });
  }

  private async finishExit(closed: Promise<void>): Promise<void> {
    // Children the script left behind die with it: the task's processes must not outlive it.
    if (this.pid !== undefined) await sweepGroup(this.pid);
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      closed.then(() => true),
      new Promise<boolean>((done) => {
        timer = setTimeout(() => done(false), DRAIN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!drained) for (const s of this.child.stdio) s?.destroy();
  }
}
