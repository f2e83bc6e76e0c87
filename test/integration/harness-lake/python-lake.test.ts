/**
 * The Python harness's lake client (runtimes/python/lakeray/lake.py) against the fake lake
 * server: Arrow round trips, streaming uploads, models, errors, headers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLake, type FakeLake } from './fake-lake-server.ts';
import { ok, python } from './helpers.ts';

describe('python lake client (lakeray.lake)', () => {
  let lake: FakeLake;
  let strict: FakeLake; // Content-Length answers, and a task token required
  let env: Record<string, string>;

  beforeAll(async () => {
    lake = await startFakeLake({ responseChunkBytes: 64 * 1024 });
    strict = await startFakeLake({ chunkedResponses: false, token: 's3cret' });
    env = { LAKERAY_API_URL: lake.url, LAKERAY_TASK_ID: 'task-py-1' };
  });
  afterAll(async () => {
    await lake.close();
    await strict.close();
  });

  it('importing lakeray (the harness) loads neither pyarrow nor http.client', async () => {
    const r = ok(await python(`
import json, sys
import lakeray, lakeray.__main__, lakeray.runner
before = {m: m in sys.modules for m in ("pyarrow", "http.client", "lakeray.lake")}
err = lakeray.LakeError("X", "y")
print(json.dumps({"before": before, "lazy": "lakeray.lake" in sys.modules, "pyarrow_after": "pyarrow" in sys.modules, "err": [err.code, str(err)]}))
`));
    expect(r.before).toEqual({ pyarrow: false, 'http.client': false, 'lakeray.lake': false });
    expect(r.lazy).toBe(true); // loaded on first use of a lake name
    expect(r.pyarrow_after).toBe(false);
    expect(r.err).toEqual(['X', 'X: y']);
  });

  it('writes and reads a dataset: small bodies with a length, large ones streamed in chunks', async () => {
    const r = ok(
      await python(
        `
import json
import numpy as np, pyarrow as pa
from lakeray.lake import LakeClient
c = LakeClient()
small = pa.table({"x": np.arange(100, dtype=np.int64), "split": ["train"] * 80 + ["test"] * 20})
w1 = c.write_dataset(small, "small")
back = c.read_dataset("small")
sel = c.read_dataset("small", columns=["x"], filter="split = 'test' AND x >= 90")
n = 30_000  # ~94 MB of float32 images: above the one-piece limit, sent chunked in 16 MB batches
flat = np.random.default_rng(0).random(n * 784, dtype=np.float32)
big = pa.table({"image": pa.FixedSizeListArray.from_arrays(pa.array(flat), 784), "label": np.arange(n) % 10})
w2 = c.write_dataset(big, "big")
got = c.read_dataset("big")
w3 = c.write_dataset(small.slice(0, 10), "small", mode="append")
v1 = c.read_dataset("small", version=1)
print(json.dumps({
  "w1": w1, "w2": w2, "w3": w3,
  "small_equal": back.equals(small), "sel": sel.to_pydict(), "sel_schema": sel.schema.names,
  "big_equal": got.equals(big), "big_batches": got.column("image").num_chunks,
  "v1_rows": v1.num_rows, "latest_rows": c.read_dataset("small").num_rows,
  "versions_read": c.versions_read,
}))
`,
        env,
      ),
    );
    expect(r.w1).toEqual({ name: 'small', version: 1, num_rows: 100 });
    expect(r.w2).toEqual({ name: 'big', version: 1, num_rows: 30_000 });
    expect(r.w3).toEqual({ name: 'small', version: 2, num_rows: 110 });
    expect(r.small_equal).toBe(true);
    expect(r.sel).toEqual({ x: [90, 91, 92, 93, 94, 95, 96, 97, 98, 99] });
    expect(r.big_equal).toBe(true);
    expect(r.big_batches).toBeGreaterThan(1);
    expect(r.v1_rows).toBe(100);
    expect(r.latest_rows).toBe(110);
    expect(r.versions_read).toEqual({ small: 2, big: 1 });

    const puts = lake.requests.filter((q) => q.method === 'PUT');
    expect(puts.map((q) => [q.name, q.query.mode, q.chunked])).toEqual([
      ['small', 'overwrite', false],
      ['big', 'overwrite', true],
      ['small', 'append', false],
    ]);
    expect(lake.requests.every((q) => q.task === 'task-py-1')).toBe(true);
    expect(lake.requests.find((q) => q.query.filter !== undefined)?.query).toEqual({ columns: 'x', filter: "split = 'test' AND x >= 90" });
  });

  it('takes record batch readers, lists of batches and dicts of columns', async () => {
    const r = ok(
      await python(
        `
import json
import pyarrow as pa
from lakeray.lake import LakeClient
c = LakeClient()
schema = pa.schema([("a", pa.int32()), ("s", pa.string())])
batches = [pa.record_batch([pa.array([i, i + 1], pa.int32()), pa.array(["p", "q"])], schema=schema) for i in range(3)]
out = {
  "reader": c.write_dataset(pa.RecordBatchReader.from_batches(schema, iter(batches)), "from_reader"),
  "list": c.write_dataset(batches, "from_list"),
  "dict": c.write_dataset({"a": [1, 2, 3]}, "from_dict"),
}
out["reader_rows"] = c.read_dataset("from_reader").column("a").to_pylist()
out["iter"] = [b.num_rows for b in c.iter_dataset("from_list")]
out["empty"] = c.write_dataset(pa.table({"a": pa.array([], pa.int64())}), "empty")
out["empty_back"] = c.read_dataset("empty").num_rows
print(json.dumps(out))
`,
        env,
      ),
    );
    expect(r.reader.num_rows).toBe(6);
    expect(r.list.num_rows).toBe(6);
    expect(r.dict.num_rows).toBe(3);
    expect(r.reader_rows).toEqual([0, 1, 1, 2, 2, 3]);
    expect(r.iter.reduce((a: number, b: number) => a + b, 0)).toBe(6);
    expect(r.empty).toEqual({ name: 'empty', version: 1, num_rows: 0 });
    expect(r.empty_back).toBe(0);
  });

  it('stores a model (bytes, paths, content types, metrics, params) and reads it back', async () => {
    const r = ok(
      await python(
        `
import json, math, os, tempfile
import numpy as np
from lakeray.lake import LakeClient
c = LakeClient()
path = os.path.join(tempfile.mkdtemp(), "notes.txt")
open(path, "w").write("hello")
w = c.write_model("clf", files={"weights.pt": b"\\x00\\x01weights", "notes.txt": path, "cfg": (b"{}", "application/json")},
                  metrics={"accuracy": np.float32(0.5), "loss": math.nan, "curve": [1.0, math.inf]},
                  params={"epochs": np.int64(2), "classes": ["a", "b"]})
m = c.read_model("clf")
m["files"] = {k: v.decode("latin-1") for k, v in m["files"].items()}
print(json.dumps({"w": w, "m": m}))
`,
        env,
      ),
    );
    expect(r.w).toEqual({ name: 'clf', version: 1, num_rows: 3 });
    expect(r.m).toEqual({
      name: 'clf',
      version: 1,
      files: { 'weights.pt': '\u0000\u0001weights', 'notes.txt': 'hello', cfg: '{}' },
      content_types: { 'weights.pt': 'application/octet-stream', 'notes.txt': 'text/plain', cfg: 'application/json' },
      metrics: { accuracy: 0.5, loss: null, curve: [1, null] },
      params: { epochs: 2, classes: ['a', 'b'] },
      lineage: { task_id: 'task-py-1', version: 1 },
    });
  });

  it('raises LakeError with the code of the error body (and LAKE_UNAVAILABLE without a server)', async () => {
    const r = ok(
      await python(
        `
import json
import pyarrow as pa
from lakeray.lake import LakeClient, LakeError
c = LakeClient()
c.write_dataset(pa.table({"a": [1]}), "exists")
out = {}
def attempt(label, fn):
    try:
        fn()
        out[label] = "no error"
    except LakeError as e:
        out[label] = [e.code, e.status, e.message]
    except Exception as e:
        out[label] = [type(e).__name__, str(e)]
attempt("missing", lambda: c.read_dataset("nope"))
attempt("missing_model", lambda: c.read_model("nope"))
attempt("bad_filter", lambda: c.read_dataset("exists", filter="a ~ 1"))
attempt("bad_column", lambda: c.read_dataset("exists", columns=["zz"]))
attempt("create_existing", lambda: c.write_dataset(pa.table({"a": [2]}), "exists", mode="create"))
attempt("bad_mode", lambda: c.write_dataset(pa.table({"a": [2]}), "exists", mode="upsert"))
attempt("bad_name", lambda: c.read_dataset("/data/x.parquet"))
attempt("no_name", lambda: c.read_dataset(None))
attempt("refused", lambda: LakeClient(api_url="http://127.0.0.1:9").read_dataset("x"))
attempt("no_url", lambda: LakeClient(api_url="").read_dataset("x"))
out["lance_path"] = LakeClient().read_dataset("lance_storage/datasets/exists.lance").num_rows
print(json.dumps(out))
`,
        env,
      ),
    );
    expect(r.missing).toEqual(['DATASET_NOT_FOUND', 404, 'dataset "nope" not found']);
    expect(r.missing_model).toEqual(['MODEL_NOT_FOUND', 404, 'model "nope" not found']);
    expect(r.bad_filter.slice(0, 2)).toEqual(['INVALID_REQUEST', 400]);
    expect(r.bad_column.slice(0, 2)).toEqual(['INVALID_REQUEST', 400]);
    expect(r.create_existing.slice(0, 2)).toEqual(['ALREADY_EXISTS', 409]);
    expect(r.bad_mode[0]).toBe('ValueError');
    expect(r.bad_name.slice(0, 2)).toEqual(['INVALID_REQUEST', null]);
    expect(r.no_name.slice(0, 2)).toEqual(['INVALID_REQUEST', null]);
    expect(r.refused.slice(0, 2)).toEqual(['LAKE_UNAVAILABLE', null]);
    expect(r.no_url[0]).toBe('LAKE_UNAVAILABLE');
    expect(r.no_url[2]).toContain('LAKERAY_API_URL');
    expect(r.lance_path).toBe(1); // a Lance path given as input is taken as its table name
  });

  it('sends the task token, and reads answers sent with a Content-Length', async () => {
    const code = `
import json
import numpy as np, pyarrow as pa
from lakeray.lake import LakeClient, LakeError
c = LakeClient()
try:
    c.write_dataset(pa.table({"a": np.arange(1000)}), "t")
    w = c.read_dataset("t").num_rows
except LakeError as e:
    w = [e.code, e.status]
print(json.dumps(w))
`;
    const denied = ok(await python(code, { LAKERAY_API_URL: strict.url, LAKERAY_TASK_ID: 't2' }));
    expect(denied).toEqual(['UNAUTHORIZED', 401]);
    const allowed = ok(await python(code, { LAKERAY_API_URL: strict.url, LAKERAY_TASK_ID: 't2', LAKERAY_TASK_TOKEN: 's3cret' }));
    expect(allowed).toBe(1000);
    expect(strict.requests.at(-1)).toMatchObject({ authorization: 'Bearer s3cret', task: 't2', method: 'GET' });
  });
});
