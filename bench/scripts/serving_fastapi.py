"""Seed 004's FastAPI server (examples/mnist/mnist_serve.py create_app, per-request torch) for
the serve benchmark, run as the seed runs it: uvicorn, `torch.set_num_threads(threads)`.

    .venv/bin/python bench/scripts/serving_fastapi.py PORT WORKERS THREADS

The model is examples/mnist/model.py's CNN with its default architecture (the one
test/fixtures/serving/mnist_cnn.onnx was exported from) and seeded random weights: the time
per request does not depend on the weights. WORKERS uvicorn processes share the port.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.join(HERE, "..", "..", "examples", "mnist")
sys.path.insert(0, MNIST)


def make_app():
    import torch
    from mnist_serve import create_app
    from model import DIGIT_CLASSES, build_model

    torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", "1")))
    # This CPU has no NNPACK: torch would try it and print a warning on every request (a write
    # to stderr per request is not the seed's cost, only noise); plain convolution is what runs.
    torch.backends.nnpack.set_flags(False)
    torch.manual_seed(4)
    model = build_model(None).eval()
    return create_app(model, list(DIGIT_CLASSES), {"name": "mnist_cnn", "version": 1})


if __name__ == "__main__":
    import uvicorn

    port, workers, threads = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.environ["BENCH_TORCH_THREADS"] = threads
    uvicorn.run("serving_fastapi:make_app", factory=True, app_dir=HERE, host="127.0.0.1", port=port,
                workers=workers, log_level="warning", access_log=False)
