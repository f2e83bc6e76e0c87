/**
 * A `ray` deployment on a server that needs API keys (auth.mode: keys), of a tenant other than
 * `default`: its Serve replicas read model.onnx from that tenant's lake with the deployment's
 * model-read token (TaskTokens.mintModelRead), which is in the Serve config and nowhere in
 * Lakeray's answers, and which reads that model version's model.onnx and nothing else. Real
 * Ray head with Serve, real onnxruntime in the replicas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/main.ts';
import { RayServeClient } from '../../../src/serving/ray/serve-client.ts';
import { serveAppName, serveDeploymentName } from '../../../src/serving/ray/serve-config.ts';
import { rayHead, serveLock, type RayHead } from '../../helpers/ray-head.ts';
import { freePort, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { startKeyedServer, type KeyedServer } from './keyed-server.ts';

const NAME = `rk${process.pid}`;
// acme's deployment on the shared head: named with its tenant, so another tenant's NAME is another app.
const APP = serveAppName(serveDeploymentName('acme', NAME));

let head: RayHead;
let server: RunningServer;
let serve: RayServeClient;
let keyed: KeyedServer;
let key = '';
let globexKey = '';
let releaseServe: (() => void) | undefined;

const call = (bearer: string | null, method: string, path: string, body?: unknown) => keyed.call(bearer, method, path, body);
const codeOf = (r: { text: string }) => (JSON.parse(r.text) as { error?: { code: string } }).error?.code;

beforeAll(async () => {
  head = await rayHead({ serve: true });
  releaseServe = await serveLock();
  serve = new RayServeClient({ address: head.url, http: { host: '127.0.0.1', port: await freePort() }, timeoutMs: 60_000 });
  await serve.start();
  keyed = await startKeyedServer(tempDir('lakeray-ray-keys-'), {
    tenants: { globex: { gpu_seconds_per_day: 100 } },
    executors: { local: { cpu: 2 }, cluster: { kind: 'ray', address: head.url } },
    keys: ['acme', 'globex'],
    modelTenant: 'acme',
  });
  server = keyed.server;
  key = keyed.keys.acme!;
  globexKey = keyed.keys.globex!;
}, 900_000);

afterAll(async () => {
  try {
    await server?.close();
    await serve?.remove(APP).catch(() => undefined);
    await serve?.close();
  } finally {
    releaseServe?.();
  }
}, 120_000);

describe('ray deployments in auth mode keys', () => {
  it("the replicas read the tenant's model with a model-read token, which no Lakeray answer shows", async () => {
    const created = await call(key, 'POST', '/api/v1/deployments', { name: NAME, model: 'cnn', backend: 'ray', max_batch_size: 4, batch_timeout_ms: 5 });
    expect(created.status, created.text).toBe(201);
    const ready = await until(
      `deployment ${NAME} ready`,
      async () => {
        const r = await call(key, 'GET', `/api/v1/deployments/${NAME}`);
        const body = JSON.parse(r.text) as { status: string; last_error: string | null };
        if (body.status === 'failed') throw new Error(`deployment failed: ${body.last_error}`);
        return body.status === 'ready' ? r : undefined;
      },
      600_000,
      250,
    );
    const image = Array.from({ length: 28 }, (_, r) => Array.from({ length: 28 }, (_, c) => ((r * 28 + c) % 97) / 96));
    const predicted = await call(key, 'POST', `/api/v1/deployments/${NAME}/predict`, { inputs: { input: [[image]] } });
    expect(predicted.status, predicted.text).toBe(200);

    // The credential Serve holds is the deployment's model-read token, never an API key.
    const app = await serve.application(APP);
    expect(app?.route_prefix).toBe(`/lakeray/acme~${NAME}`);
    const token = app?.deployed_app_config?.args.lakeray_token as string;
    expect(token).toBe(server.tokens.mintModelRead({ tenant: 'acme', model: 'cnn', version: 1 }));
    expect(JSON.stringify(app?.deployed_app_config)).not.toContain(key);

    // Not in any answer about the deployment.
    for (const path of [`/api/v1/deployments/${NAME}`, '/api/v1/deployments', `/api/v1/deployments/${NAME}/stats`, '/api/v1/tasks']) {
      const r = await call(key, 'GET', path);
      expect(r.status, path).toBe(200);
      expect(r.text, path).not.toContain(token);
      expect(r.text, path).not.toContain('lrm1.');
    }
    expect(ready.text).not.toContain('lrm1.');
  }, 900_000);

  it('the token reads that model version’s model.onnx and nothing else', async () => {
    const token = server.tokens.mintModelRead({ tenant: 'acme', model: 'cnn', version: 1 });
    const file = await call(token, 'GET', '/api/v1/models/cnn/files/model.onnx?version=1');
    expect(file.status).toBe(200);
    expect(codeOf(await call(token, 'GET', '/api/v1/models/cnn/files/model.onnx'))).toBe('FORBIDDEN'); // latest: not its version
    expect(codeOf(await call(token, 'GET', '/api/v1/models/cnn/files/model.onnx?version=2'))).toBe('FORBIDDEN');
    expect(codeOf(await call(token, 'GET', '/api/v1/models/other/files/model.onnx?version=1'))).toBe('MODEL_NOT_FOUND');
    for (const [method, path] of [
      ['GET', '/api/v1/models/cnn'],
      ['GET', '/api/v1/models'],
      ['GET', '/api/v1/datasets'],
      ['GET', '/api/v1/tasks'],
      ['GET', `/api/v1/deployments/${NAME}`],
      ['DELETE', '/api/v1/models/cnn'],
    ] as const) {
      const r = await call(token, method, path);
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(403);
    }
    // Another tenant's token for the same name reads that tenant's lake: acme's model is not there.
    const globex = server.tokens.mintModelRead({ tenant: 'globex', model: 'cnn', version: 1 });
    expect((await call(globex, 'GET', '/api/v1/models/cnn/files/model.onnx?version=1')).status).toBe(404);
    // A token whose claims were changed is no token.
    const [v, , model, version, mac] = token.split('.');
    const forged = [v, Buffer.from('globex').toString('base64url'), model, version, mac].join('.');
    expect(codeOf(await call(forged, 'GET', '/api/v1/models/cnn/files/model.onnx?version=1'))).toBe('UNAUTHORIZED');
  });

  it('a tenant with a GPU-seconds quota may not have a ray deployment with GPUs (Serve places them unmetered)', async () => {
    await keyed.writeCnn(globexKey);
    const refused = await call(globexKey, 'POST', '/api/v1/deployments', { name: `${NAME}g`, model: 'cnn', backend: 'ray', resources: { cpu: 1, gpu: 1 } });
    expect(refused.status, refused.text).toBe(400);
    expect(JSON.parse(refused.text).error.message).toContain('GPU-seconds quota');
    expect((await call(globexKey, 'GET', '/api/v1/deployments')).text).not.toContain(`${NAME}g`);
    // Without GPUs the same tenant's ray deployment is fine (not started here: the check is all this test is about).
  });
});
