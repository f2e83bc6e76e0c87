/**
 * CLI errors and exit codes. Every failure a verb can hit becomes a CliError carrying a
 * stable code (same style as the API's `domain/errors.ts` codes) and the exit status, so
 * index.ts can print it one way (`error CODE: message`, or JSON with --json).
 */

/**
 * Exit codes, documented in `lakeray --help`. A watched task's outcome gets its own codes so
 * scripts can tell "the task failed" from "the CLI could not talk to the server":
 * 130 is kept for the user's own Ctrl-C (shell convention 128 + SIGINT), not for a task
 * someone cancelled.
 */
export const EXIT = {
  OK: 0,
  /** CLI/API/connection error, or a watched task that failed. */
  ERROR: 1,
  /** Bad flags or arguments. */
  USAGE: 2,
  /** A watched task ended cancelled. */
  CANCELLED: 3,
  /** The user interrupted the CLI (Ctrl-C) while it was watching; the task keeps running. */
  INTERRUPTED: 130,
} as const;

export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT.ERROR,
    /** A next step for the user, printed on its own line. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super('USAGE', message, EXIT.USAGE);
    this.name = 'UsageError';
  }
}

/** An error response from the API: `{"error": {"code", "message"}}` with its HTTP status. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message, EXIT.ERROR);
    this.name = 'ApiError';
  }
}
