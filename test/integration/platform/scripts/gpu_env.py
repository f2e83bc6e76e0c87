import os
import time


def run(input_path, output_path, params, ctx):
    ctx.progress(0.5, "holding")
    time.sleep(float(params.get("hold_s", 0.5)))
    return {"cuda": os.environ.get("CUDA_VISIBLE_DEVICES"), "pid": os.getpid()}
