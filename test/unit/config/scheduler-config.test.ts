import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';

describe('config: scheduler (executor ownership)', () => {
  it('defaults to a 6 s ownership renewed every 2 s: a standby takes over within 10 s', () => {
    const { scheduler } = parseConfig({}, '/base');
    expect(scheduler).toEqual({ ownership_ttl_ms: 6000, ownership_renew_ms: 2000 });
    expect(scheduler.ownership_ttl_ms + scheduler.ownership_renew_ms).toBeLessThanOrEqual(10_000);
  });

  it('refuses a renewal interval that is not shorter than the ttl, naming both keys', () => {
    expect(() => parseConfig({ scheduler: { ownership_ttl_ms: 1000, ownership_renew_ms: 1000 } }, '/base')).toThrow(/ownership_renew_ms must be less than ownership_ttl_ms/);
    expect(() => parseConfig({ scheduler: { ownership_ttl_ms: 1000, renew: 5 } }, '/base')).toThrow();
  });
});
