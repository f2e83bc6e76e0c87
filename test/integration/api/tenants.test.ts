/**
 * /api/v1/tenants/{name} and the per-tenant gauges of /metrics, on the real engine and store
 * (tenant-rig.ts). Requests here are the keyless loopback caller (an admin of `default`, the
 * operator); who else may read or change what is checked on TenantAdmin with callers as the
 * auth plugin makes them.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.ts';
import { MetricsRegistry } from '../../../src/api/metrics.ts';
import { LakerayError } from '../../../src/domain/errors.ts';
import { TenantAdmin } from '../../../src/tenants/admin.ts';
import { startTenantRig, type TenantRig } from '../engine/tenant-rig.ts';

describe('tenants API', () => {
  let rig: TenantRig;
  let app: FastifyInstance;
  let admin: TenantAdmin;

  beforeAll(async () => {
    rig = await startTenantRig({ gpus: 2, tenants: { defaults: { max_queued: 50 }, acme: { weight: 3, max_running: 0 } } });
    admin = new TenantAdmin({ store: rig.store, tenants: rig.engine.tenants });
    app = await buildApp({ tasks: rig.engine, tenants: admin, metrics: new MetricsRegistry({ processMetrics: false }) });
  });
  afterAll(async () => {
    await app?.close();
    await rig?.stop();
  });

  it("GET gives the effective settings and today's usage", async () => {
    await rig.sleeps('acme', 2, 10, 0); // max_running 0: they stay queued
    const res = await app.inject({ method: 'GET', url: '/api/v1/tenants/acme' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      tenant: 'acme',
      settings: { weight: 3, max_queued: 50, max_running: 0, gpu_seconds_per_day: null, lake_bytes: null },
      override: {},
      usage: { queued: 2, running: 0, gpu_seconds_today: 0 },
    });
  });

  it('PUT replaces the override, applies at once, and is audited', async () => {
    const res = await app.inject({ method: 'PUT', url: '/api/v1/tenants/acme', payload: { weight: 5, max_queued: null, gpu_seconds_per_day: 7200 } });
    expect(res.statusCode).toBe(200);
    expect(res.json().settings).toEqual({ weight: 5, max_queued: null, max_running: 0, gpu_seconds_per_day: 7200, lake_bytes: null });
    expect(res.json().override).toEqual({ weight: 5, max_queued: null, gpu_seconds_per_day: 7200 });
    // A second PUT replaces, it does not merge: weight follows config again.
    const again = await app.inject({ method: 'PUT', url: '/api/v1/tenants/acme', payload: { max_running: 1 } });
    expect(again.json().settings).toMatchObject({ weight: 3, max_queued: 50, max_running: 1 });
    const log = await rig.store.audit.listAudit('default', { limit: 10 });
    expect(log.filter((e) => e.action === 'tenant.quota' && e.target === 'acme').map((e) => e.detail)).toEqual([
      { before: { weight: 5, max_queued: null, gpu_seconds_per_day: 7200 }, after: { max_running: 1 } },
      { before: {}, after: { weight: 5, max_queued: null, gpu_seconds_per_day: 7200 } },
    ]);
  });

  it('PUT refuses a bad body with 400 and changes nothing', async () => {
    for (const payload of [{ weight: 0 }, { max_queued: -1 }, { max_running: 1.5 }, { quota: 3 }, { weight: 'heavy' }]) {
      const res = await app.inject({ method: 'PUT', url: '/api/v1/tenants/acme', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBe('INVALID_REQUEST');
    }
    const res = await app.inject({ method: 'PUT', url: '/api/v1/tenants/defaults', payload: {} });
    expect(res.statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/api/v1/tenants/acme' })).json().settings.max_running).toBe(1);
  });

  it('only operator admins change settings or read another tenant; anyone reads its own', async () => {
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e as LakerayError).code);
    const acmeAdmin = { tenant: 'acme', role: 'admin', key_id: 'k_acme' } as const;
    const acmeViewer = { tenant: 'acme', role: 'viewer', key_id: 'k_view' } as const;
    const defaultMember = { tenant: 'default', role: 'member', key_id: 'k_m' } as const;
    expect(await code(admin.put(acmeAdmin, 'acme', { max_running: 100 }))).toBe('FORBIDDEN'); // not its own quota either
    expect(await code(admin.put(defaultMember, 'acme', { max_running: 100 }))).toBe('FORBIDDEN');
    expect(await code(admin.get(acmeViewer, 'acme'))).toBe('ok');
    expect(await code(admin.get(acmeAdmin, 'globex'))).toBe('FORBIDDEN');
    expect(await code(admin.get(defaultMember, 'acme'))).toBe('FORBIDDEN');
    expect(await code(admin.get({ tenant: 'default', role: 'admin', key_id: 'k_op' }, 'acme'))).toBe('ok');
  });

  it('/metrics has per-tenant queued, running and GPU-seconds of the day', async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/lakeray_tenant_queued_tasks\{tenant="acme"\} 2/);
    expect(text).toMatch(/lakeray_tenant_running_tasks\{tenant="acme"\} 0/);
    expect(text).toContain('# TYPE lakeray_tenant_gpu_seconds_today gauge');
  });
});
