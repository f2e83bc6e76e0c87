"""The Ray benchmarks' no-op: records when run() was entered, by the wall clock (time.time(),
the clock the bench's Date.now() reads). Lakeray's harnesses call run() and report its result;
a direct Ray job runs this file as its entrypoint and the line it prints is read from the log."""
import json
import time


def run(input_path, output_path, params, ctx):
    return {"entered_s": time.time()}


if __name__ == "__main__":
    print("BENCH_ENTERED " + json.dumps(run(None, None, {}, None)), flush=True)
