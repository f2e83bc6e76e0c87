"""Celery throughput baseline: worker and client in one file so both share the
exact same app/task definition.

  python celery_bench.py worker REDIS_URL [CONCURRENCY]
  python celery_bench.py client REDIS_URL TASKS [delay|group]

The worker is started through app.Worker(...) -- the same object the
`celery worker` CLI builds -- because the CLI needs click-didyoumean and
click-repl, which the local package mirror does not carry. Options mirror
`celery worker -P prefork -c N -l warning --without-gossip --without-mingle
--without-heartbeat`.
"""
import json
import sys
import time

from celery import Celery, group


def make_app(url: str) -> Celery:
    app = Celery("lakeray_bench", broker=url, backend=url)
    app.conf.broker_connection_retry_on_startup = True

    # Explicit name: the worker runs this file as __main__, the client too, and
    # both must agree on the task name.
    @app.task(name="bench.noop")
    def noop():
        return None

    return app


def worker(url: str, concurrency: int) -> None:
    app = make_app(url)
    w = app.Worker(
        pool_cls="prefork",
        concurrency=concurrency,
        loglevel="WARNING",
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    w.start()
    sys.exit(w.exitcode)


def client(url: str, n: int, mode: str) -> None:
    app = make_app(url)
    noop = app.tasks["bench.noop"]

    # Readiness probe: a real round trip through broker, pool child and result
    # backend, so worker start-up is not billed to the measurement.
    deadline = time.monotonic() + 60
    while True:
        try:
            noop.delay().get(timeout=2)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise

    t0 = time.perf_counter()
    if mode == "group":
        group(noop.s() for _ in range(n)).apply_async().get(timeout=600)
    else:
        # The everyday pattern: .delay() per task, then wait on each result.
        results = [noop.delay() for _ in range(n)]
        for r in results:
            r.get(timeout=600)
    seconds = time.perf_counter() - t0
    print(json.dumps({"tasks": n, "seconds": seconds, "tasks_per_s": n / seconds, "mode": mode}))


if __name__ == "__main__":
    role, url = sys.argv[1], sys.argv[2]
    if role == "worker":
        worker(url, int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    else:
        client(url, int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "delay")
