/**
 * The server a fuzzing campaign runs against: a real `lakeray up` process with its own state,
 * and real objects for the generated requests to reach (tasks that ran, a dataset, a model, a
 * scale-to-zero deployment of it), so requests get past the 404s into the routes' logic.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { api, ROOT, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

export interface FuzzTarget {
  server: ServerProcess;
  /** Ids and names of the objects now on the server. */
  ids(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startFuzzTarget(): Promise<FuzzTarget> {
  const dir = tempDir('lakeray-fuzz-');
  cpSync(join(ROOT, 'test/fixtures/scripts/ok.py'), join(dir, 'scripts/ok.py'), { recursive: true });
  const config = writeConfig(dir, {
    script_roots: [join(dir, 'scripts')],
    data_roots: [join(dir, 'data')],
    lake: { root: join(dir, 'lake') },
    executors: { local: { cpu: 2, kill_grace_ms: 500 } },
  });
  const server = await startServerProcess(dir, config);
  const { createLakeClient } = await import(pathToFileURL(join(ROOT, 'runtimes/node/lake.mjs')).href);
  const lake = createLakeClient({ apiUrl: server.url });
  await lake.writeDataset({ id: [1, 2, 3], text: ['a', 'b', 'c'] }, { name: 'fuzz_rows' });
  await lake.writeModel({ name: 'fuzz_cnn', files: { 'model.onnx': readFileSync(join(ROOT, 'test/fixtures/serving/mnist_cnn.onnx')) } });
  for (let i = 0; i < 3; i++) await api(server.url, 'POST', '/api/v1/tasks', { name: `fuzz-${i}`, script: 'ok.py', params: { i } });
  // A replica that stays up once warm: one that retired and restarted mid-campaign is a
  // starting service, and the proxy rightly answers a request for it 503 SERVICE_NOT_READY
  // (Retry-After), which the campaign would count as a server error. Scale to zero and cold
  // starts are tested in test/integration/serving.
  await api(server.url, 'POST', '/api/v1/deployments', { name: 'fuzz_cnn', model: 'fuzz_cnn', replicas: { min: 0, max: 1, idle_timeout_s: 3600 } });
  // The campaign starts once the deployment knows its model's inputs (its first replica ran):
  // before that, a session or a predict waits for a cold start, and on a loaded machine that
  // wait may end in a 503 that says "not yet", which is not what the campaign looks for.
  await until('the deployment learned its signature', async () => ((await api(server.url, 'GET', '/api/v1/deployments/fuzz_cnn')).body?.signature ? true : undefined), 120_000, 200);
  const names = async (path: string, key: string): Promise<string[]> => {
    const r = await api(server.url, 'GET', path);
    const items = (r.body?.items ?? r.body?.tasks ?? r.body?.data ?? []) as Record<string, unknown>[];
    return items.map((x) => String(x[key]));
  };
  return {
    server,
    ids: async () => [
      ...(await names('/api/v1/tasks?limit=20', 'id')),
      ...(await names('/api/v1/datasets', 'name')),
      ...(await names('/api/v1/models', 'name')),
      ...(await names('/api/v1/deployments', 'name')),
      'model.onnx',
    ],
    close: () => server.kill(),
  };
}
