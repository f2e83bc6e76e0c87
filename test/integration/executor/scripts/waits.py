"""Conformance: logs that it started, then waits until cancelled (or params.ms pass)."""
import os
import time


def run(input_path, output_path, params, ctx):
    ctx.log("waiting %d" % os.getpid())
    deadline = time.monotonic() + float(params.get("ms", 120_000)) / 1000
    while time.monotonic() < deadline:
        time.sleep(0.02)
    return {"waited": True, "pid": os.getpid()}
