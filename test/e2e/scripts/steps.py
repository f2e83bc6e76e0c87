"""A task for the UI's end-to-end tests: reports progress, a loss/accuracy pair of metrics and a
log line per step, writes a small SVG chart as an artifact, and fails on request.

Params: steps (20), step_s (0.1), fail_at (a step to fail at, none by default).
"""
import math
import os
import tempfile
import time


def run(input_path, output_path, params, ctx):
    steps = int(params.get("steps", 20))
    step_s = float(params.get("step_s", 0.1))
    fail_at = params.get("fail_at")
    for step in range(1, steps + 1):
        if fail_at is not None and step == int(fail_at):
            raise RuntimeError("step %d: the loss diverged (asked to fail here)" % step)
        loss = 2.3 * math.exp(-step / (steps / 3)) + 0.05 * math.sin(step)
        ctx.metric("loss", round(loss, 4), step=step)
        ctx.metric("accuracy", round(1 - loss / 2.5, 4), step=step)
        ctx.log("step %d/%d: loss %.4f" % (step, steps, loss))
        ctx.progress(step / steps, "step %d of %d" % (step, steps), step=step, total=steps)
        time.sleep(step_s)
    svg = os.path.join(tempfile.mkdtemp(), "chart.svg")
    with open(svg, "w") as f:
        f.write('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60"><rect width="120" height="60" fill="#eef0ff"/>'
                '<path d="M5 55 L40 30 L75 20 L115 8" stroke="#4f46e5" stroke-width="3" fill="none"/></svg>')
    ctx.artifact(svg, name="chart.svg", content_type="image/svg+xml")
    return {"steps": steps, "final_loss": round(loss, 4)}
