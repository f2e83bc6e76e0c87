/**
 * Seed 004's own ingestion body names a folder as its input (`"input": "/data/raw/mnist/"`).
 * Outside the data roots it is a 400 that says how an operator allows a folder (the config key
 * and the env variable) without naming the server's own folders; with `--examples` the
 * Fashion-MNIST folder is a data root, so the body naming it runs; LAKERAY_DATA_ROOTS adds one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { DEBIAN_MNIST_DIR, withExamples } from '../../../src/examples.ts';
import { PACKAGE_ROOT, startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

let server: RunningServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const seedBody = (input: string) => ({
  name: 'mnist_ingestion',
  input,
  script: 'mnist/mnist_clean.py',
  params: { normalize: true, flatten: true, limit: 100 },
  output: 'mnist_clean',
});

const start = async (dir: string, env: NodeJS.ProcessEnv = {}, examples = false) => {
  const parsed = parseConfig(
    { state_dir: join(dir, 'state'), lake: { root: join(dir, 'lake') }, script_roots: [join(PACKAGE_ROOT, 'examples')], data_roots: [join(dir, 'data')] },
    dir,
    env,
  );
  // The config `lakeray up --examples` runs with (without its start-up ingestion).
  const config = examples ? withExamples(parsed, PACKAGE_ROOT, {}) : parsed;
  server = await startServer({ config, port: 0, logLevel: 'silent' });
  return server;
};

const finished = async (url: string, id: string) =>
  until(`task ${id}`, async () => {
    const t = (await api(url, 'GET', `/api/v1/tasks/${id}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, 120_000);

describe('data roots', () => {
  it("refuses seed 004's input outside the data roots, saying how to allow it and naming no server folder", async () => {
    const dir = tempDir('lakeray-roots-');
    const s = await start(dir);
    const r = await api(s.url, 'POST', '/api/v1/tasks', seedBody('/data/raw/mnist/'));
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual({
      code: 'INVALID_REQUEST',
      message:
        'input: path "/data/raw/mnist/" is outside the data roots; the server operator can allow a folder by adding it to data_roots in lakeray.yaml or to LAKERAY_DATA_ROOTS (colon-separated)',
    });
    expect(r.body.error.message).not.toContain(dir);
  });

  it('LAKERAY_DATA_ROOTS adds a folder: the same body is accepted, and a missing folder fails the task with INPUT_NOT_FOUND', async () => {
    const dir = tempDir('lakeray-roots-env-');
    const raw = join(dir, 'raw');
    const s = await start(dir, { LAKERAY_DATA_ROOTS: `${join(dir, 'data')}:${raw}` });
    const r = await api(s.url, 'POST', '/api/v1/tasks', seedBody(`${raw}/mnist/`));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const t = await finished(s.url, r.body.id);
    expect(t.status).toBe('failed');
    expect(t.error.code).toBe('INPUT_NOT_FOUND');
    expect(t.error.message).toBe(`Fashion-MNIST not found (no IDX files in ${raw}/mnist/). Fix: put the four *-ubyte.gz files of https://github.com/zalandoresearch/fashion-mnist there`);
  }, 150_000);

  it.runIf(existsSync(DEBIAN_MNIST_DIR) || process.env.CI)('with --examples the Fashion-MNIST folder is a data root: the body naming it ingests', async () => {
    const dir = tempDir('lakeray-roots-examples-');
    const s = await start(dir, {}, true);
    const r = await api(s.url, 'POST', '/api/v1/tasks', seedBody(`${DEBIAN_MNIST_DIR}/`));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const t = await finished(s.url, r.body.id);
    expect(t.status, JSON.stringify(t.error)).toBe('completed');
    expect(t.result).toMatchObject({ total_records: 200, train: 100, test: 100, dataset: 'mnist_clean' });
  }, 150_000);
});
