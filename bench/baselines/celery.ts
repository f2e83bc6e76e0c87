// Celery throughput baseline: the Python ecosystem's standard task queue, with
// Redis as broker and result backend, measured by its own client.
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { killGroup, waitExit } from "../lib/child-process.ts";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");
const SCRIPT = path.join(here, "celery_bench.py");
// Separate from any project venv: benchmark-only deps must not leak into the app.
const VENV = path.join(repoRoot, ".lakeray", "bench-venv");
const PY = path.join(VENV, "bin", "python");

export interface CeleryOpts {
  tasks: number;
  redisUrl: string;
  /** Worker pool: "prefork" (processes), "threads", "solo". */
  pool: string;
  concurrency: number;
  /** worker_prefetch_multiplier: messages each pool slot reserves ahead. */
  prefetch: number;
  /** Tasks per published group (mode "group"). */
  batch: number;
  /** "group": one group per batch; "mget": the same without per-task result subscriptions; "loop": apply_async per task. Results collected at the end in every mode. */
  mode: "group" | "mget" | "loop";
}

/** Idempotent: a single import check when the venv is already usable. */
export async function ensureBenchVenv(): Promise<string> {
  if (existsSync(PY)) {
    try {
      await run(PY, ["-c", "import celery, redis, hiredis"]);
      return PY;
    } catch {
      /* fall through and (re)install */
    }
  }
  await mkdir(path.dirname(VENV), { recursive: true });
  if (!existsSync(PY)) await run("python3", ["-m", "venv", VENV]);
  const pip = (args: string[]) =>
    run(PY, ["-m", "pip", "install", "-q", ...args], {
      env: { ...process.env, PIP_RETRIES: "0" },
      maxBuffer: 16 << 20,
    });
  try {
    await pip(["celery", "redis", "hiredis"]);
  } catch {
    // Offline mirrors may lack click-didyoumean/click-repl (CLI-only deps);
    // celery_bench.py starts the worker without the CLI, so skip them.
    await pip(["--no-deps", "celery"]);
    await pip(["kombu", "billiard", "vine", "click", "click-plugins", "python-dateutil", "tzlocal", "redis", "hiredis"]);
  }
  await run(PY, ["-c", "import celery, redis, hiredis"]);
  return PY;
}

export async function celeryThroughput(
  opts: CeleryOpts,
): Promise<{ tasks: number; seconds: number; tasks_per_s: number }> {
  const py = await ensureBenchVenv();
  // Own process group, so the prefork children die with the parent on cleanup.
  const worker = spawn(py, [SCRIPT, "worker", opts.redisUrl, opts.pool, String(opts.concurrency), String(opts.prefetch)], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let workerErr = "";
  worker.stderr!.on("data", (d) => (workerErr = (workerErr + d).slice(-4000)));
  const onExit = () => killGroup(worker, "SIGKILL");
  process.once("exit", onExit);

  try {
    // The client waits for readiness itself (probe task) before timing.
    const { stdout } = await run(py, [SCRIPT, "client", opts.redisUrl, String(opts.tasks), String(opts.batch), opts.mode], {
      maxBuffer: 16 << 20,
      timeout: 900_000,
    }).catch((e: Error) => {
      throw new Error(`celery client failed: ${e.message}\nworker stderr:\n${workerErr}`);
    });
    const r = JSON.parse(stdout.trim().split("\n").pop()!) as { tasks: number; seconds: number; tasks_per_s: number };
    return { tasks: r.tasks, seconds: r.seconds, tasks_per_s: r.tasks_per_s };
  } finally {
    // SIGTERM = Celery warm shutdown; SIGKILL the group for anything left over.
    killGroup(worker, "SIGTERM");
    if (!(await waitExit(worker, 10_000))) killGroup(worker, "SIGKILL");
    killGroup(worker, "SIGKILL");
    await waitExit(worker, 5_000);
    process.removeListener("exit", onExit);
  }
}
