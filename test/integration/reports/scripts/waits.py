"""Stays running (for tests that talk about a running task) until cancelled, or 120 s."""
import time


def run(input_path, output_path, params, ctx):
    ctx.progress(0.01, "waiting")
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.05)
    return {}
