/**
 * Rate limits behind two API processes sharing one Redis (the event bus's): one key's
 * requests spread over both nodes get 429 past the ONE limit, not twice it. With Redis
 * stopped, both nodes keep answering (no 5xx, no wait) from their local buckets, each to the
 * limit on its own, and share the buckets again once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresTaskStore } from '../../../src/store/postgres/postgres-store.ts';
import { startCluster, type Cluster } from '../../helpers/cluster.ts';
import { createKey } from '../../helpers/keys.ts';
import { until } from '../../helpers/until.ts';

const BURST = 6;
let cluster: Cluster;
const keys: string[] = [];

beforeAll(async () => {
  cluster = await startCluster({
    apis: 2,
    schedulers: 0,
    // A bucket that does not refill during the test: exactly `burst` requests pass.
    config: { auth: { mode: 'keys', rate_limit: { requests_per_second: 0.001, burst: BURST } } },
    migrate: async (url) => (await PostgresTaskStore.open({ url, poolSize: 1 })).close(),
    beforeNodes: async (url) => {
      const store = await PostgresTaskStore.open({ url, poolSize: 1 });
      try {
        for (let i = 0; i < 2; i++) keys.push(await createKey(store, { tenant: 'default', role: 'member' }));
      } finally {
        await store.close();
      }
    },
  });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
});

/** `n` GETs with `key`, alternating between the two API nodes: their statuses. */
async function spread(key: string, n: number): Promise<number[]> {
  const apis = cluster.apis();
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${apis[i % 2]!.url}/api/v1/tasks?limit=1`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(5_000) });
    await r.arrayBuffer();
    if (r.status === 429) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    statuses.push(r.status);
  }
  return statuses;
}

const gauge = async (url: string, name: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
};
const everyNodeShared = (value: number) =>
  until(`lakeray_rate_limit_shared ${value} on both API nodes`, async () => (await Promise.all(cluster.apis().map((n) => gauge(n.url, 'lakeray_rate_limit_shared')))).every((v) => v === value), 15_000, 50);

describe('rate limits over two API nodes', () => {
  it('holds one key to ONE limit across both nodes', async () => {
    await everyNodeShared(1);
    const statuses = await spread(keys[0]!, 2 * BURST + 2);
    expect(statuses.filter((s) => s === 200)).toHaveLength(BURST);
    expect(statuses.slice(BURST).every((s) => s === 429)).toBe(true);
  });

  it('keeps answering from local buckets while Redis is down, then shares them again', { timeout: 120_000 }, async () => {
    await cluster.redis.restart(async () => {
      await everyNodeShared(0);
      const t0 = performance.now();
      const statuses = await spread(keys[1]!, 2 * BURST + 2);
      expect(performance.now() - t0).toBeLessThan(5_000);
      // Each node limits on its own meanwhile: the burst on each, nothing worse than 429.
      expect(statuses.filter((s) => s === 200)).toHaveLength(2 * BURST);
      expect(statuses.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
    });
    await everyNodeShared(1);
    // At least the one (a loaded machine may see a slow reconnect as a second outage: no harm, local buckets meanwhile).
    for (const node of cluster.apis()) expect(await gauge(node.url, 'lakeray_rate_limit_redis_outages_total')).toBeGreaterThanOrEqual(1);
    // Redis came back empty: the key's shared bucket is full again, and ONE again.
    const statuses = await spread(keys[1]!, 2 * BURST + 2);
    expect(statuses.filter((s) => s === 200)).toHaveLength(BURST);
  });
});
