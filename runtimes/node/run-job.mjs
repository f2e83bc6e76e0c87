/**
 * Run one job: get the script's module, call its `run`, report the outcome as result|error
 * then done.
 *
 * Reload rule: a warm worker imports a script once and reuses the module for later jobs; it
 * re-imports the script when its file changes (mtime, ctime, size or inode differ from the
 * imported version; checked with one stat per script per event-loop turn). ESM module records
 * are never garbage-collected, so importing a fresh copy per job (as a `?job=<n>` query did)
 * leaked memory and paid a compile on every job. Consequences a script may notice:
 *  - module-level state lives on between jobs of the same script version in a worker, as in a
 *    long-running server; per-job state belongs inside run();
 *  - a re-import gets a new URL query (`?v=<n>`), so the edited script is a new module; the
 *    ESM modules it imports are cached by the runtime and not reloaded (as before);
 *  - a .ts/.js script outside a `"type": "module"` package is loaded as CommonJS, which is
 *    cached by file name whatever the query says: on a re-import (only then) the script's
 *    directory is evicted from the require cache, so the edited script and its edited CommonJS
 *    helpers are loaded afresh together. A helper edited without touching the script is
 *    picked up when the script itself next changes (or by a new worker).
 * A failed import is not kept: the next job tries again.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createContext, jobStorage } from './context.mjs';

class ScriptError extends Error {}

const requireCache = createRequire(import.meta.url).cache;

/** Evict the script's directory (not its node_modules) from the CommonJS cache. */
const evictCommonJs = (script) => {
  const dir = path.dirname(script) + path.sep;
  for (const key of Object.keys(requireCache)) {
    if (key.startsWith(dir) && !key.includes(`${path.sep}node_modules${path.sep}`)) delete requireCache[key];
  }
};

/** script path → { stamp, mod (once imported), loading (while importing) } */
const modules = new Map();
let imports = 0;

/** Stamps checked in this event-loop turn: the jobs of one batch share one stat per script. */
let stampsThisTurn = null;
const clearStamps = () => {
  stampsThisTurn = null;
};

const statStamp = (script) => {
  const st = fs.statSync(script, { throwIfNoEntry: false });
  return st === undefined ? null : `${st.mtimeMs}:${st.ctimeMs}:${st.size}:${st.ino}`;
};

const stampOf = (script) => {
  if (stampsThisTurn === null) {
    stampsThisTurn = new Map();
    setImmediate(clearStamps);
  }
  let stamp = stampsThisTurn.get(script);
  if (stamp === undefined) {
    stamp = statStamp(script);
    stampsThisTurn.set(script, stamp);
  }
  return stamp;
};

/** The module entry for the script's current file: imported already, or being imported. */
const moduleOf = (script) => {
  const stamp = stampOf(script);
  const known = modules.get(script);
  if (known !== undefined && known.stamp === stamp && stamp !== null) return known;
  evictCommonJs(script);
  imports += 1;
  const entry = { stamp, mod: undefined, loading: undefined };
  entry.loading = import(`${pathToFileURL(script).href}?v=${imports}`).then(
    (mod) => {
      entry.mod = mod;
      entry.loading = undefined;
      return mod;
    },
    (err) => {
      if (modules.get(script) === entry) modules.delete(script);
      throw err;
    },
  );
  modules.set(script, entry);
  return entry;
};

const runFunction = (mod, script) => {
  const run = typeof mod.run === 'function' ? mod.run : mod.default?.run;
  if (typeof run !== 'function') {
    throw new ScriptError(`${script} does not export a function run(inputPath, outputPath, params, ctx)`);
  }
  return run;
};

const flushStream = (stream) => new Promise((resolve) => stream.write('', () => resolve()));
/** True when bytes the script wrote to the stream are still queued inside this process. */
const queued = (stream) => stream.writableLength > 0 || stream.writableNeedDrain === true;

const HARNESS_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The stack without the harness's own frames: the user wants to see their code. */
const scriptStack = (stack) =>
  stack
    .split('\n')
    .filter((line) => !line.includes(HARNESS_DIR))
    .join('\n');

const describe = (err) => (err instanceof Error ? `${err.name}: ${err.message}` : `thrown value: ${String(err)}`);

const errorMessage = (taskId, err, abort) => {
  if (err instanceof ScriptError) return { type: 'error', task_id: taskId, code: 'SCRIPT_ERROR', message: err.message };
  const msg = { type: 'error', task_id: taskId, code: 'SCRIPT_ERROR', message: describe(err) };
  if (abort.aborted) msg.message = `cancelled: ${msg.message}`;
  if (err instanceof Error && typeof err.stack === 'string') msg.traceback = scriptStack(err.stack);
  return msg;
};

const NO_SANDBOX = () => {};

/**
 * Env and cwd are process-wide: a job gets them only when it has the worker to itself
 * (concurrency 1). With several jobs at once they stay in `ctx.env`.
 */
const enterSandbox = (job, exclusive) => {
  if (!exclusive) return NO_SANDBOX;
  const env = job.env ?? {};
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const cwd = process.cwd();
  Object.assign(process.env, env);
  try {
    process.chdir(path.dirname(job.script));
  } catch {
    // the directory vanished; the import below reports the missing script
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    try {
      process.chdir(cwd);
    } catch {
      // keep going in whatever directory we are in
    }
  };
};

/**
 * The `started` lines of every job that starts in this turn are written together, once,
 * before the first of their run() functions is called (script code may block the loop).
 */
const startGates = new WeakMap();
const startGate = (channel) => {
  let gate = startGates.get(channel);
  if (gate === undefined) {
    gate = Promise.resolve().then(() => {
      startGates.delete(channel);
      channel.flush();
    });
    startGates.set(channel, gate);
  }
  return gate;
};

const attempt = async (job, taskId, quotedId, channel, ctx, abort) => {
  try {
    const entry = moduleOf(job.script);
    const run = runFunction(entry.mod ?? (await entry.loading), job.script);
    channel.send(`{"type":"started","task_id":${quotedId},"ts":${performance.timeOrigin + performance.now()}}\n`);
    await startGate(channel);
    const value = await run(job.input ?? null, job.output ?? null, job.params ?? {}, ctx);
    try {
      return channel.encode({ type: 'result', task_id: taskId, value: value === undefined ? null : value });
    } catch (err) {
      return channel.encode({
        type: 'error', task_id: taskId, code: 'SCRIPT_ERROR',
        message: `run() returned a value that is not JSON-serializable: ${describe(err)}`,
      });
    }
  } catch (err) {
    return channel.encode(errorMessage(taskId, err, abort));
  }
};

/**
 * The job's work dir (LAKERAY_WORK_DIR) is made before run() when the job has the process to
 * itself, else by the first use of ctx.work_dir (context.mjs: a worker running hundreds of
 * small jobs at once should not pay two file-system calls each), and removed after the job
 * unless it reported an artifact (the platform moves those files out, then removes it).
 */
const removeWorkDir = async (dir) => {
  if (!dir) return;
  try {
    await fs.promises.rmdir(dir); // the usual case: empty
  } catch (err) {
    if (err?.code !== 'ENOENT') await fs.promises.rm(dir, { recursive: true, force: true }).catch(() => {});
  }
};

export const runJob = async (job, { channel, abort, exclusive }) => {
  const taskId = String(job.task_id);
  const quotedId = JSON.stringify(taskId);
  const { ctx, emit, close, reported, workDirMade } = createContext(channel, job, abort);
  const leave = enterSandbox(job, exclusive);
  let outcome;
  try {
    // A job that has the process to itself sees LAKERAY_WORK_DIR in process.env: make it now,
    // as the Python harness does. Jobs sharing a worker make it on first use of ctx.work_dir.
    if (exclusive) void ctx.work_dir;
    outcome = await jobStorage.run({ taskId, emit }, attempt, job, taskId, quotedId, channel, ctx, abort);
  } catch (err) {
    outcome = channel.encode({ type: 'error', task_id: taskId, code: 'EXECUTOR_ERROR', message: `could not prepare the job: ${describe(err)}` });
  } finally {
    close();
    leave();
  }
  if (workDirMade() && !reported()) await removeWorkDir(ctx.work_dir);
  // Raw stdout/stderr writes of this job must reach the platform before `done` does. Writes to
  // a pipe are synchronous here, so there is usually nothing left to wait for.
  if (queued(process.stdout) || queued(process.stderr)) {
    await Promise.all([flushStream(process.stdout), flushStream(process.stderr)]);
  }
  channel.send(`${outcome}{"type":"done","task_id":${quotedId}}\n`);
};
