/**
 * A tenant's lake storage quota (tenants.<T>.lake_bytes): a write that would take the
 * tenant's namespace past it is 429 QUOTA_EXCEEDED and writes nothing; other tenants' writes
 * are not counted against it, and a tenant without a quota is not limited.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectError, ipc, lakeCall, startIsolationServer, type IsolationServer } from './fixture.ts';

let iso: IsolationServer;
let acme: Awaited<ReturnType<IsolationServer['hold']>>;

beforeAll(async () => {
  iso = await startIsolationServer({ tenants: { acme: { lake_bytes: 64 * 1024 } } });
  acme = await iso.hold('acme');
}, 60_000);

afterAll(async () => {
  acme?.release();
  await iso?.close();
});

it('refuses a write past the tenant\'s lake_bytes with 429 QUOTA_EXCEEDED, and writes nothing', async () => {
  const url = iso.server.url;
  const auth = { authorization: `Bearer ${acme.token}` };
  // The default tenant (no quota) writes far more than acme may: not counted against acme.
  expect((await lakeCall(url, 'PUT', '/api/v1/datasets/big/arrow', {}, ipc(20_000))).status).toBe(200);
  const small = await lakeCall(url, 'PUT', '/api/v1/datasets/small/arrow', auth, ipc(100));
  expect(small.status, small.text).toBe(200);
  const big = await lakeCall(url, 'PUT', '/api/v1/datasets/big/arrow', auth, ipc(20_000)); // 160 KB of floats
  expectError(big, 429, 'QUOTA_EXCEEDED');
  expect(JSON.parse(big.text).error.message).toContain('lake_bytes');
  expectError(await lakeCall(url, 'GET', '/api/v1/datasets/big', auth), 404, 'DATASET_NOT_FOUND');
  // Appending to what it has, within the quota, still works.
  expect((await lakeCall(url, 'PUT', '/api/v1/datasets/small/arrow?mode=append', auth, ipc(100))).status).toBe(200);
  expect(JSON.parse((await lakeCall(url, 'GET', '/api/v1/datasets/small', auth)).text).num_rows).toBe(200);
});
