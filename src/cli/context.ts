/**
 * What every verb receives: the resolved global options, the output streams and an API
 * client. Streams, env and the signal source are injected so tests run `main()` in-process.
 */
import type { Command } from 'commander';
import { ApiClient } from './client.ts';

export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface SignalSource {
  on(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  off(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

export interface CliIO {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where SIGINT/SIGTERM come from (`process` outside tests). */
  signals: SignalSource;
  /** Delay before re-opening a dropped event stream (ms); tests shorten it. */
  reconnectDelayMs?: number;
}

/** An AbortSignal that SIGINT (Ctrl-C) or SIGTERM aborts, until `release()`: what a command follows stops cleanly. */
export function interruptible(signals: SignalSource): { signal: AbortSignal; release(): void } {
  const abort = new AbortController();
  const stop = () => abort.abort();
  signals.on('SIGINT', stop);
  signals.on('SIGTERM', stop);
  return {
    signal: abort.signal,
    release: () => {
      signals.off('SIGINT', stop);
      signals.off('SIGTERM', stop);
    },
  };
}

export const processIO = (): CliIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signals: process,
});

export interface GlobalOptions {
  url?: string;
  json?: boolean;
  config?: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:8000';

export class Ctx {
  readonly json: boolean;
  readonly url: string;
  readonly configPath: string | undefined;
  private apiClient: ApiClient | undefined;

  constructor(
    readonly io: CliIO,
    opts: GlobalOptions,
  ) {
    this.json = opts.json === true;
    this.configPath = opts.config;
    this.url = opts.url ?? io.env.LAKERAY_URL ?? DEFAULT_URL;
  }

  get client(): ApiClient {
    this.apiClient ??= new ApiClient(this.url, { apiKey: this.io.env.LAKERAY_API_KEY });
    return this.apiClient;
  }

  get isTTY(): boolean {
    return this.io.stdout.isTTY === true;
  }

  /** Terminal width; a pty without a size (e.g. under `script`) reports 0. */
  get columns(): number {
    const c = this.io.stdout.columns;
    return c && c > 0 ? c : 80;
  }

  out(line = ''): void {
    this.io.stdout.write(`${line}\n`);
  }

  err(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /** One JSON document (pretty) or one JSON line (compact, for streams of events). */
  printJson(doc: unknown, compact = false): void {
    this.io.stdout.write(`${compact ? JSON.stringify(doc) : JSON.stringify(doc, null, 2)}\n`);
  }
}

/** Runs a verb's body with a Ctx built from the command's (global) options; records its exit code. */
export type Action = (cmd: Command, body: (ctx: Ctx) => Promise<number>) => Promise<void>;
