/**
 * Run one job: import the script as a fresh module (a `?job=<n>` query bypasses the ESM
 * cache, so an edited script is picked up by a warm worker), call its `run`, report the
 * outcome as result|error then done.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createContext, jobStorage } from './context.mjs';

class ScriptError extends Error {}

const requireCache = createRequire(import.meta.url).cache;

/**
 * A .ts/.js file outside a `"type": "module"` package is loaded as CommonJS, and CommonJS is
 * cached by file name whatever the query says. Evict the script's directory (not its
 * node_modules) so an edited script or helper is reloaded, as with ESM.
 */
const evictCommonJs = (script) => {
  const dir = path.dirname(script) + path.sep;
  for (const key of Object.keys(requireCache)) {
    if (key.startsWith(dir) && !key.includes(`${path.sep}node_modules${path.sep}`)) delete requireCache[key];
  }
};

const flush = (stream) => new Promise((resolve) => stream.write('', () => resolve()));

const HARNESS_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The stack without the harness's own frames: the user wants to see their code. */
const scriptStack = (stack) =>
  stack
    .split('\n')
    .filter((line) => !line.includes(HARNESS_DIR))
    .join('\n');

const describe = (err) => (err instanceof Error ? `${err.name}: ${err.message}` : `thrown value: ${String(err)}`);

const errorMessage = (taskId, err, signal) => {
  if (err instanceof ScriptError) return { type: 'error', task_id: taskId, code: 'SCRIPT_ERROR', message: err.message };
  const msg = { type: 'error', task_id: taskId, code: 'SCRIPT_ERROR', message: describe(err) };
  if (signal.aborted) msg.message = `cancelled: ${msg.message}`;
  if (err instanceof Error && typeof err.stack === 'string') msg.traceback = scriptStack(err.stack);
  return msg;
};

/**
 * Env and cwd are process-wide: a job gets them only when it has the worker to itself
 * (concurrency 1). With several jobs at once they stay in `ctx.env`.
 */
const enterSandbox = (job, exclusive) => {
  if (!exclusive) return () => {};
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

export const runJob = async (job, { channel, jobNumber, controller, exclusive }) => {
  const taskId = String(job.task_id);
  const { ctx, emit, close } = createContext(channel, job, controller.signal);
  const leave = enterSandbox(job, exclusive);
  let outcome;
  try {
    outcome = await jobStorage.run({ taskId, emit }, async () => {
      try {
        evictCommonJs(job.script);
        const mod = await import(`${pathToFileURL(job.script).href}?job=${jobNumber}`);
        const run = typeof mod.run === 'function' ? mod.run : mod.default?.run;
        if (typeof run !== 'function') {
          throw new ScriptError(`${job.script} does not export a function run(inputPath, outputPath, params, ctx)`);
        }
        channel.emit({ type: 'started', task_id: taskId, ts: performance.timeOrigin + performance.now() });
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
        return channel.encode(errorMessage(taskId, err, controller.signal));
      }
    });
  } finally {
    close();
    leave();
  }
  // Raw stdout/stderr writes of this job must reach the platform before `done` does.
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  channel.send(outcome);
  channel.emit({ type: 'done', task_id: taskId });
};
