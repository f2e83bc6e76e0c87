/**
 * What went wrong talking to a Ray dashboard, as data: `kind` says what happened, `retryable`
 * whether the same call may succeed later (the executor backs off and retries those; the rest
 * fail the task or surface to the operator), and `rayText` keeps Ray's own words (its error
 * bodies are text/plain Python tracebacks, CONTRACTS.md §1.1).
 *
 * Retryable: the head did not answer (connection refused or reset, our deadline passed) or it
 * answered 5xx — a GCS under load, no job agent yet, a head restarting. Not retryable: 4xx (a
 * request Ray will refuse again), a 500 that is really a refusal (DELETE of a job that is not
 * terminal yet), and a request this client refuses to send.
 */
export type RayApiErrorKind =
  /** no TCP answer: refused, reset, closed mid-response, unknown host */
  | 'unreachable'
  /** our deadline for the call passed */
  | 'timeout'
  /** 5xx, or a 200 whose body is not what the API documents */
  | 'server'
  /** 404: Ray does not know this job or package */
  | 'not_found'
  /** 401/403: token auth is on and our token is missing or wrong */
  | 'unauthorized'
  /** any other 4xx (bad field, DRIVER-type job, browser-looking request) */
  | 'rejected'
  /** DELETE of a job that is not terminal yet (Ray answers 500) */
  | 'not_terminal'
  /** refused before sending (e.g. entrypoint_memory not an integer) */
  | 'invalid_request';

const RETRYABLE: ReadonlySet<RayApiErrorKind> = new Set(['unreachable', 'timeout', 'server']);

export class RayApiError extends Error {
  override readonly name = 'RayApiError';
  readonly retryable: boolean;

  constructor(
    readonly kind: RayApiErrorKind,
    message: string,
    /** HTTP status when the head answered */
    readonly status?: number,
    /** Ray's response body (a traceback, usually), trimmed */
    readonly rayText?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retryable = RETRYABLE.has(kind);
  }
}

export const isRetryableRayError = (err: unknown): boolean => err instanceof RayApiError && err.retryable;

/** The last line of a Python traceback names the exception; it is the useful part of a message. */
export function rayTextSummary(text: string): string {
  const lines = text.trim().split('\n').map((l) => l.trim()).filter((l) => l && l !== '.');
  return (lines.at(-1) ?? '').slice(0, 500);
}

/** Kind of a non-2xx answer. DELETE of a running job is the one 500 that is not the server's fault. */
export function kindOfStatus(status: number, text: string): RayApiErrorKind {
  if (status === 404) return 'not_found';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status >= 500) return /non-terminal state/.test(text) ? 'not_terminal' : 'server';
  return 'rejected';
}
