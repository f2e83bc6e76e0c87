/**
 * What both Ray benchmarks share: a head of their own (test/helpers/ray-head.ts dedicatedRayHead,
 * started like the tests' head, stopped by PID through ray-down.sh, never `ray stop`; a watchdog
 * stops it if the bench is killed), a
 * Lakeray server in this process with Ray executors on that head, and the direct side's way of
 * running a job: the Jobs REST API through the repo's client, the script's folder uploaded
 * once beforehand as its working_dir package.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTerminalJobStatus, RayJobsClient, type RayJobDetails } from '../../src/executors/ray/jobs-client.ts';
import { PackageUploader, packWorkingDir } from '../../src/executors/ray/package.ts';
import { dedicatedRayHead } from '../../test/helpers/ray-head.ts';
import { startPlatform, type BenchPlatform } from './platform.ts';

/** The no-op's folder: the working_dir package of both sides (entered.py only). */
export const RAY_SCRIPTS = join(import.meta.dirname, '..', 'scripts', 'ray');
export const ENTERED_SCRIPT = 'entered.py';

export interface BenchRayHead {
  url: string;
  numCpus: number;
  startMs: number;
  close(): void;
}

export async function startBenchRayHead(numCpus = 2): Promise<BenchRayHead> {
  const root = mkdtempSync(join(tmpdir(), 'lakeray-bench-ray-'));
  // Its watchdog watches this process's parent (npm's shell), which ends with the bench.
  const head = await dedicatedRayHead(root, numCpus);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    head.stop();
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', close); // a bench that throws still stops its head
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      close();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  return { url: head.url, numCpus, startMs: head.startMs, close };
}

/** A Lakeray server (its HTTP API on a free port) whose executors are `executors`, all on Ray. */
export const startRayPlatform = (executors: Record<string, unknown>): Promise<BenchPlatform> =>
  startPlatform({ script_roots: [RAY_SCRIPTS], executors });

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The direct side: jobs submitted straight to the Jobs API, entrypoint `python -u entered.py`. */
export class DirectJobs {
  readonly client: RayJobsClient;
  private uri = '';

  constructor(address: string) {
    this.client = new RayJobsClient({ address, timeoutMs: 60_000 });
  }

  /** Uploads the folder once, before anything is measured (its fair best configuration). */
  async prepare(): Promise<void> {
    this.uri = (await new PackageUploader(this.client).ensure(await packWorkingDir(RAY_SCRIPTS))).uri;
  }

  submit(id: string, cpu: number): Promise<unknown> {
    return this.client.submit({
      entrypoint: `python -u ${ENTERED_SCRIPT}`,
      submission_id: id,
      runtime_env: { working_dir: this.uri },
      entrypoint_num_cpus: cpu,
    });
  }

  /** The job once Ray says it is over (polled every `pollMs`), or throws past `deadlineMs`. */
  async terminal(id: string, pollMs = 200, deadlineMs = 600_000): Promise<RayJobDetails> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      const job = await this.client.get(id);
      if (job && isTerminalJobStatus(job.status)) return job;
      if (Date.now() > until) throw new Error(`direct job ${id} not over after ${deadlineMs} ms (${job?.status ?? 'unknown'})`);
      await sleep(pollMs);
    }
  }

  /** When the job's run() was entered (epoch ms), from the line entered.py printed. */
  async enteredMs(id: string): Promise<number> {
    const log = await this.client.logs(id);
    const line = /BENCH_ENTERED (\{.*\})/.exec(log);
    if (!line) throw new Error(`direct job ${id}: no BENCH_ENTERED line in its log:\n${log.slice(-2000)}`);
    return (JSON.parse(line[1]!) as { entered_s: number }).entered_s * 1000;
  }

  /** Deletes the given jobs (terminal ones; others are stopped first). */
  async remove(ids: Iterable<string>): Promise<void> {
    for (const id of ids) {
      await this.client.stop(id).catch(() => false);
      await this.terminal(id, 200, 60_000).catch(() => undefined);
      await this.client.delete(id).catch(() => false);
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/**
 * Resolves with the task's final record once it is over (subscribed before the submit, so
 * nothing is missed); rejects past `deadlineMs`.
 */
export function taskOver(p: BenchPlatform, deadlineMs = 600_000): { id: (id: string) => void; done: Promise<{ status: string; result: unknown; error: unknown; id: string }> } {
  const caller = { tenant: 'default' };
  let want: string | undefined;
  const early = new Set<string>();
  let resolve!: (id: string) => void;
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<string>((r, reject) => {
    resolve = r;
    timer = setTimeout(() => reject(new Error(`task ${want ?? '?'} not over after ${deadlineMs} ms`)), deadlineMs);
  });
  const off = p.server.engine.subscribe(caller, {}, (events) => {
    for (const e of events) {
      if (e.type !== 'state' || !['completed', 'failed', 'cancelled'].includes(e.data.status as string)) continue;
      if (want === undefined) early.add(e.task_id);
      else if (e.task_id === want) resolve(e.task_id);
    }
  });
  return {
    id(id) {
      want = id;
      if (early.has(id)) resolve(id);
    },
    done: ended.finally(() => {
      clearTimeout(timer);
      off();
    }).then(async (id) => {
      return { ...(await p.server.engine.get(caller, id)), id } as { status: string; result: unknown; error: unknown; id: string };
    }),
  };
}

/** The server, the client and the head, in that order; the head is stopped whatever failed before. */
export async function closeRayBench(p: BenchPlatform, direct: DirectJobs, head: BenchRayHead): Promise<void> {
  try {
    await p.close().catch((e: unknown) => console.error(`server close: ${String(e)}`));
    await direct.close();
  } finally {
    head.close();
  }
}
