/** config `serving`: defaults, seed 003's env names, declared deployments, one readable error per bad field. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.ts';

const issues = (raw: unknown, env: NodeJS.ProcessEnv = {}): string[] => {
  try {
    parseConfig(raw, '/tmp', env);
  } catch (err) {
    return (err as ConfigError).issues ?? [];
  }
  return [];
};

describe('serving config', () => {
  it('has defaults when absent', () => {
    const c = parseConfig({}, '/tmp');
    expect(c.serving).toMatchObject({ defaults: {}, deployments: [], executor: 'local', sessions: { idle_timeout_s: 300, max_sessions: 4096 } });
  });

  it("takes seed 003's env names and LAKERAY_-prefixed ones (the prefixed one wins)", () => {
    const c = parseConfig({}, '/tmp', { MAX_BATCH_SIZE: '16', BATCH_TIMEOUT_MS: '150', ENABLE_DYNAMIC_BATCHING: 'false', LOAD_BALANCE_STRATEGY: 'round_robin' });
    expect(c.serving.defaults).toEqual({ max_batch_size: 16, batch_timeout_ms: 150, enable_dynamic_batching: false, load_balance_strategy: 'round_robin' });
    expect(parseConfig({}, '/tmp', { MAX_BATCH_SIZE: '16', LAKERAY_MAX_BATCH_SIZE: '8' }).serving.defaults.max_batch_size).toBe(8);
    // The env overrides the file.
    expect(parseConfig({ serving: { defaults: { max_batch_size: 4 } } }, '/tmp', { MAX_BATCH_SIZE: '64' }).serving.defaults.max_batch_size).toBe(64);
  });

  it('names each bad field once', () => {
    const found = issues(
      { serving: { defaults: { batch_timeout_ms: -1 }, deployments: [{ name: 'a', model: 'm', load_balance_strategy: 'fastest' }] } },
      { MAX_BATCH_SIZE: 'lots', ENABLE_DYNAMIC_BATCHING: 'maybe' },
    );
    expect(found).toHaveLength(4);
    expect(found.join('\n')).toMatch(/serving\.defaults\.max_batch_size/);
    expect(found.join('\n')).toMatch(/serving\.defaults\.batch_timeout_ms/);
    expect(found.join('\n')).toMatch(/serving\.defaults\.enable_dynamic_batching/);
    expect(found.join('\n')).toMatch(/serving\.deployments\.0\.load_balance_strategy/);
  });

  it('accepts declared deployments as POST /api/v1/deployments takes them', () => {
    const c = parseConfig({ serving: { deployments: [{ name: 'mnist', model: 'mnist_cnn_v1@2', replicas: { min: 0, max: 2 }, max_batch_size: 32 }] } }, '/tmp');
    expect(c.serving.deployments[0]).toMatchObject({ name: 'mnist', model: 'mnist_cnn_v1@2', backend: 'local', replicas: { min: 0, max: 2 } });
  });
});
