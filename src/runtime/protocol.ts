/**
 * The runtime protocol between the platform and a running script (docs/runtime-protocol.md).
 *
 * A harness process (runtimes/python, runtimes/node) reads jobs as JSON lines on stdin and
 * writes events as JSON lines on fd 3 — never on stdout, which belongs to the script and is
 * captured as log events. A cold run is a harness that takes one job and exits; a warm-pool
 * worker is the same harness looping over jobs after its preload.
 *
 *   platform → harness (stdin):  {"op":"run","task_id","job":Job}   {"op":"cancel","task_id"}   {"op":"exit"}
 *   harness → platform (fd 3):   ready · started · progress · log · metric · artifact · result · error · done
 *
 * Every run op is answered: `started` … `done`, or an `error` and `done` for its task_id. A
 * harness that cannot decode a run line (params nested deeper than its JSON decoder goes, a
 * malformed line) still finds the task id at the line's start (runLine() writes it first) and
 * answers with `JOB_UNREADABLE`, so a task never waits on a job its harness could not read.
 */
export const EVENTS_FD = 3;

export interface Job {
  task_id: string;
  attempt: number;
  /** Absolute path of the script. */
  script: string;
  /** Resolved input/output: absolute paths inside the data roots, or lake names (null = none). */
  input: string | null;
  output: string | null;
  params: Record<string, unknown>;
  /** Extra environment for this job (CUDA_VISIBLE_DEVICES, LAKERAY_*). */
  env: Record<string, string>;
}

export type HarnessMessage =
  /** `actor_id`/`node_id`: the Ray actor (and its node) that runs the job, in mode actors. */
  | { type: 'ready'; pid: number; preload_ms?: number; actor_id?: string; node_id?: string }
  | { type: 'started'; task_id: string; ts: number }
  | { type: 'progress'; task_id: string; fraction: number; message?: string | null; step?: number; total?: number }
  | { type: 'log'; task_id: string; level?: string; stream?: 'stdout' | 'stderr'; message: string }
  | { type: 'metric'; task_id: string; name: string; value: number; step?: number }
  | { type: 'artifact'; task_id: string; name: string; path: string; content_type?: string }
  | { type: 'result'; task_id: string; value: unknown }
  /**
   * task_id "" is a process-level failure (a preload that raised), not a job's. step: where in
   * the script it failed (e.g. "render", "postprocess"), copied into the task's error.
   */
  | { type: 'error'; task_id: string; code?: string; message: string; traceback?: string; step?: string }
  /** cuda_initialized: the job touched CUDA, so the worker is pinned to that job's devices. */
  | { type: 'done'; task_id: string; cuda_initialized?: boolean };

/** Environment variables every job gets. */
export const ENV = {
  TASK_ID: 'LAKERAY_TASK_ID',
  /** 1 on the task's first attempt; a later attempt may follow one whose run() finished (docs/runtime-protocol.md). */
  ATTEMPT: 'LAKERAY_ATTEMPT',
  API_URL: 'LAKERAY_API_URL',
  EVENTS_FD: 'LAKERAY_EVENTS_FD',
  CUDA: 'CUDA_VISIBLE_DEVICES',
  /** Service tasks only: the port to listen on (127.0.0.1); also set as PORT and params.port. */
  SERVICE_PORT: 'LAKERAY_SERVICE_PORT',
  /** "1" when the job runs on the API server's machine: lake reads may use local snapshot files. */
  LAKE_LOCAL: 'LAKERAY_LAKE_LOCAL',
  /**
   * A directory of the task's own, created empty (by the harness) before run() and removed
   * after: files written here and reported with ctx.artifact are moved (renamed, not copied)
   * into the artifact store before the task can end.
   */
  WORK_DIR: 'LAKERAY_WORK_DIR',
  /** The task's own token (engine/task-tokens.ts): `Authorization: Bearer` for reports, uploads and the lake. */
  TASK_TOKEN: 'LAKERAY_TASK_TOKEN',
  /**
   * Set for a harness that reports over HTTP instead of fd 3 (a task on another machine):
   * the platform's API URL; events go to POST {url}/api/v1/tasks/{id}/reports.
   */
  REPORT_URL: 'LAKERAY_REPORT_URL',
} as const;

/**
 * The stdin line of a run op: `{"op":"run","task_id":"…","job":{…}}\n`, the task id first.
 * Throws (RangeError, TypeError) when the job cannot be encoded at all (nested too deeply).
 */
export const runLine = (job: Job): string => `{"op":"run","task_id":${JSON.stringify(job.task_id)},"job":${JSON.stringify(job)}}\n`;

/**
 * One protocol message, decoded from a value already parsed from JSON: the one decoder of the
 * harness's messages, whichever way they came (an fd-3 line, or a batch POSTed to
 * /api/v1/tasks/{id}/reports by a harness on another machine). Returns null for anything that
 * is not a message (a script cannot crash the server); the fields of a message are checked
 * where they are used (task-run.ts).
 */
export const decodeHarnessMessage = (value: unknown): HarnessMessage | null => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const msg = value as { type?: unknown; task_id?: unknown };
  if (typeof msg.type !== 'string' || (msg.task_id !== undefined && typeof msg.task_id !== 'string')) return null;
  return value as HarnessMessage;
};

/** Parse one fd-3 line; returns null for anything malformed. */
export const parseHarnessLine = (line: string): HarnessMessage | null => {
  if (line.length === 0) return null;
  try {
    return decodeHarnessMessage(JSON.parse(line));
  } catch {
    return null;
  }
};
