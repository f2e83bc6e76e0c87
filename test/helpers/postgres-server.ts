/**
 * A real PostgreSQL 15 server (Debian's postgresql-15) for one test file: initdb into its own
 * directory under the run's TMPDIR, a free port on 127.0.0.1 and a socket directory inside that
 * directory, a fresh database per caller (`createDatabase`), stopped and removed by `stop()`
 * (and SIGKILLed if the worker exits first).
 *
 * As root (CI runs as root) initdb and postgres refuse to run, so both run as the `postgres`
 * user through `setpriv`, which execs (no forked parent: the child we hold IS the postmaster,
 * so signals reach it). The data directory is handed to that user, and the directories above
 * it get search permission only (o+x: traverse, not list) so it can reach it.
 *
 * `usePostgres()` is the lazy, per-file form: the server starts on first use and stops after
 * the file's tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { freePort } from './server-process.ts';

const BIN = process.env.LAKERAY_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  port: number;
  dir: string;
  /** URL of a database on this server (default: the maintenance database `postgres`). */
  url(database?: string): string;
  /** Creates an empty database with a fresh name and returns its URL. */
  createDatabase(): Promise<string>;
  /** Fast shutdown, then start again on the same port and data directory (data survives). */
  restart(): Promise<void>;
  /** Stop without starting again (for outage tests); `start()` brings it back. */
  halt(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

/** The command line that runs `bin` as the postgres user when we are root. */
const command = (bin: string, args: string[]): [string, string[]] =>
  asRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', join(BIN, bin), ...args]] : [join(BIN, bin), args];

/** Lets the postgres user reach `dir`: owner of it and of its socket directory, search permission on the root-owned dirs above. */
function handToPostgres(dir: string, sockets: string): void {
  const who = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (who.status !== 0) throw new Error('running as root needs a `postgres` user (apt-get install -y postgresql-15)');
  for (const own of [dir, sockets]) chownSync(own, Number(who.stdout.trim()), Number(gid.stdout.trim()));
  for (let up = dirname(dir); up !== dirname(up); up = dirname(up)) {
    const st = statSync(up);
    if ((st.mode & 0o001) === 0 && st.uid === 0) chmodSync(up, (st.mode & 0o7777) | 0o001);
  }
}

export async function startPostgresServer(): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'lakeray-pg-'));
  const data = join(dir, 'data');
  const sockets = join(dir, 'sock');
  mkdirSync(sockets);
  if (asRoot) handToPostgres(dir, sockets);
  const [initCmd, initArgs] = command('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed (apt-get install -y postgresql-15?): ${init.stderr || init.error?.message}`);

  let port = 0;
  let child: ChildProcess | undefined;
  const launchOn = (p: number) =>
    launch(command('postgres', ['-D', data, '-p', String(p), '-k', sockets, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200']), p, data);
  // The free port can be taken between the probe and the bind: try a few.
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    child = await launchOn(port);
  }
  if (!child) throw new Error('postgres did not start');
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  let databases = 0;
  const server: PostgresServer = {
    port,
    dir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async createDatabase() {
      const name = `lakeray_${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: server.url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return server.url(name);
    },
    async halt() {
      await stopChild(child);
    },
    async start() {
      // Its own port again, which something else could grab meanwhile: retry for a while.
      for (let attempt = 0; attempt < 50; attempt++) {
        child = await launchOn(port);
        if (child) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`postgres did not come back on port ${port}`);
    },
    async restart() {
      await server.halt();
      await server.start();
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** One server for the calling test file, started on first use and stopped after its tests. */
export function usePostgres(): () => Promise<PostgresServer> {
  let started: Promise<PostgresServer> | undefined;
  afterAll(async () => {
    if (started) await (await started).stop();
  });
  return () => (started ??= startPostgresServer());
}

/** The started postmaster, or undefined when it exited (port taken) or never answered as ours. */
async function launch([cmd, args]: [string, string[]], port: number, data: string): Promise<ChildProcess | undefined> {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('error', () => {});
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    if (await servesDirectory(port, data)) return child;
    await Promise.race([exited, new Promise((r) => setTimeout(r, 50))]);
  }
  child.kill('SIGKILL');
  await exited;
  return undefined;
}

/** SIGINT is PostgreSQL's fast shutdown: sessions are ended, the data is kept. */
async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

/** True when the server on `port` answers and is the one on `data` (not another test's). */
async function servesDirectory(port: number, data: string): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = 'data_directory'");
    return rows[0]?.setting === data;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
