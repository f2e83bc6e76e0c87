/** domain/tenant-dir.ts: the one rule for where a tenant's files live under a per-tenant root. */
import { describe, expect, it } from 'vitest';
import { tenantSegments } from '../../../src/domain/tenant-dir.ts';

describe('tenantSegments', () => {
  it('keeps the root for default and puts tenant T under tenants/T', () => {
    expect(tenantSegments('default')).toEqual([]);
    expect(tenantSegments('acme')).toEqual(['tenants', 'acme']);
    expect(tenantSegments('Team_1.b-2')).toEqual(['tenants', 'Team_1.b-2']);
  });

  it('gives no directory for a name that could leave the root or is no directory name', () => {
    for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', '.hidden', '-x', 'x'.repeat(129), 'ü']) expect(tenantSegments(bad)).toBeNull();
  });
});
