"""Lakeray's Ray Serve application: one ONNX model of the lake behind Serve's HTTP proxy.

One generic module for every deployment (docs/serving-ray.md). Lakeray deploys it through the
dashboard's REST API with `import_path: "ray_serve_app:build"` and the application's `args`:

    {"lakeray_url": "http://10.0.0.5:8080", "model": "mnist_cnn", "version": 3, "threads": 1}

and the batch settings as the deployment's `user_config` (`{"max_batch_size": 16,
"batch_wait_timeout_s": 0.005}`), which Serve hands to `reconfigure` on start and again on
every PUT that changes them, without restarting the replicas.

HTTP (under the application's route prefix):
- `POST /` — body: one tensor frame (below); answer: a frame of the outputs, with
  `x-lakeray-serve-batch` (requests in the Serve batch this one ran in) and
  `x-lakeray-serve-rows` (rows of that batch). 400 `{"error":{"code":"INVALID_TENSOR",…}}`
  when the inputs do not fit the model, 500 `INFERENCE_FAILED` when onnxruntime fails.
- `GET /signature` — `{"inputs": [{name, dtype, shape}], "outputs": […]}`.

The tensor frame is lakeray_frame.py's (beside this file, in the same working_dir package).
"""

import asyncio
import struct
import urllib.parse
import urllib.request

import numpy as np
import onnxruntime as ort
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lakeray_frame import InvalidTensor, decode_frame, encode_frame

DEPLOYMENT = "LakerayOnnx"
# onnxruntime's element types → Lakeray's dtypes (src/serving/types.ts DTYPES)
_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}
def _spec(node):
    return {"name": node.name, "dtype": _ORT_DTYPES.get(node.type, node.type),
            "shape": [d if isinstance(d, int) else (d or None) for d in node.shape]}


def _error(status, code, message):
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@serve.deployment(name=DEPLOYMENT, max_ongoing_requests=64)
class LakerayOnnx:
    def __init__(self, lakeray_url, model, version, threads=1, token=None):
        query = urllib.parse.urlencode({"version": version}) if version is not None else ""
        url = f"{lakeray_url.rstrip('/')}/api/v1/models/{urllib.parse.quote(model, safe='')}/files/model.onnx"
        # The deployment's model-read token: it reads this one file, in the deployment's tenant's lake.
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            req = urllib.request.Request(f"{url}?{query}" if query else url, headers=headers)
            with urllib.request.urlopen(req, timeout=120) as res:
                onnx_bytes = res.read()
        except OSError as err:  # HTTPError, URLError, timeouts: Serve shows this line as the reason
            raise RuntimeError(f"cannot read model.onnx of {model}@{version} from {lakeray_url}: {err}") from None
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(onnx_bytes, sess_options=opts, providers=["CPUExecutionProvider"])
        self.inputs = [_spec(i) for i in self.session.get_inputs()]
        self.outputs = [_spec(o) for o in self.session.get_outputs()]

    def reconfigure(self, config):
        # Serve calls this on start and on every PUT that changes user_config: the next batch uses it.
        self.infer_batch.set_max_batch_size(int(config.get("max_batch_size", 1)))
        self.infer_batch.set_batch_wait_timeout_s(float(config.get("batch_wait_timeout_s", 0.0)))

    def check(self, inputs):
        """The request's inputs against the model's: names, dtypes, fixed dims; rows agree."""
        rows = None
        for spec in self.inputs:
            arr = inputs.get(spec["name"])
            if arr is None:
                raise InvalidTensor(f'input "{spec["name"]}" is missing')
            if str(arr.dtype) != spec["dtype"] and not (spec["dtype"] == "bool" and arr.dtype == np.bool_):
                raise InvalidTensor(f'input "{spec["name"]}": expected {spec["dtype"]}, got {arr.dtype}')
            fixed = [d if isinstance(d, int) else None for d in spec["shape"]]
            if arr.ndim != len(fixed) or any(f is not None and f != s for f, s in zip(fixed[1:], arr.shape[1:])):
                want = ", ".join("batch" if i == 0 else str(d if d is not None else "?") for i, d in enumerate(fixed))
                raise InvalidTensor(f'input "{spec["name"]}": expected [{want}] {spec["dtype"]}, got {list(arr.shape)}')
            if arr.shape[0] < 1 or (rows is not None and arr.shape[0] != rows):
                raise InvalidTensor(f'input "{spec["name"]}": {arr.shape[0]} rows, other inputs have {rows}')
            rows = arr.shape[0]
        return rows

    @serve.batch(max_batch_size=1, batch_wait_timeout_s=0.0)
    async def infer_batch(self, requests):
        """One Serve batch: every request's rows concatenated along dim 0, one run, split back."""
        rows = [r["rows"] for r in requests]
        feed = {s["name"]: np.concatenate([r["inputs"][s["name"]] for r in requests]) for s in self.inputs}
        try:
            outs = await asyncio.to_thread(self.session.run, None, feed)
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own types
            return [{"failed": str(err)} for _ in requests]
        names = [o["name"] for o in self.outputs]
        answers, start = [], 0
        for n in rows:
            answers.append({"outputs": {name: out[start:start + n] for name, out in zip(names, outs)},
                            "batch": len(requests), "rows": sum(rows)})
            start += n
        return answers

    async def __call__(self, request: Request):
        if request.method == "GET" and request.url.path.rstrip("/").endswith("/signature"):
            return JSONResponse({"inputs": self.inputs, "outputs": self.outputs})
        if request.method != "POST":
            return _error(405, "METHOD_NOT_ALLOWED", "POST a tensor frame, or GET /signature")
        try:
            inputs = decode_frame(await request.body())
            rows = self.check(inputs)
        except InvalidTensor as err:
            return _error(400, "INVALID_TENSOR", str(err))
        except (ValueError, KeyError, struct.error) as err:
            return _error(400, "INVALID_TENSOR", f"not a tensor frame: {err}")
        answer = await self.infer_batch({"inputs": inputs, "rows": rows})
        if "failed" in answer:
            return _error(500, "INFERENCE_FAILED", answer["failed"])
        return Response(encode_frame(answer["outputs"]), media_type="application/octet-stream",
                        headers={"x-lakeray-serve-batch": str(answer["batch"]),
                                 "x-lakeray-serve-rows": str(answer["rows"])})


def build(args):
    """Serve's application builder: `args` are the application's `args` in the config."""
    return LakerayOnnx.bind(args["lakeray_url"], args["model"], args.get("version"), args.get("threads", 1), args.get("lakeray_token"))
