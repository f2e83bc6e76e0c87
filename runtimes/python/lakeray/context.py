"""``ctx``: what a running script can tell the platform (progress, logs, metrics, artifacts),
and the lake I/O it may do (datasets and models as Arrow, see ``lake.py``).

Events go out on the harness channel tagged with the task id. Once the task has finished,
its context goes quiet: a thread the script left running cannot write into the next task's
log in a reused warm worker.
"""
import math
import os
import threading
import time

_LEVELS = {"debug": "debug", "info": "info", "warn": "warn", "warning": "warn", "error": "error", "critical": "error"}

_current = None
_current_lock = threading.Lock()


def get_context():
    """The running task's context (None between tasks)."""
    return _current


def _set_current(ctx):
    global _current
    with _current_lock:
        _current = ctx


def _finite_or_none(value):
    value = float(value)
    return value if math.isfinite(value) else None


class Context:
    def __init__(self, channel, job):
        self._channel = channel
        self._closed = False
        self._cancelled = False
        self.task_id = str(job["task_id"])
        self.attempt = int(job.get("attempt") or 1)
        self.params = job.get("params") or {}
        self.input_path = job.get("input")
        self.output_path = job.get("output")
        self.started_at = time.time()
        self._env = job.get("env") or {}  # LAKERAY_API_URL, LAKERAY_TASK_TOKEN… for the lake client
        self._lake = None
        self._reported_artifact = False  # the work dir is then the platform's to clean up
        #: The task's own empty directory (LAKERAY_WORK_DIR): files written here and reported with
        #: artifact() are moved into the artifact store; the rest is removed when the task ends.
        self.work_dir = self._env.get("LAKERAY_WORK_DIR")

    @property
    def cancelled(self):
        """True once the platform asked this task to stop (SIGTERM); useful in finally blocks and threads."""
        return self._cancelled

    def _emit(self, message):
        if self._closed:
            return
        message["task_id"] = self.task_id
        self._channel.emit(message)

    def progress(self, fraction, message=None, step=None, total=None):
        fraction = float(fraction)
        if math.isnan(fraction):
            raise ValueError("progress fraction must be a number between 0 and 1, got NaN")
        event = {"type": "progress", "fraction": min(1.0, max(0.0, fraction)), "message": None if message is None else str(message)}
        if step is not None:
            event["step"] = int(step)
        if total is not None:
            event["total"] = int(total)
        self._emit(event)

    def log(self, message, level="info"):
        self._emit({"type": "log", "level": _LEVELS.get(str(level).lower(), "info"), "message": str(message)})

    def metric(self, name, value, step=None):
        # A NaN loss must not crash a training run: it is reported as null.
        event = {"type": "metric", "name": str(name), "value": _finite_or_none(value)}
        if step is not None:
            event["step"] = int(step)
        self._emit(event)

    def artifact(self, path, name=None, content_type=None):
        path = os.path.abspath(os.fspath(path))
        if not os.path.exists(path):
            raise FileNotFoundError("artifact %s does not exist" % path)
        event = {"type": "artifact", "path": path, "name": name or os.path.basename(path)}
        self._reported_artifact = True
        if not content_type:
            import mimetypes  # lazily: only artifacts need it, and it costs every job start ~13 ms

            content_type = mimetypes.guess_type(path)[0]
        if content_type:
            event["content_type"] = content_type
        self._emit(event)

    # ------------------------------------------------------------------ lake I/O (lake.py)
    # Names default to the task's input (reads) and output (writes). pyarrow is imported only
    # when one of these is called.

    @property
    def lake(self):
        """The task's ``lakeray.lake.LakeClient`` (API URL, task id and token from the job)."""
        if self._lake is None:
            from .lake import LakeClient
            self._lake = LakeClient(task_id=self.task_id, env=self._env)
        return self._lake

    @property
    def versions_read(self):
        """{name: version} of every dataset and model this task read."""
        return self.lake.versions_read

    def read_dataset(self, name=None, columns=None, filter=None, version=None):
        """A dataset of the lake as a ``pyarrow.Table`` (default: the task's input)."""
        return self.lake.read_dataset(self.input_path if name is None else name,
                                      columns=columns, filter=filter, version=version)

    def iter_dataset(self, name=None, columns=None, filter=None, version=None):
        """The dataset's record batches, as they arrive (default: the task's input)."""
        return self.lake.iter_dataset(self.input_path if name is None else name,
                                      columns=columns, filter=filter, version=version)

    def write_dataset(self, data, name=None, mode="overwrite"):
        """Write a table as a new version of a dataset (default: the task's output)."""
        return self.lake.write_dataset(data, self.output_path if name is None else name, mode=mode)

    def write_model(self, name=None, files=None, metrics=None, params=None):
        """Store a model's files with its metrics and params (default name: the task's output)."""
        return self.lake.write_model(self.output_path if name is None else name, files,
                                     metrics=metrics, params=params)

    def read_model(self, name=None, version=None):
        """A model's files, metrics, params and lineage (default: the task's input)."""
        return self.lake.read_model(self.input_path if name is None else name, version=version)

    def _close(self):
        self._closed = True

    def __repr__(self):
        return "Context(task_id=%r, attempt=%r)" % (self.task_id, self.attempt)
