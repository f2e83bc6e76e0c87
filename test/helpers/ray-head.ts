/**
 * The test run's Ray head: ONE real head per `vitest run`, started by the first test file
 * that calls `rayHead()` and shared by the others, so a run that needs no Ray pays nothing
 * (a head costs ~15 s to start and ~1.6 GB). It runs scripts/ray-local/ray-up.sh with ports
 * of its own (never Ray's defaults: someone else's Ray may be on them), its start log under
 * the run's TMPDIR root (test/helpers/tmp-root.ts), Ray's temp dir in /tmp named after that
 * root (see rayTmpDir), and the venv in RAY_UP_HOME (default ~/.cache/lakeray/ray, built
 * once; .ci/run builds it before the tests).
 *
 * Sharing: the test files of a run are separate processes. The first to get the lock
 * (`flock` on <root>/ray-head.lock, released by the kernel if its holder dies) starts the
 * head and writes <root>/ray-head.json; the others read it.
 *
 * Stopping, whatever happens: the run's global teardown calls `stopRayHead(root)` (ray-down.sh,
 * by PID, never `ray stop`); if vitest itself is killed, a watchdog started with the head
 * (ray-down-when-gone.sh, in a session of its own) sees the vitest process gone and stops it.
 * Ray's processes get a session of their own too, so a Ctrl-C to vitest never half-kills them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { request } from 'undici';

const SCRIPTS = resolve(import.meta.dirname, '../../scripts/ray-local');
/** A custom resource the head offers, so tests can ask for `entrypoint_resources`. */
export const TEST_RESOURCE = 'lakeray_test';

/**
 * The head's logical GPUs: two, as a 2-GPU node has, so a GPU task places (Ray only counts
 * them: a task asking for one gets CUDA_VISIBLE_DEVICES, nothing more) and a task asking for
 * more than a node has is refused.
 */
export const TEST_GPUS = 2;

export interface RayHead {
  /** the dashboard (Jobs REST API) */
  url: string;
  gcsPort: number;
  /** RAY_UP_ROOT of this head (its start log) */
  root: string;
  /** Ray's temp dir (sessions, logs, sockets) */
  rayTmp: string;
  numCpus: number;
  /** logical GPUs (no device behind them), so GPU tasks (the Wan2.2 models) can place */
  numGpus: number;
  /** ray-up.sh's wall time when this run started the head */
  startMs: number;
}

let mine: Promise<RayHead> | undefined;
let withServe: Promise<RayHead> | undefined;

/**
 * The run's head, started on first use. Give the calling hook a long timeout (a cold venv takes minutes).
 * `serve`: the head's venv also has Ray Serve's dependencies and onnxruntime (ray-up.sh
 * --install with RAY_UP_SERVE=1, under the venv's install lock). Serve's actors start in fresh
 * workers of that venv, so the same head serves whether or not it started with them.
 */
export function rayHead(opts: { serve?: boolean } = {}): Promise<RayHead> {
  mine ??= acquire();
  if (!opts.serve) return mine;
  withServe ??= mine.then(async (head) => {
    await installServe();
    return head;
  });
  return withServe;
}

/**
 * Held by a test file for as long as it deploys Serve applications on the run's head: Serve's
 * REST API takes the whole config (read, modify, PUT), so two files doing that at once could
 * drop each other's apps. Released by the kernel if the file's process dies.
 */
export function serveLock(): Promise<() => void> {
  return lock(join(tmpdir(), 'ray-serve.lock'));
}

/** Serve's modules and onnxruntime, as ray-up.sh checks them (RAY_UP_SERVE=1). */
const SERVE_IMPORTS = 'import mmh3, watchfiles, starlette, fastapi, uvicorn, jinja2, onnxruntime';

async function installServe(): Promise<void> {
  // Already there: skip ray-up.sh, whose install step (under the venv's lock) would hold up other heads starting.
  const home = process.env.RAY_UP_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lakeray', 'ray');
  const python = process.env.RAY_UP_VENV ? join(process.env.RAY_UP_VENV, 'bin/python') : join(home, 'venv/bin/python');
  if (spawnSync(python, ['-c', SERVE_IMPORTS], { stdio: 'ignore', timeout: 120_000 }).status === 0) return;
  const run = spawn('bash', [join(SCRIPTS, 'ray-up.sh'), '--install'], { env: { ...process.env, RAY_UP_SERVE: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  run.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((r) => run.once('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`ray-up.sh --install (RAY_UP_SERVE=1) failed (exit ${code}):\n${err.split('\n').slice(-30).join('\n')}`);
}

const headDir = (runRoot: string) => join(runRoot, 'ray');
const stateFile = (runRoot: string) => join(runRoot, 'ray-head.json');
/**
 * Ray's temp dir: short and outside the run's root, because Ray's Unix sockets live in it
 * (<dir>/session_<date>_<pid>/sockets/plasma_store) and a socket path has at most 107 bytes.
 * Named after the root, so the teardown finds it from the root alone.
 */
const rayTmpDir = (runRoot: string) => `/tmp/lakeray-ray-${createHash('sha256').update(runRoot).digest('hex').slice(0, 12)}`;

/** Stop the run's head if one was started, and remove Ray's temp dir (global teardown). */
export function stopRayHead(runRoot: string): void {
  const rayTmp = rayTmpDir(runRoot);
  if (!existsSync(headDir(runRoot)) && !existsSync(rayTmp)) return;
  const res = spawnSync('bash', [join(SCRIPTS, 'ray-down.sh')], {
    env: { ...process.env, RAY_UP_ROOT: headDir(runRoot), RAY_UP_TMP: rayTmp, RAY_DOWN_GRACE_S: '2' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (res.status !== 0) process.stderr.write(`ray-down.sh failed (${res.status}): ${res.stdout}${res.stderr}\n`);
  rmSync(rayTmp, { recursive: true, force: true, maxRetries: 3 });
}

async function acquire(): Promise<RayHead> {
  const runRoot = tmpdir();
  const release = await lock(join(runRoot, 'ray-head.lock'));
  try {
    const known = readState(runRoot);
    if (known && (await answers(known.url))) return known;
    if (known) stopRayHead(runRoot); // died under us: clear what is left, start again
    const head = await start(runRoot);
    writeFileSync(`${stateFile(runRoot)}.tmp`, JSON.stringify(head));
    renameSync(`${stateFile(runRoot)}.tmp`, stateFile(runRoot));
    return head;
  } finally {
    release();
  }
}

/**
 * ray-up.sh, up to three times, with other ports each time: a port can be taken meanwhile, and
 * on a machine loaded by other test runs the raylet can miss Ray's fixed 30 s registration
 * deadline ("The current node timed out during startup"), which a second try usually meets.
 */
async function start(runRoot: string): Promise<RayHead> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(runRoot);
    } catch (err) {
      if (attempt === 3) throw err;
      process.stderr.write(`${(err as Error).message}\nretrying with other ports\n`);
    }
  }
}

/**
 * The run's shared head declares 4 logical CPUs (Ray's admission, not the machine's cores): two
 * test files at once share it (vitest's 2 workers), and with 2 a file's two 1-CPU jobs waited
 * PENDING for as long as another file's warm actors held a fraction of one (a CI run timed out so).
 */
const SHARED_HEAD_CPUS = 4;

async function startOnce(runRoot: string): Promise<RayHead> {
  const spec: HeadSpec = { root: headDir(runRoot), rayTmp: rayTmpDir(runRoot), ports: await freePorts(PORTS), numCpus: Number(process.env.LAKERAY_TEST_RAY_CPUS ?? SHARED_HEAD_CPUS), numGpus: Number(process.env.LAKERAY_TEST_RAY_GPUS ?? TEST_GPUS) };
  try {
    return await upWithWatchdog(spec);
  } catch (err) {
    stopRayHead(runRoot);
    throw err;
  }
}

/** One head's place and ports: the same spec starts the same head again (same ports, same temp dir). */
interface HeadSpec {
  root: string;
  rayTmp: string;
  /** gcs, dashboard, agent, client, autoscaler metrics, dashboard metrics, agent gRPC, runtime env agent, metrics export */
  ports: number[];
  numCpus: number;
  numGpus: number;
}

const PORTS = 9;

const headEnv = ({ root, rayTmp, ports, numCpus, numGpus }: HeadSpec): NodeJS.ProcessEnv => {
  const [gcs, dashboard, agent, client, autoscalerMetrics, dashboardMetrics, agentGrpc, runtimeEnvAgent, metricsExport] = ports.map(String);
  return {
    ...process.env,
    RAY_UP_ROOT: root,
    RAY_UP_TMP: rayTmp,
    RAY_UP_GCS_PORT: gcs,
    RAY_UP_DASHBOARD_PORT: dashboard,
    RAY_UP_AGENT_PORT: agent,
    RAY_UP_CLIENT_PORT: client,
    RAY_UP_AUTOSCALER_METRIC_PORT: autoscalerMetrics,
    RAY_UP_DASHBOARD_METRIC_PORT: dashboardMetrics,
    // Ports Ray would pick itself, in its worker port range, where another head's worker can take them first.
    RAY_UP_AGENT_GRPC_PORT: agentGrpc,
    RAY_UP_RUNTIME_ENV_AGENT_PORT: runtimeEnvAgent,
    RAY_UP_METRICS_EXPORT_PORT: metricsExport,
    RAY_UP_NUM_CPUS: String(numCpus),
    RAY_UP_NUM_GPUS: String(numGpus),
    RAY_UP_RESOURCES: JSON.stringify({ [TEST_RESOURCE]: 4 }),
    RAY_DOWN_GRACE_S: '2',
  };
};

/** The watchdog first (a vitest killed while the head starts leaves nothing behind either), then ray-up.sh. */
async function upWithWatchdog(spec: HeadSpec): Promise<RayHead> {
  spawn('bash', [join(SCRIPTS, 'ray-down-when-gone.sh'), String(vitestPid())], {
    env: { ...headEnv(spec), RAY_WATCHDOG_REMOVE_TMP: '1' },
    detached: true,
    stdio: 'ignore',
  }).unref();
  const t0 = performance.now();
  const url = await rayUp(spec);
  return { url, gcsPort: spec.ports[0]!, root: spec.root, rayTmp: spec.rayTmp, numCpus: spec.numCpus, numGpus: spec.numGpus, startMs: Math.round(performance.now() - t0) };
}

/** ray-up.sh for `spec`: the dashboard's URL, or throws with the end of its log. */
async function rayUp(spec: HeadSpec): Promise<string> {
  const up = spawn('bash', [join(SCRIPTS, 'ray-up.sh')], { env: headEnv(spec), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  up.stdout.on('data', (d) => (out += d));
  up.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((r) => up.once('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`ray-up.sh failed (exit ${code}):\n${err.split('\n').slice(-30).join('\n')}`);
  return out.trim().split('\n').at(-1)!;
}

/** ray-down.sh for `spec` (by PID, never `ray stop`); `crash`: SIGKILL to all its processes at once. */
function rayDown(spec: HeadSpec, graceS: number, crash = false): void {
  const res = spawnSync('bash', [join(SCRIPTS, 'ray-down.sh')], {
    env: { ...headEnv(spec), RAY_DOWN_GRACE_S: String(graceS), RAY_DOWN_CRASH: crash ? '1' : '0' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (res.status !== 0) process.stderr.write(`ray-down.sh failed (${res.status}): ${res.stdout}${res.stderr}\n`);
}

/** A head of one test file's own (not the run's shared head): it may be stopped and started again. */
export interface DedicatedRayHead extends RayHead {
  /** Crash it: SIGKILL to all its processes at once (ray-down.sh, RAY_DOWN_CRASH=1). */
  kill(): void;
  /** Start it again on the same ports; resolves with ray-up.sh's wall time in ms. */
  start(): Promise<number>;
  /** Stop it for good and remove Ray's temp dir. */
  stop(): void;
}

/**
 * A head on ports of its own under `root` (a folder of the calling test), for a test that
 * stops and restarts it, which the run's shared head must never be. Started like the shared
 * one (up to three tries, other ports each time), with its own watchdog.
 */
export async function dedicatedRayHead(root: string, numCpus = 2, numGpus = 0): Promise<DedicatedRayHead> {
  const rayTmp = rayTmpDir(root);
  for (let attempt = 1; ; attempt++) {
    const spec: HeadSpec = { root, rayTmp, ports: await freePorts(PORTS), numCpus, numGpus };
    try {
      const head = await upWithWatchdog(spec);
      return {
        ...head,
        kill: () => rayDown(spec, 0, true),
        start: async () => {
          // The same ports: a try that misses Ray's raylet deadline under load is tried again on them.
          for (let again = 1; ; again++) {
            const t0 = performance.now();
            try {
              await rayUp(spec);
              return Math.round(performance.now() - t0);
            } catch (err) {
              if (again === 3) throw err;
              process.stderr.write(`${(err as Error).message}\nretrying on the same ports\n`);
            }
          }
        },
        stop: () => {
          rayDown(spec, 2);
          rmSync(rayTmp, { recursive: true, force: true, maxRetries: 3 });
        },
      };
    } catch (err) {
      rayDown(spec, 2);
      if (attempt === 3) throw err;
      process.stderr.write(`${(err as Error).message}\nretrying with other ports\n`);
    }
  }
}

/**
 * The vitest process the head belongs to: test files run in child processes of it (pool
 * `forks`, the default) or in its worker threads (pool `threads`).
 */
function vitestPid(): number {
  return isMainThread ? process.ppid : process.pid;
}

function readState(runRoot: string): RayHead | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(runRoot), 'utf8')) as RayHead;
  } catch {
    return undefined;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const r = await request(`${url}/api/version`, { signal: AbortSignal.timeout(5_000) });
    await r.body.text();
    return r.statusCode === 200;
  } catch {
    return false;
  }
}

/** An exclusive lock held by a `flock` child until release() (or until this process dies). */
async function lock(path: string): Promise<() => void> {
  const holder = spawn('flock', ['-w', '900', path, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
  await new Promise<void>((res, rej) => {
    holder.stdout.once('data', () => res());
    holder.once('exit', (c) => rej(new Error(`could not lock ${path} (flock exit ${c})`)));
  });
  return () => holder.stdin.end();
}

/**
 * Distinct free ports, held open together while probing. Taken from 20000–32767: above Ray's
 * worker ports (10002–19999) and below the kernel's ephemeral range (32768+), from which the
 * head's own outgoing connections take their local ports while it starts — a port handed out
 * by `listen(0)` could be taken that way before the head binds it.
 */
async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let tries = 0; servers.length < n && tries < 1_000; tries++) {
      const port = 20_000 + Math.floor(Math.random() * 12_768);
      const s = createServer();
      const ok = await new Promise<boolean>((res) => {
        s.once('error', () => res(false));
        s.listen(port, '127.0.0.1', () => res(true));
      });
      if (ok) servers.push(s);
    }
    if (servers.length < n) throw new Error('no free ports in 20000-32767');
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}
