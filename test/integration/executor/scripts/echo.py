"""Conformance: reports a progress, a log line and a metric, then returns what it was given."""
import os


def run(input_path, output_path, params, ctx):
    ctx.progress(0.5, "half")
    ctx.log("hello")
    ctx.metric("m", 1.5, step=1)
    ctx.progress(1.0, "done")
    return {"params": params, "task_id": ctx.task_id, "attempt": ctx.attempt,
            "env_attempt": os.environ.get("LAKERAY_ATTEMPT"), "pid": os.getpid()}
