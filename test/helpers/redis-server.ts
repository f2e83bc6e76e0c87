/**
 * A real redis-server (Debian's) for one test file: its own free port on 127.0.0.1 and its
 * own directory under the run's TMPDIR, stopped by the test (and SIGKILLed if the worker
 * exits first). `restart()` stops it and starts it again on the same port and directory:
 * with `appendonly` the data survives, without it Redis comes back empty (groups and all).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server-process.ts';

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /**
   * stop (SIGTERM: Redis writes its AOF on the way out) and start again on the same port;
   * `whileDown` runs (and is awaited) between the two, for tests of what happens meanwhile
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisServer(opts: { appendonly?: boolean } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'lakeray-redis-'));
  const args = (port: number) => [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', opts.appendonly ? 'yes' : 'no', '--appendfsync', 'always',
  ];
  let port = 0;
  let child: ChildProcess | undefined;
  // The free port can be taken between the probe and the bind: try a few.
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    child = await launch(args(port), port);
  }
  if (!child) throw new Error('redis-server did not start (apt-get install -y redis-server?)');
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async restart(whileDown) {
      await stopChild(child);
      await whileDown?.();
      // Its own port again, which something else could grab meanwhile: retry for a while.
      for (let attempt = 0; attempt < 50; attempt++) {
        child = await launch(args(port), port);
        if (child) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`redis-server did not come back on port ${port}`);
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      await stopChild(child);
    },
  };
  return server;
}

/** The started server, or undefined when it exited (port taken) or never answered. */
async function launch(args: string[], port: number): Promise<ChildProcess | undefined> {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('error', () => {});
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    if (await answersAs(port, child.pid)) return child;
    await Promise.race([exited, new Promise((r) => setTimeout(r, 25))]);
  }
  child.kill('SIGKILL');
  return undefined;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

/**
 * True when the server on `port` is the process `pid` (INFO's process_id), over raw RESP so
 * readiness does not depend on a client's reconnect logic — and another test's Redis that
 * grabbed the port first is not mistaken for ours.
 */
function answersAs(port: number, pid: number | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('INFO server\r\n'));
    sock.on('data', (d) => {
      text += d.toString();
      const m = /process_id:(\d+)/.exec(text);
      if (m) done(Number(m[1]) === pid);
    });
  });
}
