// BullMQ throughput baseline: how fast the de-facto Node job queue moves
// no-op jobs through Redis on this machine. Producer and Worker share one
// process, as in BullMQ's own benchmarks; Redis runs in its own process.
import { Queue, Worker, type ConnectionOptions } from "bullmq";

export interface BullmqOpts {
  jobs: number;
  concurrency: number;
  redisUrl: string;
  /** Jobs per addBulk call: the same batch size as the platform's batch submits. */
  batch: number;
}

export async function bullmqThroughput(
  opts: BullmqOpts,
): Promise<{ jobs: number; seconds: number; jobs_per_s: number }> {
  const u = new URL(opts.redisUrl);
  // Plain options (not a shared ioredis instance) so queue/worker own and close
  // their connections; Workers need maxRetriesPerRequest: null.
  const connection: ConnectionOptions = {
    host: u.hostname,
    port: Number(u.port || 6379),
    maxRetriesPerRequest: null,
  };
  // Fresh queue name per run: repeated runs on one Redis never see old jobs.
  const name = `bench-bullmq-${process.pid}-${Date.now()}`;
  const queue = new Queue(name, { connection });

  let done = 0;
  let resolveAll!: () => void;
  let rejectAll!: (e: Error) => void;
  const all = new Promise<void>((res, rej) => {
    resolveAll = res;
    rejectAll = rej;
  });
  // A failure may arrive before we start awaiting; keep it from being "unhandled".
  all.catch(() => {});

  const worker = new Worker(name, async () => null, {
    connection,
    concurrency: opts.concurrency,
    // BullMQ's documented production practice: keep a bounded history rather
    // than the library default (keep everything), so Redis does not grow.
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 5000 },
  });
  worker.on("completed", () => {
    if (++done === opts.jobs) resolveAll();
  });
  worker.on("failed", (_job, err) => rejectAll(err));

  try {
    // Connection setup is not part of the measured throughput.
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);

    const t0 = performance.now();
    for (let i = 0; i < opts.jobs; i += opts.batch) {
      const n = Math.min(opts.batch, opts.jobs - i);
      await queue.addBulk(Array.from({ length: n }, () => ({ name: "noop", data: {} })));
    }
    await all;
    const seconds = (performance.now() - t0) / 1000;
    return { jobs: opts.jobs, seconds, jobs_per_s: opts.jobs / seconds };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}
