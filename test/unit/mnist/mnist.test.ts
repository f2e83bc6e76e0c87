/**
 * The MNIST example scripts (examples/mnist), run in the project venv with an in-memory ctx
 * instead of the platform: IDX parsing and the clean table, a tiny training run with its model
 * files, and the service's routes. The full 70,000-image pipeline runs in
 * test/integration/harness-lake/mnist-pipeline.test.ts; a full training epoch only in the
 * platform's acceptance test.
 */
import { describe, expect, it } from 'vitest';
import { MNIST_DIR, ok, python } from '../../integration/harness-lake/helpers.ts';

/** A ctx that records events and keeps lake tables in memory; plus synthetic IDX files. */
const PRELUDE = `
import gzip, io, json, os, struct, sys, tempfile, zipfile
import numpy as np
import pyarrow as pa
sys.path.insert(0, ${JSON.stringify(MNIST_DIR)})

class FakeCtx:
    def __init__(self, tables=None, input_path=None, output_path=None):
        self.tables = dict(tables or {})
        self.models = {}
        self.events = []
        self.versions_read = {}
        self.input_path, self.output_path = input_path, output_path
        self.task_id = "unit"
    def progress(self, fraction, message=None, step=None, total=None):
        self.events.append(["progress", fraction, message])
    def log(self, message, level="info"):
        self.events.append(["log", level, message])
    def metric(self, name, value, step=None):
        self.events.append(["metric", name, value, step])
    def read_dataset(self, name=None, columns=None, filter=None, version=None):
        from lakeray.lake import LakeError
        table = self.tables[name or self.input_path]
        if columns:
            missing = [c for c in columns if c not in table.column_names]
            if missing:
                raise LakeError("INVALID_REQUEST", "no column %s" % missing[0], 400)
            table = table.select(columns)
        self.versions_read[name] = 1
        return table
    def write_dataset(self, data, name=None, mode="overwrite"):
        self.tables[name or self.output_path] = data
        return {"name": name, "version": 1, "num_rows": data.num_rows}
    def write_model(self, name=None, files=None, metrics=None, params=None):
        self.models[name] = {"files": files, "metrics": metrics, "params": params}
        return {"name": name, "version": 1, "num_rows": len(files)}
    def read_model(self, name=None, version=None):
        m = self.models[name]
        return {"name": name, "version": 1, "files": m["files"], "metrics": m["metrics"], "params": m["params"], "lineage": {}}

def idx(array, magic_type=0x08):
    array = np.asarray(array)
    return struct.pack(">BBBB", 0, 0, magic_type, array.ndim) + struct.pack(">%dI" % array.ndim, *array.shape) + array.astype(np.uint8).tobytes()

def easy_images(labels, seed=0):
    """Learnable synthetic images: a bright 6×6 block whose position encodes the label."""
    rng = np.random.default_rng(seed)
    images = (rng.random((len(labels), 28, 28)) * 40).astype(np.uint8)
    for i, k in enumerate(labels):
        r, c = 3 + (k // 5) * 13, 2 + (k % 5) * 5
        images[i, r:r + 6, c:c + 6] = 250
    return images

def write_set(directory, train_labels, test_labels, gz=True):
    os.makedirs(directory, exist_ok=True)
    for prefix, labels in (("train", train_labels), ("t10k", test_labels)):
        labels = np.asarray(labels)
        for kind, data in (("images-idx3", idx(easy_images(labels % 10))), ("labels-idx1", idx(labels))):
            name = "%s-%s-ubyte" % (prefix, kind)
            with open(os.path.join(directory, name + (".gz" if gz else "")), "wb") as f:
                f.write(gzip.compress(data) if gz else data)
    return directory
`;

describe('examples/mnist', () => {
  it('mnist_clean: parses IDX files (gzip or plain, dir or zip) into the lake schema', async () => {
    const r = ok(
      await python(`${PRELUDE}
import mnist_clean
tmp = tempfile.mkdtemp()
train_labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 3])   # 12: not a class, dropped
src = write_set(os.path.join(tmp, "fashion_gz"), train_labels, np.array([9, 8, 7]))
ctx = FakeCtx()
result = mnist_clean.run(src, "clean", {"normalize": True, "flatten": True}, ctx)
t = ctx.tables["clean"]
img = t.column("image").combine_chunks()
plain = write_set(os.path.join(tmp, "plain"), np.array([1, 2]), np.array([3]), gz=False)
ctx2 = FakeCtx()
r2 = mnist_clean.run(plain, "raw", {"normalize": False, "flatten": False, "classes": "digits"}, ctx2)
t2 = ctx2.tables["raw"]
zpath = os.path.join(tmp, "mnist.zip")
with zipfile.ZipFile(zpath, "w") as z:
    for n in os.listdir(src):
        z.write(os.path.join(src, n), "mnist/" + n)
ctx3 = FakeCtx()
r3 = mnist_clean.run(zpath, "z", {}, ctx3)
errors = {}
empty = os.path.join(tmp, "empty"); os.makedirs(empty)
os.environ["LAKERAY_MNIST_DIR"] = empty   # the folder a task without an input reads
bad = os.path.join(tmp, "bad"); os.makedirs(bad)
write_set(bad, np.array([1]), np.array([1]), gz=False)
with open(os.path.join(bad, "train-images-idx3-ubyte"), "r+b") as f:
    f.write(struct.pack(">I", 0x00000801))   # a labels magic on the images file
for label, fn in (("magic", lambda: mnist_clean.run(bad, "x", {}, FakeCtx())),
                  ("missing", lambda: mnist_clean.run(tmp, "x", {}, FakeCtx())),
                  ("default_missing", lambda: mnist_clean.run(None, "x", {}, FakeCtx())),
                  ("not_idx", lambda: mnist_clean.parse_idx(b"\\x12\\x34\\x56\\x78", "f")),
                  ("truncated", lambda: mnist_clean.parse_idx(idx(np.zeros((3, 2, 2)))[:-1], "f"))):
    try:
        fn(); errors[label] = None
    except Exception as e:
        errors[label] = [type(e).__name__, str(e), getattr(e, "code", None)]
print(json.dumps({
  "result": result, "schema": [[f.name, str(f.type)] for f in t.schema],
  "labels": t.column("label").to_pylist(), "names": t.column("label_name").to_pylist()[:3],
  "split": t.column("split").to_pylist(), "range": [float(np.min(img.flatten())), float(np.max(img.flatten()))],
  "r2": r2, "schema2": [str(f.type) for f in t2.schema], "max2": float(np.max(t2.column("image").combine_chunks().flatten().flatten())),
  "names2": t2.column("label_name").to_pylist(), "r3": r3["total_records"], "errors": errors, "empty": empty,
  "progress": [e[1] for e in ctx.events if e[0] == "progress"],
  "logs": [e[2] for e in ctx.events if e[0] == "log"],
}))
`),
    );
    expect(r.result).toMatchObject({ total_records: 14, train: 11, test: 3, dropped: 1, dataset: 'clean', version: 1 });
    expect(r.result.classes[7]).toBe('Sneaker'); // "fashion" in the input path
    expect(r.schema).toEqual([
      ['image', 'fixed_size_list<item: float>[784]'],
      ['label', 'int64'],
      ['label_name', 'string'],
      ['split', 'string'],
    ]);
    expect(r.labels).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 9, 8, 7]);
    expect(r.names).toEqual(['T-shirt/top', 'Trouser', 'Pullover']);
    expect(r.split).toEqual([...Array(11).fill('train'), ...Array(3).fill('test')]);
    expect(r.range[0]).toBeGreaterThanOrEqual(0);
    expect(r.range[1]).toBeCloseTo(250 / 255, 5);
    expect(r.r2).toMatchObject({ total_records: 3, train: 2, test: 1, dropped: 0 });
    expect(r.schema2[0]).toBe('fixed_size_list<item: fixed_size_list<item: float>[28]>[28]');
    expect(r.max2).toBe(250); // normalize=false keeps 0..255
    expect(r.names2).toEqual(['1', '2', '3']);
    expect(r.r3).toBe(14);
    expect(r.errors.magic[0]).toBe('IdxError');
    expect(r.errors.magic[1]).toMatch(/wrong magic number 0x00000801, expected 0x00000803/);
    // Missing files are the task error INPUT_NOT_FOUND with a one-line fix, not a traceback.
    expect(r.errors.missing.slice(0, 1).concat(r.errors.missing[2])).toEqual(['TaskError', 'INPUT_NOT_FOUND']);
    expect(r.errors.missing[1]).toMatch(/^Fashion-MNIST not found \(no train-images-idx3-ubyte\[\.gz\] in .*\)\. Fix: put the four \*-ubyte\.gz files of https:\/\/github\.com\/zalandoresearch\/fashion-mnist there$/);
    expect(r.errors.default_missing[2]).toBe('INPUT_NOT_FOUND');
    expect(r.errors.default_missing[1]).toMatch(new RegExp(`^Fashion-MNIST not found \\(no train-images-idx3-ubyte\\[\\.gz\\] in ${r.empty}\\)\\. Fix: put the four .* there, or unset LAKERAY_MNIST_DIR and run: (sudo )?apt-get install dataset-fashion-mnist$`));
    expect(r.errors.not_idx[1]).toMatch(/not an IDX file/);
    expect(r.errors.truncated[1]).toMatch(/truncated/);
    expect(r.progress.at(-1)).toBe(1);
    expect(r.logs.join('\n')).toMatch(/dropped 1 row/);
  });

  it('mnist_cnn: a limit_train run reports progress and metrics and stores weights.pt + model.onnx', async () => {
    const r = ok(
      await python(
        `${PRELUDE}
import mnist_clean, mnist_cnn, torch, onnx
from model import build_model
labels = np.arange(1200) % 10
parts = [("train", easy_images(labels[:1000], 1), labels[:1000].astype(np.int64)),
         ("test", easy_images(labels[1000:], 2), labels[1000:].astype(np.int64))]
table, _ = mnist_clean.build_table(parts, classes=mnist_clean.FASHION_CLASSES)
ctx = FakeCtx({"clean": table})
result = mnist_cnn.run("clean", "cnn", {"epochs": 2, "batch_size": 32, "limit_train": 640, "log_every": 5, "threads": 2}, ctx)
m = ctx.models["cnn"]
net = build_model(m["params"]["architecture"])
net.load_state_dict(torch.load(io.BytesIO(m["files"]["weights.pt"]), weights_only=True))
proto = onnx.load_from_string(m["files"]["model.onnx"])
onnx.checker.check_model(proto)
dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in proto.graph.input]
metrics = [e for e in ctx.events if e[0] == "metric"]
progress = [e for e in ctx.events if e[0] == "progress"]
print(json.dumps({
  "result": result, "params": m["params"], "metric_keys": sorted(m["metrics"]),
  "inputs": [i.name for i in proto.graph.input], "outputs": [o.name for o in proto.graph.output], "dims": dims,
  "loss_steps": [e[3] for e in metrics if e[1] == "loss"], "acc_steps": [e[3] for e in metrics if e[1] == "test_accuracy"],
  "progress_msgs": [e[2] for e in progress][:4], "last_progress": progress[-1][1],
}))
`,
        {},
        120_000,
      ),
    );
    expect(r.result.accuracy).toBeGreaterThan(0.5); // an easy synthetic task, two tiny epochs
    expect(r.result).toMatchObject({ epochs: 2, model: 'cnn', version: 1, files: ['model.onnx', 'weights.pt'] });
    expect(r.params).toMatchObject({ epochs: 2, batch_size: 32, learning_rate: 0.001, limit_train: 640, dataset: 'clean', dataset_version: 1 });
    expect(r.params.classes[9]).toBe('Ankle boot'); // from the label_name column
    expect(r.metric_keys).toEqual(expect.arrayContaining(['accuracy', 'loss', 'epochs', 'history']));
    expect(r.inputs).toEqual(['input']);
    expect(r.outputs).toEqual(['logits']);
    expect(r.dims).toEqual([['batch', 1, 28, 28]]);
    expect(r.loss_steps).toEqual([5, 10, 15, 20, 25, 30, 35, 40]); // 20 batches per epoch, 2 epochs
    expect(r.acc_steps).toEqual([1, 2]);
    expect(r.progress_msgs[1]).toBe('epoch 1/2 batch 10/20 loss ' + r.progress_msgs[1].split('loss ')[1]);
    expect(r.last_progress).toBe(1);
  }, 120_000);

  it('mnist_serve: /health, /model, /predict (flat and 28×28), / and input validation', async () => {
    const r = ok(
      await python(
        `${PRELUDE}
import threading, time, socket, urllib.request, urllib.error
import torch, uvicorn, mnist_serve
from model import build_model, FASHION_CLASSES
net = build_model()
buf = io.BytesIO(); torch.save(net.state_dict(), buf)
ctx = FakeCtx()
ctx.models["m1"] = {"files": {"weights.pt": buf.getvalue()}, "metrics": {"accuracy": 0.9}, "params": {"classes": FASHION_CLASSES}}
model, classes, stored = mnist_serve.load_model(ctx, "m1")
ready = []
app = mnist_serve.create_app(model, classes, stored, on_ready=lambda: ready.append(1))
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
th = threading.Thread(target=server.run, daemon=True); th.start()
while not server.started: time.sleep(0.02)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def call(path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d/%s" % (port, path), data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with opener.open(req) as res:
            raw = res.read()
            return [res.status, res.headers.get("content-type"), raw.decode()[:80] if path == "" else json.loads(raw)]
    except urllib.error.HTTPError as e:
        return [e.code, None, json.loads(e.read())]
img = np.zeros(784); img[300:320] = 1.0
out = {"health": call("health"), "model": call("model"), "page": call(""),
       "flat": call("predict", {"image": img.tolist()}), "nested": call("predict", {"image": img.reshape(28, 28).tolist()}),
       "short": call("predict", {"image": [0.5] * 10}), "text": call("predict", {"image": "abc"}), "ready": ready}
server.should_exit = True; th.join(5)
print(json.dumps(out))
`,
        {},
        120_000,
      ),
    );
    expect(r.health).toEqual([200, 'application/json', { status: 'ok', model: 'm1', version: 1 }]);
    expect(r.model[2]).toMatchObject({ model: 'm1', version: 1, metrics: { accuracy: 0.9 } });
    expect(r.page[0]).toBe(200);
    expect(r.page[1]).toMatch(/^text\/html/);
    expect(r.page[2]).toMatch(/^<!doctype html>/);
    const flat = r.flat[2];
    expect(r.flat[0]).toBe(200);
    expect(flat.probabilities).toHaveLength(10);
    expect(flat.probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
    expect(flat.confidence).toBeCloseTo(Math.max(...flat.probabilities), 6);
    expect(flat.label).toBe(flat.label_names[flat.prediction]);
    expect(flat.label_names[0]).toBe('T-shirt/top');
    expect(r.nested[2].probabilities).toEqual(flat.probabilities);
    expect(r.short[0]).toBe(422);
    expect(r.text[0]).toBe(422);
    expect(r.ready).toEqual([1]);
  }, 120_000);

  it('index.html is self-contained and calls the service with relative URLs', async () => {
    const fs = await import('node:fs');
    const html = fs.readFileSync(`${MNIST_DIR}/index.html`, 'utf8');
    expect(html).not.toMatch(/(src|href)=["']https?:/); // no CDN, no external fonts
    expect(html).not.toMatch(/fetch\(\s*['"`]\//); // no absolute paths: the proxy prefix must survive
    expect(html).toMatch(/api\('predict'\)/);
    expect(html).toMatch(/<canvas id="pad" width="280" height="280"/);
    expect(html).toMatch(/pointerdown/);
    expect(html).toMatch(/<button type="button" id="clear"/);
  });

  it("index.html's preprocessing: MNIST-style 20×20 box centered by mass, Fashion-MNIST fills 28×28", async () => {
    const fs = await import('node:fs');
    const html = fs.readFileSync(`${MNIST_DIR}/index.html`, 'utf8');
    const source = html.split('// <preprocess>')[1]!.split('\n').slice(1).join('\n').split('// </preprocess>')[0]!;
    const preprocess = new Function(`${source}; return preprocess;`)() as (g: Float32Array, w: number, h: number, f: boolean) => Float32Array | null;
    const W = 280;
    const drawing = (x0: number, y0: number, w: number, h: number) => {
      const g = new Float32Array(W * W);
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) g[y * W + x] = x < x0 + w / 4 ? 1 : 0.5; // heavier on the left
      return g;
    };
    const stats = (img: Float32Array) => {
      let x0 = 28, x1 = -1, y0 = 28, y1 = -1, m = 0, mx = 0, my = 0;
      img.forEach((v, i) => {
        const x = i % 28, y = Math.floor(i / 28);
        if (v > 0) [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
        m += v; mx += v * (x + 0.5); my += v * (y + 0.5);
      });
      return { w: x1 - x0 + 1, h: y1 - y0 + 1, x0, y0, cx: mx / m, cy: my / m, max: Math.max(...img), min: Math.min(...img) };
    };
    expect(preprocess(new Float32Array(W * W), W, W, false)).toBeNull();
    const digit = stats(preprocess(drawing(30, 150, 60, 120), W, W, false)!);
    expect([digit.w, digit.h]).toEqual([10, 20]); // longest side scaled to 20, aspect kept
    expect(Math.abs(digit.cx - 14)).toBeLessThanOrEqual(0.5); // center of mass at the center
    expect(Math.abs(digit.cy - 14)).toBeLessThanOrEqual(0.5);
    expect([digit.min, digit.max]).toEqual([0, 1]);
    const item = stats(preprocess(drawing(30, 150, 60, 120), W, W, true)!);
    expect([item.w, item.h]).toEqual([14, 28]); // Fashion-MNIST: longest side 28, box centered
    expect([item.x0, item.y0]).toEqual([7, 0]);
  });
});
