/**
 * The ScaledObject's trigger reads a real Lakeray's /metrics the way KEDA's metrics-api scaler
 * does (format prometheus: the first series whose name and labels match valueLocation), and sees
 * the queue depth: tasks queued behind a full local executor. So the metric and label the
 * manifests name are ones Lakeray exports, and they count what the workers would take.
 */
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { api, ROOT, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../helpers/server-process.ts';
import { kedaPrometheusValue } from './keda-reader.ts';
import { find, renderOverlay } from './render.ts';

interface Trigger {
  type: string;
  metadata: { url: string; format: string; valueLocation: string; targetValue: string };
}

describe('the KEDA trigger on a real Lakeray', () => {
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.kill('SIGTERM');
  });

  it('reads the queue depth of the executor the workers serve', { timeout: 120_000 }, async () => {
    const triggers = (find(renderOverlay('in-cluster'), 'ScaledObject', 'lakeray-worker') as unknown as { spec: { triggers: Trigger[] } }).spec.triggers;
    const { valueLocation } = triggers[0]!.metadata;
    const dir = tempDir();
    // One CPU: one task runs, the others queue; the workers' config serves only `local` (topology.test.ts).
    const config = writeConfig(dir, {
      script_roots: [join(ROOT, 'test/fixtures/scripts')],
      data_roots: [join(dir, 'data')],
      executors: { local: { cpu: 1 } },
    });
    server = await startServerProcess(dir, config);
    const metrics = async () => {
      const r = await request(`${server!.url}/metrics`);
      return r.body.text();
    };
    expect(kedaPrometheusValue(await metrics(), valueLocation)).toBe(0);
    const r = await api(server.url, 'POST', '/api/v1/tasks/batch', {
      tasks: Array.from({ length: 3 }, () => ({ script: 'waits.mjs', params: { ms: 60_000 }, resources: { cpu: 1 } })),
    });
    expect(r.status).toBe(201);
    const deadline = Date.now() + 60_000;
    let depth = -1;
    while (Date.now() < deadline) {
      depth = kedaPrometheusValue(await metrics(), valueLocation);
      if (depth === 2) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(depth).toBe(2);
    for (const t of r.body.tasks as { id: string }[]) expect((await api(server.url, 'POST', `/api/v1/tasks/${t.id}/cancel`)).status).toBe(200);
  });

  it('is read as KEDA reads it: name and every label must match, the first match wins', () => {
    const body = '# HELP q x\n# TYPE q gauge\nq{executor="ray"} 7\nq{executor="local"} 3\nq{executor="local",pool="a"} 9\n';
    expect(kedaPrometheusValue(body, 'q{executor="local"}')).toBe(3);
    expect(kedaPrometheusValue(body, 'q{executor="ray"}')).toBe(7);
    expect(() => kedaPrometheusValue(body, 'q{executor="gpu"}')).toThrow('not found');
    expect(() => kedaPrometheusValue(body, 'q{executor=~"l.*"}')).toThrow('only =');
  });
});
