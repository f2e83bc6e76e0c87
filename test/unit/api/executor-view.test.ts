/**
 * A task's placement as the API shows it (src/api/executor-view.ts): one stable shape per
 * kind, a Ray dashboard link, and nothing of the stored bookkeeping that must stay inside
 * (pids, tokens, credentials in a URL).
 */
import { describe, expect, it } from 'vitest';
import { describeExecutors, placementView, publicUrl, withoutCredentials } from '../../../src/api/executor-view.ts';
import { parseConfig } from '../../../src/config/load.ts';

const executors = describeExecutors(
  parseConfig(
    {
      executors: {
        'gpu-cluster': { kind: 'ray', address: 'http://ray-head:8265/' },
        kuberay: { kind: 'ray', mode: 'actors', address: 'http://raycluster-head-svc:8265', dashboard_url: 'https://ray.example.com/dash/', pools: [{ name: 'sd' }] },
      },
    },
    '/tmp',
    {},
  ).executors,
);
const byName = new Map(executors.map((e) => [e.name, e]));

describe('placementView', () => {
  it('a Ray job: its submission id and its page on the dashboard it was submitted to; no pid', () => {
    const stored = { kind: 'ray-job', submission_id: 'lr-t1-2', address: 'http://ray-head:8265', pid: 4242 };
    expect(placementView(stored, byName.get('gpu-cluster'))).toEqual({
      kind: 'ray-job',
      submission_id: 'lr-t1-2',
      dashboard_url: 'http://ray-head:8265/#/jobs/lr-t1-2',
    });
  });

  it('a configured dashboard_url wins over the address (the dashboard as browsers reach it)', () => {
    const stored = { kind: 'ray-job', submission_id: 'lr-t1-1', address: 'http://raycluster-head-svc:8265' };
    expect(placementView(stored, byName.get('kuberay'))?.dashboard_url).toBe('https://ray.example.com/dash/#/jobs/lr-t1-1');
  });

  it('a Ray actor: pool and driver, linked to the driver job; to the actor once its id is known', () => {
    const stored = { kind: 'ray-actor', pool: 'sd', driver: 'lr-driver-kuberay-3', address: 'http://raycluster-head-svc:8265' };
    expect(placementView(stored, byName.get('kuberay'))).toEqual({
      kind: 'ray-actor',
      pool: 'sd',
      driver: 'lr-driver-kuberay-3',
      dashboard_url: 'https://ray.example.com/dash/#/jobs/lr-driver-kuberay-3',
    });
    expect(placementView({ ...stored, actor_id: 'a1b2' }, byName.get('kuberay'))).toMatchObject({ actor_id: 'a1b2', dashboard_url: 'https://ray.example.com/dash/#/actors/a1b2' });
    expect(placementView({ ...stored, driver: null }, byName.get('kuberay'))).toMatchObject({ driver: null, dashboard_url: null });
  });

  it('an executor no longer configured: the link goes to the address the placement names, without credentials', () => {
    const stored = { kind: 'ray-job', submission_id: 'lr-x-1', address: 'https://admin:s3cret@old-head:8265/?token=abc' };
    const view = placementView(stored, undefined);
    expect(view).toEqual({ kind: 'ray-job', submission_id: 'lr-x-1', dashboard_url: 'https://old-head:8265/#/jobs/lr-x-1' });
    expect(JSON.stringify(view)).not.toMatch(/s3cret|admin|token/);
  });

  it('a local process and unknown kinds: the kind only; nothing placed yet: null', () => {
    expect(placementView({ kind: 'process', pid: 123, worker: 'cold' }, byName.get('local'))).toEqual({ kind: 'process' });
    expect(placementView({ kind: 'k8s-pod', token: 'x', path: '/srv/state' }, undefined)).toEqual({ kind: 'k8s-pod' });
    expect(placementView(undefined, byName.get('gpu-cluster'))).toBeNull();
  });
});

describe('describeExecutors', () => {
  it('kind, mode and the public dashboard of each configured executor, local first', () => {
    expect(executors.map(({ name, kind, mode, dashboard_url }) => ({ name, kind, mode, dashboard_url }))).toEqual([
      { name: 'local', kind: 'local', mode: null, dashboard_url: null },
      { name: 'gpu-cluster', kind: 'ray', mode: 'job', dashboard_url: 'http://ray-head:8265' },
      { name: 'kuberay', kind: 'ray', mode: 'actors', dashboard_url: 'https://ray.example.com/dash' },
    ]);
  });

  it('a bad dashboard_url is a config error naming the field', () => {
    expect(() => parseConfig({ executors: { r: { kind: 'ray', address: 'http://h:8265', dashboard_url: 'ftp://h' } } }, '/tmp', {})).toThrow(/executors\.r\.dashboard_url/);
  });
});

it('publicUrl and withoutCredentials drop what must not leave the server', () => {
  expect(publicUrl('http://u:p@h:1/a/?q=1#x')).toBe('http://h:1/a');
  expect(publicUrl('file:///etc/passwd')).toBeNull();
  expect(publicUrl(42)).toBeNull();
  expect(withoutCredentials('Ray at http://u:p@h:8265: connection refused')).toBe('Ray at http://h:8265: connection refused');
});
