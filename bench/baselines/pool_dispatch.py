"""bench/dispatch.ts's warm baseline: a plain Python process pool with torch preloaded, the way
one would keep interpreters warm without a platform (multiprocessing.Pool, one worker process,
as Lakeray's warm pool in the benchmark has one worker).

It runs the same no-op task as the platform (bench/scripts/noop_torch.py's run(), which returns
time.monotonic_ns() on entry) and answers JSON lines on stdin/stdout (bench/lib/line-child.ts):

  {"op": "clock"}              → {"ns": "<time.monotonic_ns()>"}
  {"op": "dispatch", "runs": N} → {"ms": [...]}: N tasks one after another, each from just before
                                  apply_async to run() entered in the pool's worker, in ms

The first line out ({"ready": true}) comes once the worker has imported torch and run one task.
  python pool_dispatch.py <bench/scripts>
"""
import json
import multiprocessing
import sys
import time


def _preload():
    import torch  # noqa: F401  (what the platform's pool preloads)


def main():
    sys.path.insert(0, sys.argv[1])
    import noop_torch

    with multiprocessing.Pool(processes=1, initializer=_preload) as pool:
        pool.apply(noop_torch.run)  # the worker is up and has imported torch
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            request = json.loads(line)
            if request["op"] == "clock":
                print(json.dumps({"ns": str(time.monotonic_ns())}), flush=True)
                continue
            out = []
            for _ in range(int(request["runs"])):
                t0 = time.monotonic_ns()
                entered = pool.apply_async(noop_torch.run).get()["entered_ns"]
                out.append((entered - t0) / 1e6)
            print(json.dumps({"ms": out}), flush=True)


if __name__ == "__main__":
    main()
