"""Events benchmark task: emits `rate` progress events per second for `seconds` seconds."""
import time


def run(input_path, output_path, params, ctx):
    rate = float(params.get("rate", 20))
    seconds = float(params.get("seconds", 5))
    n = int(rate * seconds)
    start = time.time()
    for i in range(n):
        ctx.progress((i + 1) / n, "%.3f" % (time.time() * 1000))
        delay = start + (i + 1) / rate - time.time()
        if delay > 0:
            time.sleep(delay)
    return {"events": n}
