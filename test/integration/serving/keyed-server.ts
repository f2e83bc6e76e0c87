/**
 * A real server that needs API keys (auth.mode: keys) for the serving tests of tenants other
 * than `default`: one admin key per tenant named, model `cnn` (the MNIST CNN fixture) in the
 * lake of `modelTenant`, and `call` for requests with a bearer (or none).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { createKey } from '../../helpers/keys.ts';

export const FIXTURES = join(import.meta.dirname, '../../fixtures/serving');

export interface Reply {
  status: number;
  text: string;
  /** The answer parsed as JSON. */
  readonly body: Record<string, any>;
}

export interface KeyedServer {
  server: RunningServer;
  /** An admin key of each tenant named in `keys`. */
  keys: Record<string, string>;
  call(bearer: string | null, method: string, path: string, body?: unknown): Promise<Reply>;
  /** Writes model `cnn` (the fixture's model.onnx) into the lake of the bearer's tenant. */
  writeCnn(bearer: string): Promise<void>;
}

export async function startKeyedServer(
  dir: string,
  o: { tenants: Record<string, unknown>; executors: Record<string, unknown>; keys: readonly string[]; modelTenant: string },
): Promise<KeyedServer> {
  const config = parseConfig(
    { state_dir: join(dir, 'state'), script_roots: [dir], data_roots: [dir], lake: { root: join(dir, 'lake') }, auth: { mode: 'keys' }, tenants: o.tenants, executors: o.executors },
    dir,
    {},
  );
  const server = await startServer({ config, port: 0, logLevel: 'silent' });
  const keys: Record<string, string> = {};
  for (const tenant of o.keys) keys[tenant] = await createKey(join(dir, 'state', 'lakeray.db'), { tenant, role: 'admin' });
  const call = async (bearer: string | null, method: string, path: string, body?: unknown): Promise<Reply> => {
    const headers: Record<string, string> = bearer === null ? {} : { authorization: `Bearer ${bearer}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await request(`${server.url}${path}`, { method: method as 'GET', headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.body.text();
    return {
      status: r.statusCode,
      text,
      get body() {
        return JSON.parse(text) as Record<string, any>;
      },
    };
  };
  const writeCnn = async (bearer: string) => {
    const { createLakeClient } = await import(pathToFileURL(join(import.meta.dirname, '../../../runtimes/node/lake.mjs')).href);
    await createLakeClient({ apiUrl: server.url, token: bearer }).writeModel({ name: 'cnn', files: { 'model.onnx': readFileSync(join(FIXTURES, 'mnist_cnn.onnx')) }, params: {} });
  };
  await writeCnn(keys[o.modelTenant]!);
  return { server, keys, call, writeCnn };
}
