"""Events benchmark task: from `start_at_ms`, emits `rate` progress events per second for
`seconds` seconds; each message is the emit time in epoch ms."""
import time


def run(input_path, output_path, params, ctx):
    rate = float(params.get("rate", 20))
    seconds = float(params.get("seconds", 5))
    n = int(rate * seconds)
    # phase_ms: where in the emit period this task ticks (independent tasks are not in step).
    start_at = (float(params.get("start_at_ms", 0)) + float(params.get("phase_ms", 0))) / 1000
    if start_at > time.time():
        time.sleep(start_at - time.time())
    start = time.time()
    for i in range(n):
        ctx.progress((i + 1) / n, "%.3f" % (time.time() * 1000))
        delay = start + (i + 1) / rate - time.time()
        if delay > 0:
            time.sleep(delay)
    return {"events": n}
