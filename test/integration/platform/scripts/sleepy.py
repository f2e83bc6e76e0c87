import os
import time


def run(input_path, output_path, params, ctx):
    ctx.log("pid %d" % os.getpid())
    for i in range(int(params.get("steps", 100))):
        ctx.progress(i / 100.0, "step %d" % i)
        time.sleep(float(params.get("step_s", 0.1)))
    return {"done": True}
