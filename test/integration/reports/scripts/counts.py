"""Reports progress `steps` times, `every_s` apart, then returns how many it reported."""
import time


def run(input_path, output_path, params, ctx):
    steps = int(params.get("steps", 60))
    for i in range(1, steps + 1):
        ctx.progress(i / steps, "step %d" % i)
        time.sleep(float(params.get("every_s", 0.05)))
    return {"steps": steps}
