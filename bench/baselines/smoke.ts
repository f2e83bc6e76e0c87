// Quick end-to-end check of the baselines and a source for the reference
// numbers: npx tsx bench/baselines/smoke.ts
import { startRedis } from "../lib/redis-server.ts";
import { bullmqThroughput } from "./bullmq.ts";
import { celeryThroughput } from "./celery.ts";

const redis = await startRedis();
const fmt = (x: number) => x.toFixed(0);
try {
  console.log(`redis on ${redis.url}`);
  for (const concurrency of [100, 50]) {
    const r = await bullmqThroughput({ jobs: 20_000, concurrency, redisUrl: redis.url });
    console.log(`bullmq  jobs=${r.jobs} concurrency=${concurrency}: ${r.seconds.toFixed(2)}s  ${fmt(r.jobs_per_s)} jobs/s`);
  }
  for (const tasks of [5_000, 20_000]) {
    const r = await celeryThroughput({ tasks, redisUrl: redis.url });
    console.log(`celery  tasks=${r.tasks} prefork c=2: ${r.seconds.toFixed(2)}s  ${fmt(r.tasks_per_s)} tasks/s`);
  }
} finally {
  await redis.stop();
}
