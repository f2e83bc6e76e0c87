"""Dispatch benchmark task: imports torch (a heavy module, preloaded in the warm pool) and
returns when run() was entered, on CLOCK_MONOTONIC (time.monotonic_ns), the clock Node's
process.hrtime.bigint() reads too (bench/lib/shared-clock.ts checks that they agree)."""
import time

import torch  # noqa: F401  (the point: cold starts pay for this import, warm workers do not)


def run(input_path=None, output_path=None, params=None):
    return {"entered_ns": time.monotonic_ns()}
