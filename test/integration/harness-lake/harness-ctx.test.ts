/**
 * Lake I/O from real task runs: Python and JS scripts run by the local executor (cold and in
 * a node pool running several jobs at once) use ctx.read_dataset / ctx.readDataset … against
 * the fake lake, with the task's input/output as default names and the task id header sent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import arrow from '../../../src/lake/arrow.ts';
import { makeExecutor, makeTask, runTask, succeeded } from '../executor/helpers.ts';
import type { LocalExecutor } from '../../../src/executors/local/local-executor.ts';
import { startFakeLake, type FakeLake } from './fake-lake-server.ts';
import { ROOT, ok, python, tempDir } from './helpers.ts';

const PY_SCRIPT = `
import lakeray
import pyarrow.compute as pc


def run(input_path, output_path, params, ctx):
    table = ctx.read_dataset(columns=["x"], filter="x > 1")
    out = table.append_column("y", pc.multiply(table.column("x"), 10))
    written = ctx.write_dataset(out)
    model = ctx.write_model("py_model", files={"a.bin": b"abc"}, metrics={"rows": out.num_rows}, params=params)
    back = lakeray.read_model("py_model")  # module-level helper: the running task's client
    return {"written": written, "model": model, "files": sorted(back["files"]), "params": back["params"],
            "versions": ctx.versions_read, "input": input_path, "output": output_path}
`;

const PY_THREE_ARGS = `
import lakeray


def run(input_path, output_path, params):
    table = lakeray.read_dataset()               # the task's input
    return lakeray.write_dataset(table.slice(0, 2))  # to the task's output
`;

const JS_SCRIPT = `
export async function run(input, output, params, ctx) {
  const t = await ctx.readDataset(undefined, { columns: ['x'] });
  const xs = Array.from(t.getChild('x').toArray(), Number);
  const written = await ctx.writeDataset({ x: Float64Array.from(xs), doubled: Float64Array.from(xs.map((v) => v * 2)) });
  const model = await ctx.writeModel({ name: params.model, files: { 'w.bin': new Uint8Array([1, 2, 3]) }, metrics: { acc: 0.75, bad: NaN }, params: { lr: 0.1 } });
  const back = await ctx.readModel(params.model);
  let error = null;
  try {
    await ctx.readDataset('missing');
  } catch (e) {
    error = { name: e.name, code: e.code, status: e.status };
  }
  return { xs, written, model, files: Object.keys(back.files), bytes: Array.from(back.files['w.bin']), metrics: back.metrics, versions: ctx.versionsRead, error };
}
`;

describe('lake I/O from task scripts (python and node harnesses)', () => {
  let lake: FakeLake;
  let executor: LocalExecutor;
  const scripts = tempDir('lakeray-lake-scripts-');

  beforeAll(async () => {
    lake = await startFakeLake();
    fs.writeFileSync(path.join(scripts, 'lake_ctx.py'), PY_SCRIPT);
    fs.writeFileSync(path.join(scripts, 'lake_three.py'), PY_THREE_ARGS);
    fs.writeFileSync(path.join(scripts, 'lake_ctx.mjs'), JS_SCRIPT);
    executor = makeExecutor(
      { pools: [{ name: 'js', runtime: 'node', preload: [], min: 0, max: 1, idle_timeout_s: 60, concurrency: 2 }] },
      { scriptRoots: [scripts], dataRoots: [tempDir()], apiUrl: lake.url },
    );
    lake.seed('datasets', 'numbers', arrow.tableFromArrays({ x: Float64Array.from([1, 2, 3, 4]) }));
  });
  afterAll(async () => {
    await executor.close();
    await lake.close();
  });

  it('python: ctx reads the input, writes the output and a model; requests carry the task id', async () => {
    const task = makeTask({ script: 'lake_ctx.py', input: 'numbers', output: 'numbers_x10', params: { k: 1 } });
    const rec = await runTask(executor, task);
    const result = succeeded(rec.exits[0]!);
    expect(result).toEqual({
      written: { name: 'numbers_x10', version: 1, num_rows: 3 },
      model: { name: 'py_model', version: 1, num_rows: 1 },
      files: ['a.bin'],
      params: { k: 1 },
      versions: { numbers: 1, py_model: 1 },
      input: 'numbers',
      output: 'numbers_x10',
    });
    const out = lake.tables.get('datasets/numbers_x10')![0]!.table;
    expect(out.getChild('y')!.toArray()).toEqual(Float64Array.from([20, 30, 40]));
    const mine = lake.requests.filter((q) => q.task === task.id);
    expect(mine.map((q) => `${q.method} ${q.kind}/${q.name}`)).toEqual([
      'GET datasets/numbers',
      'PUT datasets/numbers_x10',
      'PUT models/py_model',
      'GET models/py_model',
    ]);
  });

  it('python: a three-argument run() uses the module-level helpers', async () => {
    const rec = await runTask(executor, makeTask({ script: 'lake_three.py', input: 'numbers', output: 'first_two' }));
    expect(succeeded(rec.exits[0]!)).toEqual({ name: 'first_two', version: 1, num_rows: 2 });
  });

  it('node: ctx.readDataset / writeDataset / writeModel / readModel, two jobs at once in one worker', async () => {
    const tasks = [1, 2].map((i) =>
      makeTask({ script: 'lake_ctx.mjs', input: 'numbers', output: `js_out_${i}`, pool: 'js', params: { model: `js_model_${i}` } }),
    );
    const recs = await Promise.all(tasks.map((t) => runTask(executor, t)));
    for (const [i, rec] of recs.entries()) {
      const r = succeeded(rec.exits[0]!);
      expect(r).toEqual({
        xs: [1, 2, 3, 4],
        written: { name: `js_out_${i + 1}`, version: 1, num_rows: 4 },
        model: { name: `js_model_${i + 1}`, version: 1, num_rows: 1 },
        files: ['w.bin'],
        bytes: [1, 2, 3],
        metrics: { acc: 0.75, bad: null },
        versions: { numbers: 1, [`js_model_${i + 1}`]: 1 },
        error: { name: 'LakeError', code: 'DATASET_NOT_FOUND', status: 404 },
      });
      // each job's requests carry its own task id (the job env, not process.env, of a shared worker)
      expect(lake.requests.filter((q) => q.task === tasks[i]!.id)).toHaveLength(5);
    }
    expect(new Set(recs.map((r) => r.started[0]!.pid)).size).toBe(1);

    // what node wrote, python reads (and the model's schema metadata made it across)
    const r = ok(
      await python(
        `
import json
from lakeray.lake import LakeClient
c = LakeClient()
t = c.read_dataset("js_out_1")
m = c.read_model("js_model_1")
print(json.dumps({"doubled": t.column("doubled").to_pylist(), "files": {k: list(v) for k, v in m["files"].items()},
                  "metrics": m["metrics"], "params": m["params"], "types": [str(f.type) for f in t.schema]}))
`,
        { LAKERAY_API_URL: lake.url },
      ),
    );
    expect(r).toEqual({ doubled: [2, 4, 6, 8], files: { 'w.bin': [1, 2, 3] }, metrics: { acc: 0.75, bad: null }, params: { lr: 0.1 }, types: ['double', 'double'] });
  });

  it('node LakeClient: reads Content-Length answers, sends the token, reports LAKE_UNAVAILABLE', async () => {
    const mod = await import(pathToFileURL(path.join(ROOT, 'runtimes/node/lake.mjs')).href);
    const strict = await startFakeLake({ chunkedResponses: false, token: 'tok' });
    try {
      const denied = new mod.LakeClient({ apiUrl: strict.url, taskId: 'n1' });
      await expect(denied.writeDataset({ a: Int32Array.from([1, 2]) }, { name: 'a' })).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
      const client = new mod.LakeClient({ apiUrl: strict.url, taskId: 'n1', token: 'tok' });
      expect(await client.writeDataset({ a: Int32Array.from([1, 2]) }, { name: 'a' })).toEqual({ name: 'a', version: 1, num_rows: 2 });
      expect(await client.writeDataset({ a: Int32Array.from([3]) }, { name: 'a', mode: 'append' })).toEqual({ name: 'a', version: 2, num_rows: 3 });
      const table = await client.readDataset('a', { version: 1 });
      expect(Array.from(table.getChild('a').toArray())).toEqual([1, 2]);
      expect(client.versionsRead).toEqual({ a: 1 });
      await expect(client.writeDataset({ a: Int32Array.from([1]) }, { name: 'a', mode: 'create' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS', status: 409 });
      await expect(client.readDataset('a', { filter: 'a ~ 2' })).rejects.toMatchObject({ code: 'INVALID_REQUEST', status: 400 });
      expect(strict.requests.at(-1)).toMatchObject({ authorization: 'Bearer tok', task: 'n1' });
    } finally {
      await strict.close();
    }
    const saved = process.env.LAKERAY_API_URL;
    delete process.env.LAKERAY_API_URL;
    try {
      await expect(new mod.LakeClient({}).readDataset('x')).rejects.toMatchObject({ code: 'LAKE_UNAVAILABLE' });
      await expect(new mod.LakeClient({ apiUrl: 'http://127.0.0.1:9' }).readModel('x')).rejects.toMatchObject({ code: 'LAKE_UNAVAILABLE' });
      await expect(new mod.LakeClient({ apiUrl: 'http://127.0.0.1:9' }).readDataset('a/b')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    } finally {
      if (saved !== undefined) process.env.LAKERAY_API_URL = saved;
    }
  });
});
