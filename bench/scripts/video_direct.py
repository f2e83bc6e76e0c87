"""bench/video.ts's baseline: the demo video model run directly by Python, no platform.

A warm process, as the platform's pool worker is: the interpreter has started, numpy and the
model's modules are imported before the first request. Each request line
({"params": {...}}) runs ``run()`` once with a context that does nothing and answers one JSON
line: the script's own result (its render/encode/postprocess timings) plus ``run_ns``, the
time inside run() on CLOCK_MONOTONIC. The first line out says the process is ready.

  python video_direct.py <examples/video/generate.py>
"""
import importlib.util
import json
import os
import sys
import time


class NullContext:
    task_id, attempt, cancelled, params = "direct", 1, False, {}

    def progress(self, *args, **kwargs):
        pass

    def log(self, *args, **kwargs):
        pass

    def metric(self, *args, **kwargs):
        pass

    def artifact(self, *args, **kwargs):
        pass


def main():
    script = os.path.abspath(sys.argv[1])
    sys.path.insert(0, os.path.dirname(script))
    spec = importlib.util.spec_from_file_location("generate", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        try:
            request = json.loads(line)
            t0 = time.monotonic_ns()
            result = module.run(None, None, request["params"], NullContext())
            result["run_ns"] = time.monotonic_ns() - t0
            print(json.dumps(result), flush=True)
        except Exception as exc:  # noqa: BLE001 - the benchmark reports it and stops
            print(json.dumps({"error": "%s: %s" % (type(exc).__name__, exc)}), flush=True)


if __name__ == "__main__":
    main()
