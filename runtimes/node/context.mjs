/**
 * `ctx` for JS/TS scripts, and attribution of console output to the job that produced it.
 *
 * Several jobs may share one worker (--concurrency N), so a plain stdout line cannot say which
 * task printed it. Console methods are patched to look up the running job in
 * AsyncLocalStorage and send the text as a `log` event on the channel; outside any job they
 * behave as before.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';

export const jobStorage = new AsyncLocalStorage();

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);
const CONTENT_TYPES = {
  '.json': 'application/json', '.txt': 'text/plain', '.csv': 'text/csv', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.mp4': 'video/mp4',
  '.webm': 'video/webm', '.wav': 'audio/wav', '.mp3': 'audio/mpeg', '.onnx': 'application/octet-stream',
  '.html': 'text/html', '.pdf': 'application/pdf',
};

/**
 * A job's cancellation. The AbortController behind `signal` is made only when a script reads
 * ctx.signal (creating one per job costs more than the rest of a no-op job's bookkeeping); an
 * abort that came first gives an already-aborted signal.
 */
export class JobAbort {
  #controller = undefined;
  #aborted = false;
  #reason = undefined;

  get signal() {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted() {
    return this.#aborted;
  }

  abort(reason) {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** The lake client module (lake.mjs), imported on the first lake call of any job. */
let lakeModule;
const loadLake = () => (lakeModule ??= import('./lake.mjs'));

export const createContext = (channel, job, abort) => {
  const taskId = String(job.task_id);
  let closed = false;
  /** The job reported an artifact: its work dir is then the platform's to clean up. */
  let reported = false;
  const workDir = job.env?.LAKERAY_WORK_DIR ?? null;
  /** Made on first use of ctx.work_dir: a worker running hundreds of small jobs at once pays nothing for it otherwise. */
  let workDirMade = false;
  let lakeClient;
  /** The job's lake client: env of the job (a worker running several jobs keeps it out of process.env). */
  const lake = async () => {
    if (lakeClient === undefined) {
      const { LakeClient } = await loadLake();
      lakeClient = new LakeClient({ taskId, env: job.env ?? {}, signal: abort.signal });
    }
    return lakeClient;
  };
  // Written at once: the script may block the event loop right after reporting.
  const emit = (msg) => {
    if (!closed) channel.emitNow({ ...msg, task_id: taskId });
  };
  const ctx = {
    task_id: taskId,
    attempt: Number(job.attempt ?? 1),
    params: job.params ?? {},
    input_path: job.input ?? null,
    /**
     * The task's own empty directory (LAKERAY_WORK_DIR), created on first access: files written
     * here and reported with ctx.artifact are moved into the artifact store; the rest is removed.
     */
    get work_dir() {
      if (workDir !== null && !workDirMade) {
        fs.mkdirSync(workDir, { recursive: true });
        workDirMade = true;
      }
      return workDir;
    },
    output_path: job.output ?? null,
    env: { ...(job.env ?? {}) },
    get signal() {
      return abort.signal;
    },
    get cancelled() {
      return abort.aborted;
    },
    progress(fraction, message = null, step, total) {
      const f = Number(fraction);
      if (Number.isNaN(f)) throw new TypeError('progress fraction must be a number between 0 and 1');
      const msg = { type: 'progress', fraction: Math.min(1, Math.max(0, f)), message: message == null ? null : String(message) };
      if (step != null) msg.step = Number(step);
      if (total != null) msg.total = Number(total);
      emit(msg);
    },
    log(message, level = 'info') {
      const lvl = level === 'warning' ? 'warn' : String(level);
      emit({ type: 'log', level: LEVELS.has(lvl) ? lvl : 'info', message: String(message) });
    },
    metric(name, value, step) {
      const v = Number(value);
      const msg = { type: 'metric', name: String(name), value: Number.isFinite(v) ? v : null };
      if (step != null) msg.step = Number(step);
      emit(msg);
    },
    artifact(file, name, contentType) {
      const abs = path.resolve(String(file));
      if (!fs.existsSync(abs)) throw new Error(`artifact ${abs} does not exist`);
      const msg = { type: 'artifact', path: abs, name: name ?? path.basename(abs) };
      reported = true;
      const type = contentType ?? CONTENT_TYPES[path.extname(abs).toLowerCase()];
      if (type) msg.content_type = type;
      emit(msg);
    },
    // Lake I/O (lake.mjs): names default to the task's input (reads) and output (writes).
    /** A dataset as an apache-arrow Table; opts: {columns, filter, version}. */
    async readDataset(name, opts = {}) {
      return (await lake()).readDataset(name ?? ctx.input_path, opts);
    },
    /** Write a Table (or RecordBatches, an object of columns, IPC bytes); opts: {name, mode}. */
    async writeDataset(data, opts = {}) {
      return (await lake()).writeDataset(data, { ...opts, name: opts.name ?? ctx.output_path });
    },
    /** Store a model: {name, files: {file: bytes | path}, metrics, params}. */
    async writeModel(opts = {}) {
      return (await lake()).writeModel({ ...opts, name: opts.name ?? ctx.output_path });
    },
    /** A model's {name, version, files, contentTypes, metrics, params, lineage}; opts: {version}. */
    async readModel(name, opts = {}) {
      return (await lake()).readModel(name ?? ctx.input_path, opts);
    },
    /** {name: version} of what this task read from the lake. */
    get versionsRead() {
      return lakeClient?.versionsRead ?? {};
    },
  };
  // Events from timers the script left behind must not land in a later task's log.
  const close = () => {
    closed = true;
  };
  return { ctx, emit, close, reported: () => reported, workDirMade: () => workDirMade };
};

const CONSOLE_METHODS = [
  ['log', 'info', 'stdout'],
  ['info', 'info', 'stdout'],
  ['debug', 'debug', 'stdout'],
  ['warn', 'warn', 'stderr'],
  ['error', 'error', 'stderr'],
];

export const patchConsole = () => {
  for (const [method, level, stream] of CONSOLE_METHODS) {
    const original = console[method].bind(console);
    console[method] = (...args) => {
      const job = jobStorage.getStore();
      if (job === undefined) return original(...args);
      job.emit({ type: 'log', level, stream, message: util.formatWithOptions({ colors: false }, ...args) });
    };
  }
};
