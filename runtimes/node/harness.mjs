/**
 * Lakeray harness for JS/TS scripts:
 *   node --import tsx runtimes/node/harness.mjs [--preload a,b] [--once] [--concurrency N]
 *
 * Protocol (src/runtime/protocol.ts): jobs arrive as JSON lines on stdin, events leave as JSON
 * lines on fd 3 (LAKERAY_EVENTS_FD). Modes:
 *
 *   preload → ready → idle ⇄ running (up to N jobs) → (exit op | stdin EOF | --once | SIGTERM)
 *
 * stdin EOF means the platform died: exit at once so nothing lingers. `{"op":"cancel"}` aborts
 * one job's ctx.signal (the worker lives on). SIGTERM aborts every job and exits once they
 * settle; a job that ignores its signal is SIGKILLed by the platform after the grace period.
 *
 * Every run op is answered (started … done, or error and done): a line that cannot be decoded
 * fails with JOB_UNREADABLE under the task id the platform writes first on it, and a failure
 * of the harness itself around a job fails that job, so that no task waits forever.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createChannel } from './channel.mjs';
import { JobAbort, patchConsole } from './context.mjs';
import { shutdown } from './shutdown.mjs';
import { runJob } from './run-job.mjs';

const SIGTERM_EXIT = 143;

const { values: args } = parseArgs({
  options: {
    preload: { type: 'string', default: '' },
    once: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '1' },
  },
});
const concurrency = Math.max(1, Number.parseInt(args.concurrency, 10) || 1);

const channel = createChannel(Number(process.env.LAKERAY_EVENTS_FD ?? 3), () => shutdown(1));
patchConsole();

/** task_id → JobAbort of each running job. */
const active = new Map();
const backlog = [];
let jobsStarted = 0;
let finishing = false; // exit op, --once, or SIGTERM: take no new jobs, leave when idle
let exitCode = 0;

/** The start of every run line the platform writes (runtime/protocol.ts runLine). */
const RUN_PREFIX = /^\s*\{"op":"run","task_id":("(?:[^"\\]|\\.)*")/;

const describe = (err) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** Answer a run op that could not run: its error, then done. */
const fail = (taskId, code, message) => {
  channel.emit({ type: 'error', task_id: taskId, code, message });
  channel.emit({ type: 'done', task_id: taskId });
};

const specifier = (name) => (name.startsWith('.') || path.isAbsolute(name) ? pathToFileURL(path.resolve(name)).href : name);

const preloadStart = performance.now();
for (const name of args.preload.split(',').map((s) => s.trim()).filter(Boolean)) {
  try {
    await import(specifier(name));
  } catch (err) {
    process.stderr.write(`lakeray: preload of ${name} failed: ${err?.stack ?? err}\n`);
    channel.emit({ type: 'error', task_id: '', code: 'EXECUTOR_ERROR', message: `preload of '${name}' failed: ${err?.message ?? err}` });
    shutdown(1);
  }
}
channel.emit({ type: 'ready', pid: process.pid, preload_ms: Math.round((performance.now() - preloadStart) * 10) / 10 });

const maybeLeave = () => {
  if (finishing && active.size === 0) shutdown(exitCode);
};

const finished = (taskId) => {
  active.delete(taskId);
  if (args.once) finishing = true;
  const next = finishing ? undefined : backlog.shift();
  if (next !== undefined) start(next);
  maybeLeave();
};

const start = (job) => {
  const taskId = String(job.task_id);
  const abort = new JobAbort();
  active.set(taskId, abort);
  jobsStarted += 1;
  runJob(job, { channel, abort, exclusive: concurrency === 1 }).then(
    () => finished(taskId),
    (err) => {
      process.stderr.write(`lakeray: job ${taskId} failed in the harness: ${err?.stack ?? err}\n`);
      fail(taskId, 'EXECUTOR_ERROR', `the harness failed to run the job: ${describe(err)}`);
      finished(taskId);
    },
  );
};

/** A run op whose job cannot be read: it fails, and a --once harness is done. */
const unreadable = (taskId, message) => {
  fail(taskId, 'JOB_UNREADABLE', message);
  if (args.once) {
    finishing = true;
    maybeLeave();
  }
};

/** A job cancelled before it started (it waited in the backlog): it ends without running. */
const cancelWaiting = (taskId) => {
  const at = backlog.findIndex((job) => String(job.task_id) === taskId);
  if (at === -1) return;
  backlog.splice(at, 1);
  fail(taskId, 'SCRIPT_ERROR', 'cancelled before it started');
};

const onMessage = (msg) => {
  if (msg.op === 'run' && !(msg.job && typeof msg.job === 'object')) {
    if (typeof msg.task_id === 'string') unreadable(msg.task_id, 'the run op carries no job object');
  } else if (msg.op === 'run') {
    if (finishing) return;
    // The platform never sends more than `concurrency` jobs; the backlog is a safety net.
    if (active.size < concurrency && !(args.once && jobsStarted > 0)) start(msg.job);
    else if (!args.once) backlog.push(msg.job);
  } else if (msg.op === 'cancel') {
    const taskId = String(msg.task_id);
    const abort = active.get(taskId);
    if (abort !== undefined) abort.abort(new Error('the task was cancelled'));
    else cancelWaiting(taskId);
  } else if (msg.op === 'exit') {
    finishing = true;
    maybeLeave();
  } else {
    process.stderr.write(`lakeray: ignoring unknown op ${JSON.stringify(msg.op)}\n`);
  }
};

process.on('SIGTERM', () => {
  finishing = true;
  exitCode = SIGTERM_EXIT;
  for (const controller of active.values()) controller.abort(new Error('the task was terminated (SIGTERM)'));
  maybeLeave();
});

const onLine = (line) => {
  if (line.length === 0 || line === '\r') return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (err) {
    const prefix = RUN_PREFIX.exec(line);
    let taskId;
    try {
      taskId = prefix === null ? undefined : JSON.parse(prefix[1]);
    } catch {
      // not even the task id is readable
    }
    if (typeof taskId === 'string') unreadable(taskId, `the node harness could not decode the task's job: ${describe(err)}`);
    else process.stderr.write('lakeray: ignoring a malformed stdin line\n');
    return;
  }
  if (msg && typeof msg === 'object') onMessage(msg);
};

// stdin: JSON lines, several per chunk when the platform sends a batch of jobs. Their started
// lines go out together (see run-job.mjs), their results at the end of the turn they finish in.
let partial = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  let start = 0;
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
    const line = text.slice(start, nl);
    start = nl + 1;
    if (partial === '') onLine(line);
    else {
      onLine(partial + line);
      partial = '';
    }
  }
  if (start < text.length) partial += text.slice(start);
});
process.stdin.on('end', () => shutdown(1)); // stdin EOF: the platform is gone
