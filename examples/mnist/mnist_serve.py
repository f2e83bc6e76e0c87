"""Serve a trained MNIST model from the lake over HTTP (seed §3.5).

    lakeray submit mnist/mnist_serve.py --input mnist_cnn_v1 -p port=8080 --watch

Loads the model (``weights.pt``, class names and architecture from its params) with
``ctx.read_model``, then runs a FastAPI app with uvicorn until the task is cancelled (SIGTERM):

    GET  /          the drawing page (index.html; relative URLs, so it works behind the
                    platform's proxy at /api/v1/services/{task_id}/)
    GET  /health    {"status": "ok", "model", "version"}
    GET  /model     the model's name, version, metrics, params and lineage
    POST /predict   {"image": [784 floats in [0,1]] or 28×28 nested lists}
                    → {"prediction", "label", "confidence", "probabilities": [10], "label_names"}

Params: ``port`` (the platform injects the assigned port; else env PORT; else 8080), ``host``
(127.0.0.1), ``device`` ("cpu"; "cuda" when available and asked), ``threads`` (torch threads, 1).
"""
import io
import logging
import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # the harness puts the script's directory first already
    sys.path.insert(0, _HERE)

log = logging.getLogger("mnist_serve")


def load_model(ctx, name):
    import torch
    from model import DIGIT_CLASSES, build_model

    stored = ctx.read_model(name)
    files = stored["files"]
    if "weights.pt" not in files:
        raise ValueError("model %s has no weights.pt (files: %s)" % (name, ", ".join(sorted(files)) or "none"))
    params = stored.get("params") or {}
    model = build_model(params.get("architecture"))
    state = torch.load(io.BytesIO(files["weights.pt"]), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    classes = params.get("classes") or DIGIT_CLASSES
    return model, [str(c) for c in classes], stored


def create_app(model, classes, stored, device="cpu", on_ready=None):
    """The FastAPI app around a loaded model (separate from run() so tests can drive it)."""
    from contextlib import asynccontextmanager

    import numpy as np
    import torch
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse
    from pydantic import BaseModel

    class PredictRequest(BaseModel):
        image: list

    @asynccontextmanager
    async def lifespan(_app):
        if on_ready is not None:
            on_ready()
        yield

    model = model.to(device)
    app = FastAPI(title="MNIST model %s" % stored.get("name"), docs_url="/docs", redoc_url=None, lifespan=lifespan)
    page = os.path.join(_HERE, "index.html")
    info = {
        "model": stored.get("name"),
        "version": stored.get("version"),
        "metrics": stored.get("metrics") or {},
        "params": stored.get("params") or {},
        "lineage": stored.get("lineage") or {},
        "label_names": classes,
    }

    @app.get("/", include_in_schema=False)
    @app.get("/index.html", include_in_schema=False)
    def index():
        return FileResponse(page, media_type="text/html")

    @app.get("/health")
    def health():
        return {"status": "ok", "model": info["model"], "version": info["version"]}

    @app.get("/model")
    def model_info():
        return info

    @app.post("/predict")
    def predict(body: PredictRequest):
        try:
            pixels = np.asarray(body.image, dtype=np.float32)
        except (TypeError, ValueError):
            raise HTTPException(status_code=422, detail="image must be 784 numbers, or 28 rows of 28 numbers") from None
        if pixels.size != 784 or pixels.shape not in ((784,), (28, 28), (1, 28, 28), (1, 1, 28, 28)):
            raise HTTPException(status_code=422, detail="image must have 784 values (flat or 28×28), got shape %s" % (pixels.shape,))
        if not np.isfinite(pixels).all():
            raise HTTPException(status_code=422, detail="image values must be finite numbers in [0, 1]")
        tensor = torch.from_numpy(np.clip(pixels, 0.0, 1.0).reshape(1, 1, 28, 28)).to(device)
        started = time.perf_counter()
        with torch.inference_mode():
            probs = torch.softmax(model(tensor), dim=1)[0].cpu()
        best = int(probs.argmax())
        log.debug("predicted %s (%.3f) in %.1f ms", best, float(probs[best]), (time.perf_counter() - started) * 1000)
        return {
            "prediction": best,
            "label": classes[best] if best < len(classes) else str(best),
            "confidence": float(probs[best]),
            "probabilities": [float(p) for p in probs],
            "label_names": classes,
        }

    return app


def _port(params):
    for value in (params.get("port"), os.environ.get("PORT")):
        if value not in (None, ""):
            return int(value)
    return 8080


def run(input_path, output_path, params, ctx):
    import torch
    import uvicorn
    from model import cpu_threads

    params = params or {}
    name = input_path or params.get("model") or "mnist_cnn_v1"
    torch.set_num_threads(cpu_threads(params.get("threads", 1)))
    device = "cpu"
    if str(params.get("device", "cpu")).startswith("cuda") and torch.cuda.is_available():
        device = str(params["device"])
    model, classes, stored = load_model(ctx, name)
    host = str(params.get("host", "127.0.0.1"))
    port = _port(params)
    accuracy = (stored.get("metrics") or {}).get("accuracy")

    def ready():
        ctx.log("serving model %s (version %s%s) on http://%s:%d" % (
            stored.get("name"), stored.get("version"),
            ", test accuracy %.4f" % accuracy if isinstance(accuracy, (int, float)) else "", host, port))

    app = create_app(model, classes, stored, device, on_ready=ready)

    # Blocks until SIGTERM: uvicorn shuts down (closing idle connections, waiting at most 3 s for
    # requests in flight), then re-raises the signal, which the harness turns into a clean cancel.
    uvicorn.run(app, host=host, port=port, log_level=str(params.get("log_level", "warning")),
                access_log=False, timeout_graceful_shutdown=3)
    return {"model": stored.get("name"), "version": stored.get("version"), "port": port}
