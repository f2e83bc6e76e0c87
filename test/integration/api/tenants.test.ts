/**
 * /api/v1/tenants/{name} and the per-tenant gauges of /metrics, on the real engine and store
 * (tenant-rig.ts), in `auth: keys` with real API keys: the operator (an admin of `default`),
 * and keys of tenant acme.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { MetricsRegistry } from '../../../src/api/metrics.ts';
import { LakerayError } from '../../../src/domain/errors.ts';
import { TenantAdmin } from '../../../src/tenants/admin.ts';
import { createKey } from '../../helpers/keys.ts';
import { startTenantRig, type TenantRig } from '../engine/tenant-rig.ts';

describe('tenants API', () => {
  let rig: TenantRig;
  let app: FastifyInstance;
  let admin: TenantAdmin;
  const bearer: Record<'operator' | 'acmeAdmin' | 'acmeMember' | 'acmeViewer' | 'defaultMember', Record<string, string>> = {} as never;
  const get = (name: string, who: keyof typeof bearer = 'operator') => app.inject({ method: 'GET', url: `/api/v1/tenants/${name}`, headers: bearer[who] });
  const put = (name: string, payload: unknown, who: keyof typeof bearer = 'operator') =>
    app.inject({ method: 'PUT', url: `/api/v1/tenants/${name}`, payload: payload as object, headers: bearer[who] });

  beforeAll(async () => {
    rig = await startTenantRig({ gpus: 2, tenants: { defaults: { max_queued: 50 }, acme: { weight: 3, max_running: 0 } } });
    admin = new TenantAdmin({ store: rig.store, tenants: rig.engine.tenants });
    const keys = { operator: ['default', 'admin'], acmeAdmin: ['acme', 'admin'], acmeMember: ['acme', 'member'], acmeViewer: ['acme', 'viewer'], defaultMember: ['default', 'member'] } as const;
    for (const [who, [tenant, role]] of Object.entries(keys))
      bearer[who as keyof typeof bearer] = { authorization: `Bearer ${await createKey(rig.store, { tenant, role })}` };
    app = await buildApp({
      tasks: rig.engine,
      tenants: admin,
      metrics: new MetricsRegistry({ processMetrics: false }),
      auth: { config: parseConfig({ auth: { mode: 'keys' } }, rig.dir, {}).auth, stores: { keys: rig.store.keys, audit: rig.store.audit } },
    });
  });
  afterAll(async () => {
    await app?.close();
    await rig?.stop();
  });

  it("GET gives the effective settings and today's usage", async () => {
    await rig.sleeps('acme', 2, 10, 0); // max_running 0: they stay queued
    const res = await get('acme');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      tenant: 'acme',
      settings: { weight: 3, max_queued: 50, max_running: 0, gpu_seconds_per_day: null, lake_bytes: null },
      override: {},
      usage: { queued: 2, running: 0, gpu_seconds_today: 0 },
    });
  });

  it('PUT replaces the override, applies at once, and is audited', async () => {
    const res = await put('acme', { weight: 5, max_queued: null, gpu_seconds_per_day: 7200 });
    expect(res.statusCode).toBe(200);
    expect(res.json().settings).toEqual({ weight: 5, max_queued: null, max_running: 0, gpu_seconds_per_day: 7200, lake_bytes: null });
    expect(res.json().override).toEqual({ weight: 5, max_queued: null, gpu_seconds_per_day: 7200 });
    // A second PUT replaces, it does not merge: weight follows config again.
    const again = await put('acme', { max_running: 1 });
    expect(again.json().settings).toMatchObject({ weight: 3, max_queued: 50, max_running: 1 });
    const log = await rig.store.audit.listAudit('default', { limit: 10 });
    expect(log.filter((e) => e.action === 'tenant.quota' && e.target === 'acme').map((e) => e.detail)).toEqual([
      { before: { weight: 5, max_queued: null, gpu_seconds_per_day: 7200 }, after: { max_running: 1 } },
      { before: {}, after: { weight: 5, max_queued: null, gpu_seconds_per_day: 7200 } },
    ]);
  });

  it('PUT refuses a bad body with 400 and changes nothing', async () => {
    for (const payload of [{ weight: 0 }, { max_queued: -1 }, { max_running: 1.5 }, { quota: 3 }, { weight: 'heavy' }]) {
      const res = await put('acme', payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBe('INVALID_REQUEST');
    }
    const res = await put('defaults', {});
    expect(res.statusCode).toBe(400);
    expect((await get('acme')).json().settings.max_running).toBe(1);
  });

  it('only operators change settings or see another tenant; any key reads its own tenant; no key is 401', async () => {
    const status = async (p: Promise<{ statusCode: number; json(): { error?: { code: string } } }>) => {
      const r = await p;
      return r.statusCode === 200 ? 200 : `${r.statusCode} ${r.json().error?.code}`;
    };
    expect(await status(get('acme', 'acmeViewer'))).toBe(200);
    expect(await status(get('acme', 'acmeMember'))).toBe(200);
    // Quotas are the operator's: not even the tenant's own admin may raise them.
    expect(await status(put('acme', { max_running: 100 }, 'acmeAdmin'))).toBe('403 FORBIDDEN');
    expect(await status(put('acme', { max_running: 100 }, 'acmeViewer'))).toBe('403 FORBIDDEN');
    expect(await status(put('acme', { max_running: 100 }, 'defaultMember'))).toBe('403 FORBIDDEN');
    // Another tenant is not confirmed to exist.
    expect(await status(get('globex', 'acmeAdmin'))).toBe('404 TENANT_NOT_FOUND');
    expect(await status(get('default', 'acmeAdmin'))).toBe('404 TENANT_NOT_FOUND');
    expect(await status(put('globex', { weight: 2 }, 'acmeAdmin'))).toBe('404 TENANT_NOT_FOUND');
    expect(await status(get('acme', 'defaultMember'))).toBe('404 TENANT_NOT_FOUND');
    expect(await status(app.inject({ method: 'GET', url: '/api/v1/tenants/acme' }))).toBe('401 UNAUTHORIZED');
    expect((await get('acme')).json().settings.max_running).toBe(1); // nothing changed
    // Without keys (engine callers, the CLI): TenantAdmin applies the same rules.
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e as LakerayError).code);
    expect(await code(admin.put({ tenant: 'acme', role: 'admin', key_id: 'k' }, 'acme', { max_running: 100 }))).toBe('FORBIDDEN');
    expect(await code(admin.get({ tenant: 'default', role: 'admin', key_id: null }, 'acme'))).toBe('ok');
  });

  it('/metrics has per-tenant queued, running and GPU-seconds of the day', async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics', headers: bearer.operator })).body;
    expect(text).toMatch(/lakeray_tenant_queued_tasks\{tenant="acme"\} 2/);
    expect(text).toMatch(/lakeray_tenant_running_tasks\{tenant="acme"\} 0/);
    expect(text).toContain('# TYPE lakeray_tenant_gpu_seconds_today gauge');
  });
});
