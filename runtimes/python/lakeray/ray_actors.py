"""A warm Lakeray worker as a Ray actor (mode ``actors``, issue 12 contract D).

The driver (ray_driver.py) makes these actors per pool. An actor imports its pool's preload once,
then runs one job at a time with the harness's own ``run_job`` (runner.py), so a script runs
exactly as in a local warm worker: same sandbox, same context. Events go straight from the actor
to Lakeray over HTTP with the task's own token (contract B), never through the driver.

The actor is threaded (max_concurrency 2) only so that ``cancel`` can run while ``run`` is busy:
it raises ``Cancelled`` in the thread running the script, as the local harness's SIGTERM handler
does in its main thread. The driver never gives an actor a second job while one runs.

A job's script comes as a content-addressed package (``gcs://_ray_pkg_<sha256>.zip``, the same
packages the job mode uploads as ``working_dir``), unpacked once per actor node; without one,
``job.script`` must be a path the actor can read.
"""
import ctypes
import json
import os
import shutil
import tempfile
import threading
import time
import zipfile

from . import ray_gang
from .runner import Cancelled, State, describe, run_job

from .http_channel import HttpChannel

_PACKAGES = os.path.join(tempfile.gettempdir(), "lakeray-ray-packages")


def package_dir(uri):
    """The unpacked folder of a gcs:// package, fetched from the cluster's KV store once."""
    name = uri.rsplit("/", 1)[-1]
    if name.endswith(".zip"):
        name = name[:-4]
    target = os.path.join(_PACKAGES, name)
    if os.path.isdir(target):
        return target
    from ray.experimental.internal_kv import _internal_kv_get

    data = _internal_kv_get(uri)
    if data is None:
        raise FileNotFoundError("package %s is not on the cluster (expired before this task ran?)" % uri)
    os.makedirs(_PACKAGES, exist_ok=True)
    staging = tempfile.mkdtemp(dir=_PACKAGES, prefix=".unpack-")
    zip_path = os.path.join(staging, "pkg.zip")
    with open(zip_path, "wb") as f:
        f.write(data)
    out = os.path.join(staging, "files")
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            z.extract(info, out)
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                os.chmod(os.path.join(out, info.filename), mode & 0o777)
    try:
        os.rename(out, target)  # atomic: a concurrent unpack of the same package loses harmlessly
    except OSError:
        pass
    shutil.rmtree(staging, ignore_errors=True)
    return target


def prepare_job(item):
    """The run item's job with an absolute script path (inside its package when it has one)."""
    job = dict(item["job"])
    if item.get("package"):
        job["script"] = os.path.join(package_dir(item["package"]), job["script"])
    job["script"] = os.path.abspath(job["script"])
    env = dict(job.get("env") or {})
    env.setdefault("LAKERAY_TASK_TOKEN", item.get("token", ""))
    job["env"] = env
    return job


class _Outcome:
    """Wraps a channel: watches for the job's outcome and, when asked, holds it back.

    run_job sends the outcome and ``done`` in one final send(); a gang's rank 0 holds that send
    until the driver knows every rank finished, so one failing rank can still fail the task.
    """

    def __init__(self, inner, hold):
        self._inner = inner
        self._hold = hold
        self.held = None
        self.error = None
        self.ok = False

    def emit(self, message):
        if self._inner is not None:
            self._inner.emit(message)

    def send(self, data):
        for line in data.decode("utf-8").splitlines():
            msg = json.loads(line) if line.strip() else {}
            if msg.get("type") == "result":
                self.ok = True
            elif msg.get("type") == "error":
                self.error = {"code": msg.get("code") or "SCRIPT_ERROR", "message": msg.get("message", "")}
        if self._hold and b'"type":"done"' in data:
            self.held = data
        elif self._inner is not None:
            self._inner.send(data)


class TaskActor:
    """Decorated with ray.remote by the driver (resources per pool)."""

    def __init__(self, pool, preload, rank=0, world_size=1):
        started = time.monotonic()
        self.pool = pool
        self.rank = rank
        self.world_size = world_size
        self.state = State()
        self.running = None  # (task_id, thread ident) of the job now running
        self.channel = None
        self.lock = threading.Lock()
        import importlib

        for name in preload:
            importlib.import_module(name)  # a failing preload fails the actor's creation: the driver sees it
        self.preload_ms = round((time.monotonic() - started) * 1000, 1)

    def info(self):
        import ray

        ctx = ray.get_runtime_context()
        return {"actor_id": ctx.get_actor_id(), "node_id": ctx.get_node_id(), "pid": os.getpid(),
                "preload_ms": self.preload_ms, "ip": ray.util.get_node_ip_address()}

    def rendezvous(self):
        """Rank 0: the address every rank of the gang meets at."""
        return ray_gang.rendezvous_address()

    def join_gang(self, address, after=None):
        ray_gang.join(address, self.rank, self.world_size)
        return True

    def run(self, item, api_url, hold=False, report=True, after=None):
        """Run one job; returns {"ok", "error"}. With hold, the outcome waits for finish()."""
        task_id = item["task_id"]
        inner = HttpChannel(api_url, task_id, item["attempt"], item["token"]) if report else None
        watch = _Outcome(inner, hold)
        with self.lock:
            self.running = (task_id, threading.get_ident())
            self.channel = watch
        try:
            job = prepare_job(item)
            if inner is not None:
                # Which actor runs it, before run() starts: the platform stores it with the task.
                ids = self.info()
                inner.emit({"type": "ready", "pid": ids["pid"], "actor_id": ids["actor_id"], "node_id": ids["node_id"]})
            if self.world_size > 1:
                job["env"].update(ray_gang.env(self.rank, self.world_size))
                ray_gang.ensure_setup(job)
            run_job(job, watch, self.state)
        except Cancelled:
            watch.error = {"code": "PROCESS_EXITED", "message": "the task was cancelled"}
        except Exception as exc:  # noqa: BLE001 - a job that cannot be prepared fails, the actor lives on
            watch.error = {"code": "EXECUTOR_ERROR", "message": "the actor could not run the job: %s" % describe(exc)}
            if inner is not None and not hold:
                inner.emit({"type": "error", "task_id": task_id, **watch.error})
                inner.emit({"type": "done", "task_id": task_id})
        finally:
            with self.lock:
                self.running = None
        if inner is not None and not hold:
            inner.close()
        return {"ok": watch.ok and watch.error is None, "error": watch.error}

    def finish(self, task_id, error=None):
        """Rank 0 of a gang: send the held outcome, or the gang's error in its place."""
        watch, self.channel = self.channel, None
        if watch is None or watch._inner is None:
            return False
        if error is None and watch.held is not None:
            watch._inner.send(watch.held)
        else:
            watch._inner.emit(dict({"type": "error", "task_id": task_id}, **error))
            watch._inner.emit({"type": "done", "task_id": task_id})
        watch._inner.close()
        return True

    def cancel(self, task_id):
        """Raise Cancelled in the thread running task_id (its finally blocks run). False if idle."""
        with self.lock:
            running = self.running
            ctx = self.state.current
            if running is None or running[0] != task_id:
                return False
            if ctx is not None:
                ctx._cancelled = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(running[1]), ctypes.py_object(Cancelled))
        return True
