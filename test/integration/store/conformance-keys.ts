/** Conformance: API keys (create, get, list per tenant, revoke once, touch) and the audit log's pages. */
import { expect, it } from 'vitest';
import type { ApiKeyRecord } from '../../../src/store/key-store.ts';
import { type OpenStore, T0, uniq, useStore } from './fixtures.ts';

const record = (tenant: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id: `k${Math.random().toString(16).slice(2, 10).padEnd(16, '0')}`,
  tenant,
  role: 'member',
  hash: 'ab'.repeat(32),
  name: null,
  created_at: T0,
  expires_at: null,
  revoked_at: null,
  last_used_at: null,
  ...over,
});

export function keyConformance(open: OpenStore): void {
  const store = useStore(open);

  it('stores a key as given and lists a tenant’s keys newest first', async () => {
    const tenant = uniq('tenant');
    const older = record(tenant, { role: 'viewer', name: 'ci', expires_at: T0 + 1000 });
    const newer = record(tenant, { role: 'admin', created_at: T0 + 5 });
    const other = record(uniq('tenant'));
    for (const r of [older, newer, other]) await store().keys.createKey(r);
    expect(await store().keys.getKey(older.id)).toEqual(older);
    expect(await store().keys.getKey('k0000000000000000')).toBeNull();
    expect(await store().keys.listKeys(tenant)).toEqual([newer, older]);
    expect((await store().keys.listKeys()).map((k) => k.id)).toEqual(expect.arrayContaining([older.id, newer.id, other.id]));
  });

  it('revokes once, only within the tenant given, and records last use', async () => {
    const tenant = uniq('tenant');
    const key = record(tenant);
    await store().keys.createKey(key);
    expect(await store().keys.revokeKey(key.id, T0 + 10, 'someone-else')).toBe(false);
    expect(await store().keys.revokeKey(key.id, T0 + 10, tenant)).toBe(true);
    expect(await store().keys.revokeKey(key.id, T0 + 20)).toBe(false); // already revoked: keeps the first time
    await store().keys.touchKey(key.id, T0 + 30);
    expect(await store().keys.getKey(key.id)).toEqual({ ...key, revoked_at: T0 + 10, last_used_at: T0 + 30 });
  });

  it('pages a tenant’s audit log newest first, with its detail as JSON', async () => {
    const tenant = uniq('tenant');
    for (let i = 0; i < 5; i++) {
      await store().audit.appendAudit({ tenant, ts: T0 + i, key_id: i % 2 ? 'k1' : null, action: 'key.create', target: `t${i}`, detail: i === 4 ? { role: 'admin', n: [1] } : null });
    }
    await store().audit.appendAudit({ tenant: uniq('tenant'), ts: T0, key_id: null, action: 'x', target: 'y', detail: null });
    const first = await store().audit.listAudit(tenant, { limit: 2 });
    expect(first.map((e) => e.target)).toEqual(['t4', 't3']);
    expect(first[0]).toMatchObject({ tenant, ts: T0 + 4, key_id: null, action: 'key.create', detail: { role: 'admin', n: [1] } });
    const rest = await store().audit.listAudit(tenant, { before: first[1]!.id, limit: 10 });
    expect(rest.map((e) => e.target)).toEqual(['t2', 't1', 't0']);
    expect(rest[1]!.key_id).toBe('k1');
  });
}
