/**
 * The one error-code registry. Every error the API returns and every error a task can end
 * with has a code here; docs/errors.md lists the same codes (test/unit/errors-doc.test.ts).
 * `retryable` is data on the code (temporal's style): the engine reads it, not the message.
 */
export interface ErrorDef {
  readonly status: number;
  readonly message: string;
  /** api: returned by HTTP routes; task: recorded as a task's final error. */
  readonly scope: 'api' | 'task' | 'both';
  readonly retryable?: boolean;
}

export const ERRORS = {
  INVALID_REQUEST: { status: 400, scope: 'api', message: 'Request validation failed' },
  RESOURCES_UNSATISFIABLE: { status: 400, scope: 'api', message: 'The task asks for more resources than its executor has' },
  UNKNOWN_EXECUTOR: { status: 400, scope: 'api', message: 'No executor with that name is configured' },
  VIDEO_MODEL_NOT_FOUND: { status: 400, scope: 'api', message: 'No video model with that id is configured' },
  VIDEO_MODEL_UNAVAILABLE: { status: 400, scope: 'api', message: 'The video model cannot run on this server (its executor is not configured or its script is missing)' },
  INVALID_IMAGE: { status: 400, scope: 'api', message: 'The image is not a PNG, JPEG, WebP or GIF, is too large, or could not be fetched' },
  INVALID_MULTIPART: { status: 400, scope: 'api', message: 'The multipart/form-data body is malformed (no boundary, cut short, or a part without headers)' },
  UPLOAD_NOT_FOUND: { status: 400, scope: 'api', message: 'No upload with that id' },
  URL_NOT_ALLOWED: { status: 400, scope: 'api', message: 'The URL is not http(s) or points to a private, loopback or link-local address' },
  UNAUTHORIZED: { status: 401, scope: 'api', message: 'Missing or invalid API key' },
  FORBIDDEN: { status: 403, scope: 'api', message: "The API key's role may not do this" },
  TASK_NOT_FOUND: { status: 404, scope: 'api', message: 'Task does not exist' },
  TENANT_NOT_FOUND: { status: 404, scope: 'api', message: "No such tenant among those the caller may see (a caller sees its own tenant; an operator, every tenant)" },
  DATASET_NOT_FOUND: { status: 404, scope: 'api', message: 'Dataset does not exist' },
  MODEL_NOT_FOUND: { status: 404, scope: 'api', message: 'Model does not exist' },
  VERSION_NOT_FOUND: { status: 404, scope: 'api', message: 'No such version or tag of the dataset or model' },
  DEPLOYMENT_NOT_FOUND: { status: 404, scope: 'api', message: 'No deployment with that name' },
  EVAL_REPORT_NOT_FOUND: { status: 404, scope: 'api', message: 'No evaluation report with that id, or the report has no such file' },
  SESSION_NOT_FOUND: { status: 404, scope: 'api', message: 'No session with that id (it ended, was deleted or was reaped when idle)' },
  ARTIFACT_NOT_FOUND: { status: 404, scope: 'api', message: 'The task has no artifact with that name' },
  KEY_NOT_FOUND: { status: 404, scope: 'api', message: 'No live API key with that id in your tenant' },
  ROUTE_NOT_FOUND: { status: 404, scope: 'api', message: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, scope: 'api', message: 'Method not allowed on this route' },
  IDEMPOTENCY_CONFLICT: { status: 409, scope: 'api', message: 'Idempotency key was used with a different request body' },
  TASK_NOT_CANCELLABLE: { status: 409, scope: 'api', message: 'Task is already finished' },
  TASK_ACTIVE: { status: 409, scope: 'api', message: 'Task is still queued or running; cancel it first' },
  STALE_ATTEMPT: { status: 409, scope: 'api', message: 'The report is for an attempt of the task that is over (the task ended or runs again); nobody reads it' },
  SERVICE_NOT_RUNNING: { status: 409, scope: 'api', message: 'The task is not a running service' },
  DATASET_EXISTS: { status: 409, scope: 'api', message: 'A dataset with that name already exists' },
  MODEL_EXISTS: { status: 409, scope: 'api', message: 'A model with that name already exists' },
  DATASET_IN_USE: { status: 409, scope: 'api', message: 'A running task reads or writes this dataset' },
  MODEL_IN_USE: { status: 409, scope: 'api', message: 'A running task reads or writes this model' },
  DEPLOYMENT_EXISTS: { status: 409, scope: 'api', message: 'A deployment with that name already exists' },
  PAYLOAD_TOO_LARGE: { status: 413, scope: 'api', message: 'Request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, scope: 'api', message: 'Unsupported content type' },
  INVALID_TENSOR: { status: 400, scope: 'api', message: 'An input is missing, unknown, or has the wrong shape or dtype for the model' },
  RATE_LIMITED: { status: 429, scope: 'api', message: "Too many requests for this API key; retry after Retry-After" },
  QUEUE_FULL: { status: 429, scope: 'api', message: "The deployment's queue is full; retry after Retry-After" },
  QUOTA_EXCEEDED: { status: 429, scope: 'api', message: "The tenant's quota (max_queued, or GPU-seconds of the day for a GPU task) does not allow the submission; nothing was submitted" },
  TOO_MANY_SESSIONS: { status: 429, scope: 'api', message: 'The most streaming sessions the server keeps are open; delete one or retry once idle ones are reaped' },
  RANGE_NOT_SATISFIABLE: { status: 416, scope: 'api', message: 'The requested byte range lies outside the file' },
  SERVICE_UNREACHABLE: { status: 502, scope: 'api', message: 'The service did not answer the proxied request' },
  NOT_READY: { status: 503, scope: 'api', message: 'Server is starting or shutting down' },
  STORE_UNAVAILABLE: { status: 503, scope: 'api', message: 'The task store (PostgreSQL) cannot be reached; retry shortly' },
  REPORTS_NOT_OPEN: { status: 503, scope: 'api', message: "Nobody follows the task's reports yet (its executor has not re-attached after a restart); retry after Retry-After" },
  SERVICE_NOT_READY: { status: 503, scope: 'api', message: 'The service is starting or restarting; retry shortly' },
  DEADLINE_UNMEETABLE: { status: 503, scope: 'api', message: 'The request cannot be answered within its timeout at the current load; retry after Retry-After' },
  REPLICA_UNAVAILABLE: { status: 503, scope: 'api', message: 'No replica of the deployment could answer (they died, are draining or failed to start); retry after Retry-After' },
  INFERENCE_TIMEOUT: { status: 504, scope: 'api', message: 'The request was not answered within its timeout' },
  INFERENCE_FAILED: { status: 500, scope: 'api', message: 'The model failed on this request' },
  INTERNAL_ERROR: { status: 500, scope: 'both', message: 'Internal error' },

  SCRIPT_ERROR: { status: 500, scope: 'task', message: 'The script raised an error', retryable: true },
  SCRIPT_NOT_FOUND: { status: 400, scope: 'both', message: 'Script not found inside the script roots' },
  INPUT_NOT_FOUND: { status: 404, scope: 'task', message: 'The data the script reads is not there (a missing file or folder)' },
  PROCESS_EXITED: { status: 500, scope: 'task', message: 'The script process exited without a result', retryable: true },
  TASK_TIMEOUT: { status: 500, scope: 'task', message: 'The task ran past its timeout', retryable: true },
  TASK_LOST: { status: 500, scope: 'task', message: 'The task lost its lease (server or worker died) and has no attempts left' },
  EXECUTOR_ERROR: { status: 500, scope: 'task', message: 'The executor failed to run the task', retryable: true },
  EXECUTOR_LOST: { status: 500, scope: 'task', message: 'The executor lost the task: its Ray head restarted, its driver died, or it was unreachable for too long', retryable: true },
  GANG_RANK_FAILED: { status: 500, scope: 'task', message: 'A rank of the gang running the task failed or died', retryable: true },
  JOB_UNREADABLE: { status: 500, scope: 'task', message: "The task's job could not be encoded for its harness, or its harness could not decode it (e.g. params nested too deeply)" },
  ARTIFACT_ERROR: { status: 500, scope: 'task', message: 'A file the task reported as an artifact could not be stored' },
  SERVICE_UNHEALTHY: { status: 500, scope: 'task', message: 'The service did not pass its health check within startup_timeout_s' },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERRORS, code);

export class LakerayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;
  /** When the caller may try again (ms); routes turn it into `Retry-After` (seconds, rounded up, at least 1). */
  readonly retryAfterMs?: number;

  constructor(code: ErrorCode, message?: string, details?: unknown, retryAfterMs?: number) {
    super(message ?? ERRORS[code].message);
    this.name = 'LakerayError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

export interface TaskError {
  code: string;
  message: string;
  /** Where it happened, e.g. "run" or a post-processing step name. */
  step?: string;
  /** The script's traceback, when it raised. */
  traceback?: string;
}

export const taskError = (code: ErrorCode, message?: string, step?: string): TaskError =>
  step === undefined ? { code, message: message ?? ERRORS[code].message } : { code, message: message ?? ERRORS[code].message, step };

export const isRetryable = (code: string): boolean =>
  isErrorCode(code) && (ERRORS[code] as ErrorDef).retryable === true;
