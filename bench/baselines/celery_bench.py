"""Celery throughput baseline: worker and client in one file so both share the exact same
app/task definition. Redis is the broker and the result backend (Celery's fastest pair here;
redis-py parses with hiredis).

  python celery_bench.py worker REDIS_URL POOL CONCURRENCY PREFETCH
  python celery_bench.py client REDIS_URL TASKS BATCH MODE

Client modes (each publishes all TASKS first, in batches of BATCH, then waits for every
result; no per-task round trip):
  group   group(noop.s() × BATCH).apply_async() per batch, then each GroupResult.get()
  loop    noop.apply_async() per task, then one ResultSet over all of them .get()
  mget    as group, but without the client's per-task SUBSCRIBE to the result channel (the
          Redis backend's push delivery of results, which AsyncResult.get() waits on); the
          results are fetched at the end with MGET polls every 50 ms (backend.get_many)

The client times from the first publish to the last result and prints one JSON line.

The worker is started through app.Worker(...) -- the same object the `celery worker` CLI
builds -- because the CLI needs click-didyoumean and click-repl, which the local package
mirror does not carry. Options mirror `celery worker -P POOL -c CONCURRENCY
--prefetch-multiplier PREFETCH -l warning --without-gossip --without-mingle
--without-heartbeat`.
"""
import json
import sys
import time

from celery import Celery, group
from celery.result import ResultSet


def make_app(url: str) -> Celery:
    app = Celery("lakeray_bench", broker=url, backend=url)
    app.conf.broker_connection_retry_on_startup = True

    # Explicit name: the worker runs this file as __main__, the client too, and
    # both must agree on the task name.
    @app.task(name="bench.noop")
    def noop():
        return None

    return app


def worker(url: str, pool: str, concurrency: int, prefetch: int) -> None:
    app = make_app(url)
    app.conf.worker_prefetch_multiplier = prefetch
    w = app.Worker(
        pool_cls=pool,
        concurrency=concurrency,
        loglevel="WARNING",
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    w.start()
    sys.exit(w.exitcode)


def client(url: str, n: int, batch: int, mode: str) -> None:
    app = make_app(url)
    noop = app.tasks["bench.noop"]

    # Readiness probe: a real round trip through broker, worker and result backend, so
    # worker start-up is not billed to the measurement.
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
        results = [group(noop.s() for _ in range(min(batch, n - i))).apply_async() for i in range(0, n, batch)]
        for r in results:
            r.get(timeout=600)
    elif mode == "mget":
        app.backend.on_task_call = lambda producer, task_id: None
        ids = []
        for i in range(0, n, batch):
            ids.extend(r.id for r in group(noop.s() for _ in range(min(batch, n - i))).apply_async().results)
        states = [meta["status"] for _, meta in app.backend.get_many(ids, timeout=600, interval=0.05)]
        if len(states) != n or any(s != "SUCCESS" for s in states):
            raise SystemExit("not every task succeeded: %d results" % len(states))
    elif mode == "loop":
        results = ResultSet([noop.apply_async() for _ in range(n)])
        results.get(timeout=600)
    else:
        raise SystemExit("mode must be group, mget or loop, not %r" % mode)
    seconds = time.perf_counter() - t0
    print(json.dumps({"tasks": n, "seconds": seconds, "tasks_per_s": n / seconds, "mode": mode, "batch": batch}))


if __name__ == "__main__":
    role, url = sys.argv[1], sys.argv[2]
    if role == "worker":
        worker(url, sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        client(url, int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
