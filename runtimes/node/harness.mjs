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
      finished(taskId);
    },
  );
};

/** A job cancelled before it started (it waited in the backlog): it ends without running. */
const cancelWaiting = (taskId) => {
  const at = backlog.findIndex((job) => String(job.task_id) === taskId);
  if (at === -1) return;
  backlog.splice(at, 1);
  channel.emit({ type: 'error', task_id: taskId, code: 'SCRIPT_ERROR', message: 'cancelled before it started' });
  channel.emit({ type: 'done', task_id: taskId });
};

const onMessage = (msg) => {
  if (msg.op === 'run' && msg.job && typeof msg.job === 'object') {
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
  } catch {
    process.stderr.write('lakeray: ignoring a malformed stdin line\n');
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
