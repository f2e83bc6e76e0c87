/**
 * `lakeray up` as a user starts it: the real launcher (bin/lakeray.js) in a child process, in a
 * fresh working directory (so a fresh state dir, lake and data root), on a free port, with its
 * stdout and stderr kept apart so a test can read the banner and the log as a person would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/main.ts';

export interface UpProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The URL the banner printed. */
  url: string;
  /** Resolves with the first match of `re` in the stream (polls; fails after ms or if the process exits). */
  waitFor(re: RegExp, stream?: 'stdout' | 'stderr', ms?: number): Promise<RegExpMatchArray>;
  stop(): Promise<number | null>;
}

/** The environment without the caller's LAKERAY_* settings (a user's shell has none). */
export const cleanEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('LAKERAY_')) delete env[k];
  return { ...env, ...extra };
};

/** Starts `lakeray up <args>` in `cwd`; `wrap` prefixes the command (e.g. a mount namespace). */
export async function startUp(cwd: string, args: string[], o: { env?: NodeJS.ProcessEnv; wrap?: (argv: string[]) => string[] } = {}): Promise<UpProcess> {
  const argv = [process.execPath, join(PACKAGE_ROOT, 'bin/lakeray.js'), 'up', '--port', '0', ...args];
  const [cmd, ...rest] = o.wrap ? o.wrap(argv) : argv;
  const child = spawn(cmd!, rest, { cwd, env: cleanEnv(o.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (re: RegExp, stream: 'stdout' | 'stderr' = 'stdout', ms = 60_000): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = (stream === 'stdout' ? out : err).match(re);
      if (m) return m;
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`no ${re} on ${stream} (exit ${child.exitCode})\n--- stdout\n${out}\n--- stderr\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const up: UpProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    url: '',
    waitFor,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  up.url = (await waitFor(/^Lakeray is running at (\S+)/m, 'stdout', 90_000))[1]!;
  return up;
}
