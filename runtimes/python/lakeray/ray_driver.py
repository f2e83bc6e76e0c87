"""The long-lived driver of a Ray executor in mode ``actors``: ``python -u -m lakeray.ray_driver``.

Lakeray submits it as a Ray job (issue 12 contract D). Lakeray cannot count on reaching a port
inside the cluster, so the driver PULLS its work:

    POST {LAKERAY_API_URL}/api/v1/executors/{LAKERAY_EXECUTOR}/driver/poll
         Authorization: Bearer {LAKERAY_EXECUTOR_TOKEN}
         {driver_id, running: [task ids], capacity: {pool: free slots}, busy: {pool: busy slots},
          done: [{task_id, attempt, error}]}
    →    {run: [{task_id, attempt, token, pool, job, package?}], cancel: [{task_id, grace_ms}], stop?}

The answer comes at once when there is work, else after Lakeray's long-poll wait. One poll is
always waiting (a thread); when a task ends without its own report (its actor died, a gang rank
failed, a cancel had to kill) a second, immediate poll carries the news; Lakeray answers the
older one at once when a newer one arrives. ``done`` entries are repeated until a poll carrying
them was answered. A task's events and outcome go from its actor to Lakeray directly (contract
B); ``done`` without an error only frees the slot.

Environment: LAKERAY_API_URL, LAKERAY_EXECUTOR, LAKERAY_EXECUTOR_TOKEN, LAKERAY_DRIVER_ID,
LAKERAY_POOLS (JSON: {pool: {num_cpus, num_gpus, resources, min_actors, max_actors,
idle_timeout_s, preload, gang}}).
"""
import json
import os
import queue
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request

import ray

from .ray_pool import Pool, PoolConfig

DEFAULT_GRACE_MS = 5000


class Running:
    def __init__(self, item, pool, slot, refs):
        self.item = item
        self.pool = pool
        self.slot = slot
        self.refs = refs
        self.kill_at = None  # set by a cancel: the slot is killed then at the latest


class Poller:
    def __init__(self, url, token, driver_id):
        self.url = url
        self.token = token
        self.driver_id = driver_id
        self.answers = queue.Queue()
        self.stopped = False

    def post(self, body):
        """One poll; its answer (with the done entries it carried) goes to the queue."""
        data = json.dumps(dict(body, driver_id=self.driver_id)).encode("utf-8")
        req = urllib.request.Request(self.url, data=data, method="POST", headers={
            "content-type": "application/json", "authorization": "Bearer %s" % self.token})
        with urllib.request.urlopen(req, timeout=90) as res:
            answer = json.loads(res.read() or b"{}")
        self.answers.put((answer, body.get("done", [])))

    def loop(self, snapshot):
        delay = 0.2
        while not self.stopped:
            try:
                self.post(snapshot())
                delay = 0.2
            except urllib.error.HTTPError as exc:
                if exc.code in (401, 403, 404):
                    sys.stderr.write("lakeray driver: poll refused (%d): %s\n" % (exc.code, exc.read()[:500]))
                    self.answers.put(({"stop": True}, []))
                    return
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception:  # noqa: BLE001 - Lakeray restarting or unreachable: keep the tasks, retry
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def urgent(self, body):
        def send():
            try:
                self.post(body)
            except Exception:  # noqa: BLE001 - the waiting poll carries it next time
                pass
        threading.Thread(target=send, daemon=True).start()


class Driver:
    def __init__(self, api_url, pools, poller):
        self.api_url = api_url
        self.pools = pools
        self.poller = poller
        self.running = {}
        self.done = []  # entries not yet carried by an answered poll
        self.lock = threading.Lock()

    def snapshot(self):
        with self.lock:
            return {"running": list(self.running), "done": list(self.done),
                    "capacity": {name: pool.free() for name, pool in self.pools.items()},
                    "busy": {name: pool.busy() for name, pool in self.pools.items()}}

    def finish(self, run, error=None, replace=False):
        with self.lock:
            self.running.pop(run.item["task_id"], None)
            self.done.append({"task_id": run.item["task_id"], "attempt": run.item["attempt"], "error": error})
        if replace:
            run.pool.replace(run.slot)
        else:
            run.slot.release()
        if error is not None:
            self.poller.urgent(self.snapshot())

    def start(self, item):
        pool = self.pools.get(item.get("pool")) or (next(iter(self.pools.values())) if len(self.pools) == 1 else None)
        task_id = item["task_id"]
        if task_id in self.running:
            return  # a repeated run (an answer Lakeray sent twice): already ours
        if pool is not None and pool.slots and not pool.has_idle():
            # Lakeray frees a slot when the task's outcome reaches it, which can be a moment before
            # this driver sees the actor's call return: wait that moment rather than start a cold actor.
            self.check(wait_s=0.2)
        slot = pool.take() if pool is not None else None
        if slot is None:
            error = {"code": "EXECUTOR_ERROR", "message": "no free actor in pool %r" % item.get("pool")}
            with self.lock:
                self.done.append({"task_id": task_id, "attempt": item["attempt"], "error": error})
            self.poller.urgent(self.snapshot())
            return
        refs = slot.start(item, self.api_url)
        with self.lock:
            self.running[task_id] = Running(item, pool, slot, refs)

    def cancel(self, task_id, grace_ms):
        run = self.running.get(task_id)
        if run is None or run.kill_at is not None:
            return
        for actor in run.slot.actors:
            actor.cancel.remote(task_id)
        run.kill_at = time.monotonic() + grace_ms / 1000.0

    def settle(self, run):
        """The task's refs are all ready, or one failed: its outcome."""
        results, dead = [], None
        for rank, ref in enumerate(run.refs):
            try:
                results.append(ray.get(ref, timeout=0))
            except ray.exceptions.GetTimeoutError:
                results.append(None)
            except ray.exceptions.RayError as exc:
                dead = (rank, exc)
                break
        gang = len(run.refs) > 1
        if run.kill_at is not None:  # cancelled: the actor is never reused (its GPU memory is freed)
            error = None if dead is None and all(results) else {"code": "PROCESS_EXITED", "message": "the task was cancelled"}
            self.finish(run, error, replace=True)
        elif dead is not None:
            code = "GANG_RANK_FAILED" if gang else "PROCESS_EXITED"
            self.finish(run, {"code": code, "message": "rank %d's actor died: %s" % (dead[0], str(dead[1]).splitlines()[0])}, replace=True)
        elif not gang:
            self.finish(run)
        else:
            # the rank that failed first, not one still blocked in a collective waiting for it
            failed = ([(rank, r) for rank, r in enumerate(results) if r is not None and not r["ok"]]
                      or [(rank, r) for rank, r in enumerate(results) if r is None])
            if failed:
                rank, r = failed[0]
                why = (r or {}).get("error") or {"code": "SCRIPT_ERROR", "message": "no result"}
                self.finish(run, {"code": "GANG_RANK_FAILED", "message": "rank %d failed: %s: %s" % (rank, why["code"], why["message"])}, replace=True)
            else:
                ray.get(run.slot.actors[0].finish.remote(run.item["task_id"]))
                self.finish(run)

    def check(self, wait_s=0):
        if wait_s:
            self.wait_refs(wait_s)
        now = time.monotonic()
        for run in list(self.running.values()):
            ready, _ = ray.wait(run.refs, num_returns=len(run.refs), timeout=0)
            if len(ready) == len(run.refs) or any(self._failed(r) for r in ready):
                self.settle(run)
            elif run.kill_at is not None and now >= run.kill_at:
                self.finish(run, {"code": "PROCESS_EXITED", "message": "the task was cancelled; its actor was killed after the grace period"}, replace=True)
        for pool in self.pools.values():
            pool.reap_idle(now)

    @staticmethod
    def _failed(ref):
        try:
            r = ray.get(ref, timeout=0)
            return r is not None and not r["ok"]
        except ray.exceptions.RayError:
            return True

    def handle(self, answer, carried):
        with self.lock:
            self.done = [d for d in self.done if d not in carried]
        for item in answer.get("run") or []:
            self.start(item)
        for c in answer.get("cancel") or []:
            self.cancel(c["task_id"], c.get("grace_ms", DEFAULT_GRACE_MS))
        return not answer.get("stop")

    def wait_refs(self, timeout):
        refs = [ref for run in self.running.values() for ref in run.refs]
        if refs:
            ray.wait(refs, num_returns=1, timeout=timeout)
        else:
            time.sleep(timeout)


def main():
    api_url = os.environ["LAKERAY_API_URL"].rstrip("/")
    executor = os.environ["LAKERAY_EXECUTOR"]
    pools_raw = json.loads(os.environ.get("LAKERAY_POOLS") or "{}")
    ray.init()
    pools = {name: Pool(PoolConfig(name, raw)) for name, raw in pools_raw.items()}
    poller = Poller("%s/api/v1/executors/%s/driver/poll" % (api_url, executor),
                    os.environ.get("LAKERAY_EXECUTOR_TOKEN", ""), os.environ.get("LAKERAY_DRIVER_ID", "driver"))
    driver = Driver(api_url, pools, poller)
    threading.Thread(target=poller.loop, args=(driver.snapshot,), name="lakeray-poll", daemon=True).start()
    print("lakeray driver: pools %s, polling %s" % (sorted(pools), poller.url), flush=True)
    try:
        while True:
            try:
                answer, carried = poller.answers.get(timeout=0.02 if driver.running else 0.2)
                if not driver.handle(answer, carried):
                    break
                continue  # drain answers before waiting on refs: a run starts without delay
            except queue.Empty:
                pass
            driver.check()
            driver.wait_refs(0.02)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        raise
    finally:
        poller.stopped = True
        for pool in pools.values():
            pool.shutdown()


if __name__ == "__main__":
    main()
