"""Dispatch benchmark task: imports torch (a heavy module, preloaded in the warm pool) and
returns the wall-clock time at which run() was entered."""
import time

import torch  # noqa: F401  (the point: cold starts pay for this import, warm workers do not)


def run(input_path, output_path, params):
    return {"entered_at_ms": time.time() * 1000}
