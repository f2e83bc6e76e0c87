/**
 * fuzz: the full fuzzing campaign (issue 15 §8). BENCH_FUZZ_REQUESTS (100,000) requests
 * generated from the live server's OpenAPI document (valid, boundary and malformed; fast-check,
 * test/fuzz/openapi-arbitraries.ts) against a real `lakeray up` process holding real tasks, a
 * dataset, a model and a deployment. Keys: `requests`, `status_5xx`, `hangs` (targets 0 and 0),
 * and whether the server was healthy after. The bounded run (5,000) is test/fuzz/fuzz.test.ts.
 */
import { api } from '../test/helpers/server-process.ts';
import { runCampaign } from '../test/fuzz/campaign.ts';
import { startFuzzTarget } from '../test/fuzz/target.ts';

const REQUESTS = Number(process.env.BENCH_FUZZ_REQUESTS ?? 100_000);
const SEED = Number(process.env.BENCH_FUZZ_SEED ?? 20261205);

export async function run(): Promise<Record<string, unknown>> {
  const target = await startFuzzTarget();
  try {
    const r = await runCampaign({ url: target.server.url, requests: REQUESTS, seed: SEED, concurrency: 8, ids: target.ids, log: (l) => console.log(l) });
    const health = (await api(target.server.url, 'GET', '/health')).status;
    const ready = (await api(target.server.url, 'GET', '/ready')).status;
    const alive = target.server.child.exitCode === null;
    console.log(`${r.requests} requests in ${r.seconds.toFixed(0)} s: ${r.status_5xx} × 5xx, ${r.hangs} hangs, ${r.not_ready} × 503 SERVICE_NOT_READY (a starting service); /health ${health}, /ready ${ready}, process alive ${alive}`);
    return { ...r, healthy_after: health === 200 && ready === 200 && alive, targets: { status_5xx: 0, hangs: 0 } };
  } finally {
    await target.close();
  }
}
