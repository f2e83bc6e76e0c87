import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { RayExecutorConfig } from '../../../src/config/schema.ts';
import { buildExecutors, type ExecutorContext } from '../../../src/executors/registry.ts';
import type { Executor } from '../../../src/executors/executor.ts';

const issuesOf = (raw: Record<string, unknown>): string[] => {
  try {
    parseConfig(raw, '/base');
  } catch (e) {
    return (e as { issues: string[] }).issues;
  }
  throw new Error('expected the config to be refused');
};

describe('executors config', () => {
  it('keeps executors.local as it is, and takes any other name as an executor of its kind, with defaults', () => {
    const c = parseConfig({ executors: { local: { cpu: 2 }, 'gpu-a': { kind: 'ray', address: 'http://10.0.0.5:8265' } } }, '/base');
    expect(c.executors.local.cpu).toBe(2);
    expect(c.executors['gpu-a']).toEqual({
      kind: 'ray',
      address: 'http://10.0.0.5:8265',
      mode: 'job',
      grace_ms: 3000,
      poll_ms: 200,
      max_poll_ms: 1000,
      submit_deadline_s: 300,
      lost_after_s: 300,
      retention_s: 3600,
      max_pending: 4,
      capacity_refresh_ms: 5000,
      python: 'python',
      pools: [],
    });
    expect(parseConfig({}, '/base').executors).toEqual({ local: expect.objectContaining({ kill_grace_ms: 5000 }) });
  });

  it('takes a ray executor in actors mode with its pools', () => {
    const c = parseConfig({ executors: { ray: { kind: 'ray', address: 'http://h:8265', mode: 'actors', token: 't', pools: [{ name: 'torch', preload: ['torch'], gpu: 1, max: 4, gang_size: 4 }] } } }, '/base');
    expect((c.executors.ray as RayExecutorConfig).pools[0]).toEqual({ name: 'torch', preload: ['torch'], cpu: 1, gpu: 1, memory_mb: 0, min: 0, max: 4, idle_timeout_s: 300, gang_size: 4 });
  });

  it('refuses, naming the field: a missing or unknown kind, a bad address, pools in job mode, actors without pools, a bad name, unknown keys', () => {
    expect(issuesOf({ executors: { r: { address: 'http://h:8265' } } })).toEqual(['executors.r.kind: an executor other than local says its kind (one of: ray)']);
    expect(issuesOf({ executors: { r: { kind: 'k8s' } } })[0]).toMatch(/^executors\.r\.kind: /);
    expect(issuesOf({ executors: { r: { kind: 'ray', address: 'h:8265x y' } } })).toEqual(["executors.r.address: expected the dashboard's http(s) URL, e.g. http://127.0.0.1:8265"]);
    expect(issuesOf({ executors: { r: { kind: 'ray', address: 'http://h', pools: [{ name: 'p' }] } } })).toEqual(['executors.r.pools: pools are for mode: actors']);
    expect(issuesOf({ executors: { r: { kind: 'ray', address: 'http://h', mode: 'actors' } } })).toEqual(['executors.r.pools: mode: actors needs at least one pool']);
    expect(issuesOf({ executors: { 'Big Farm': { kind: 'ray', address: 'http://h' } } })[0]).toMatch(/^executors\.Big Farm: an executor name is/);
    expect(issuesOf({ executors: { r: { kind: 'ray', address: 'http://h', adress: 'x' } } })[0]).toMatch(/^executors\.r: Unrecognized key/);
  });
});

describe('executor registry', () => {
  const ctx: ExecutorContext = {
    local: { pythonInterpreter: 'python3', scriptRoots: [], dataRoots: [], runtimesDir: '/nowhere' },
    apiUrl: () => undefined,
  };
  const config = parseConfig({ executors: { local: { cpu: 1 }, farm: { kind: 'ray', address: 'http://h:8265', mode: 'actors', pools: [{ name: 'warm' }] } } }, '/base').executors;

  it('builds local first, then each named executor by the factory of its kind, with its pools', async () => {
    const seen: [string, string][] = [];
    const { executors, pools } = buildExecutors(config, ctx, {
      ray: (name, cfg) => {
        seen.push([name, cfg.address]);
        return { name, kind: 'ray' } as unknown as Executor;
      },
    });
    expect([...executors.keys()]).toEqual(['local', 'farm']);
    expect(executors.get('local')?.settings).toEqual({ graceMs: 5000 });
    expect(seen).toEqual([['farm', 'http://h:8265']]);
    expect(pools.get('farm')).toEqual(new Set(['warm']));
    await executors.get('local')?.close();
  });

  it('builds a ray executor (mode job) with its own grace, by the registry\'s ray factory', async () => {
    const ray = parseConfig({ executors: { farm: { kind: 'ray', address: 'http://127.0.0.1:9', grace_ms: 1234 } } }, '/base').executors;
    const { executors } = buildExecutors(ray, ctx);
    const farm = executors.get('farm');
    try {
      expect(farm?.kind).toBe('ray');
      expect(farm?.settings).toEqual({ graceMs: 1234 });
    } finally {
      await farm?.close();
      await executors.get('local')?.close();
    }
  });

  it('refuses, at start, a kind this build has no factory for', () => {
    expect(() => buildExecutors(config, ctx, {})).toThrow('executors.farm.kind: executors of kind "ray" are not available in this build');
  });
});
