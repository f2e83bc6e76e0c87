import { describe, expect, it } from 'vitest';
import { tenantsSchema } from '../../../src/config/tenants-schema.ts';
import { BUILT_IN, nextUtcDay, resolveSettings, utcDay } from '../../../src/tenants/settings.ts';

describe('tenant settings', () => {
  const config = tenantsSchema.parse({
    defaults: { max_queued: 100, gpu_seconds_per_day: 3600 },
    alice: { weight: 4, max_running: 2 },
    bob: { max_queued: null },
  });

  it('layers override over the tenant entry over defaults over built-ins, field by field', () => {
    expect(resolveSettings('carol', tenantsSchema.parse({}))).toEqual(BUILT_IN);
    expect(resolveSettings('carol', config)).toEqual({ ...BUILT_IN, max_queued: 100, gpu_seconds_per_day: 3600 });
    expect(resolveSettings('alice', config)).toEqual({ weight: 4, max_queued: 100, max_running: 2, gpu_seconds_per_day: 3600, lake_bytes: null });
    // null in config or in an override means "no limit", whatever is below it.
    expect(resolveSettings('bob', config).max_queued).toBeNull();
    expect(resolveSettings('alice', config, { max_running: null, weight: 1, lake_bytes: 10 })).toEqual({
      weight: 1,
      max_queued: 100,
      max_running: null,
      gpu_seconds_per_day: 3600,
      lake_bytes: 10,
    });
  });

  it('refuses a bad entry with the field named', () => {
    expect(() => tenantsSchema.parse({ alice: { weight: 0 } })).toThrow(/weight/);
    expect(() => tenantsSchema.parse({ alice: { max_queued: 1.5 } })).toThrow(/max_queued/);
    expect(() => tenantsSchema.parse({ alice: { quota: 1 } })).toThrow(/quota/);
  });

  it('days are UTC days', () => {
    const t = Date.UTC(2026, 11, 31, 23, 59, 59, 999);
    expect(utcDay(t)).toBe('2026-12-31');
    expect(nextUtcDay(t)).toBe(Date.UTC(2027, 0, 1));
    expect(utcDay(nextUtcDay(t))).toBe('2027-01-01');
  });
});
