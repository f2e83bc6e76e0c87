/**
 * The bounded fuzzing campaign of the test suite (issue 15 §8): 5,000 requests generated from
 * the live server's OpenAPI document (valid, boundary and malformed) against a real server
 * process: no 5xx, no hang, and the server healthy after. The full run (100,000) is
 * `npm run bench -- fuzz`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/server-process.ts';
import { runCampaign } from './campaign.ts';
import { startFuzzTarget, type FuzzTarget } from './target.ts';

const REQUESTS = Number(process.env.LAKERAY_FUZZ_REQUESTS ?? 5000);
let target: FuzzTarget;

beforeAll(async () => {
  target = await startFuzzTarget();
}, 240_000);

afterAll(async () => {
  await target?.close();
}, 30_000);

describe('fuzzing campaign (bounded)', () => {
  it(`${REQUESTS} generated requests: 0 × 5xx, 0 hangs, healthy after`, async () => {
    const seed = Number(process.env.LAKERAY_FUZZ_SEED ?? Date.now() % 1_000_000);
    console.log(`fuzz seed ${seed}`);
    const r = await runCampaign({ url: target.server.url, requests: REQUESTS, seed, ids: target.ids }).catch((err: unknown) => {
      // The server stopped answering: what it printed says why.
      console.log(`fuzz seed ${seed}: the campaign failed (server exit ${target.server.child.exitCode ?? target.server.child.signalCode}); server output:\n${target.server.output().slice(-6000)}`);
      throw err;
    });
    const failures = JSON.stringify(r.failures.slice(0, 5), null, 1);
    if (r.status_5xx + r.hangs > 0) console.log(`fuzz seed ${seed}: first failures ${failures}`);
    console.log(`fuzz seed ${seed}: ${r.requests} requests in ${r.seconds.toFixed(1)} s, statuses ${JSON.stringify(r.by_status)} (${r.not_ready} × 503 SERVICE_NOT_READY of a starting service), ${r.connection_errors} connection errors`);
    expect(r.requests).toBe(REQUESTS);
    expect(r.status_5xx, `seed ${seed}: ${failures}`).toBe(0);
    expect(r.hangs, `seed ${seed}: ${failures}`).toBe(0);
    // Every kind was sent, and the routes were reached beyond refusals.
    expect(Object.keys(r.by_kind).sort()).toEqual(['boundary', 'malformed', 'valid']);
    expect(Object.keys(r.by_status).some((s) => s.startsWith('2'))).toBe(true);
    expect(target.server.child.exitCode).toBeNull();
    expect((await api(target.server.url, 'GET', '/health')).status).toBe(200);
    expect((await api(target.server.url, 'GET', '/ready')).status).toBe(200);
  }, 600_000);
});
