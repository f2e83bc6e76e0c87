"""A Lakeray task as a Ray job: ``python -u -m lakeray.ray_job`` is the job's entrypoint.

Ray starts it in the job's ``working_dir`` (the script's folder, unpacked), with this package
on the path through ``py_modules``. The job comes in the environment, not on stdin (a Ray job
has none): ``LAKERAY_JOB`` holds the same Job object a local harness reads in a run op
(src/runtime/protocol.ts), its ``script`` relative to the working dir. The script runs exactly
as under ``python -m lakeray --once``: same runner, same context, same sandbox.

Events: with ``LAKERAY_REPORT_URL`` set they go to the platform over HTTP; otherwise they are
written into the job's own log, one protocol line per log line behind ``LOG_MARKER``, which the
executor reads back from Ray's log API (src/executors/ray/job-log-channel.ts). The log needs no
way back from the cluster to the platform. A marker may follow a partial line the script left
without a newline; the reader splits there.

SIGTERM (Ray's stop) raises ``Cancelled`` in the script, as in the local harness; Ray kills
what is left after its RAY_JOB_STOP_WAIT_TIME_S.
"""
import json
import os
import sys

from . import procs
from .__main__ import SIGTERM_EXIT, _fail, _install_sigterm, _strip_cwd_from_path
from .channel import Channel
from .runner import State, describe, run_job

# Record separator + name + unit separator: never in text a script prints by accident.
LOG_MARKER = b"\x1elakeray\x1f"
JOB_ENV = "LAKERAY_JOB"


class LogChannel(Channel):
    """Protocol lines into the job's log (fd 1), each behind LOG_MARKER."""

    def send(self, data):
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        super().send(b"".join(LOG_MARKER + line + b"\n" for line in lines))


def _channel():
    # The stdout fd is shared with the script; the channel writes whole lines with os.write under
    # its lock, so one protocol line never tears (the script's own writes may still precede it).
    return LogChannel(1, on_broken=lambda: procs.shutdown(1))


def _job_from_env(channel, task_id):
    raw = os.environ.get(JOB_ENV)
    if raw is None:
        _fail(channel, task_id, "EXECUTOR_ERROR", "the Ray job carries no %s" % JOB_ENV)
        return None
    try:
        job = json.loads(raw)
    except Exception as exc:  # noqa: BLE001 - ValueError, RecursionError (nested too deeply), MemoryError
        _fail(channel, task_id, "JOB_UNREADABLE",
              "the Python harness could not decode the task's job (params nested too deeply?): %s" % describe(exc))
        return None
    if not isinstance(job, dict) or not isinstance(job.get("script"), str):
        _fail(channel, task_id, "JOB_UNREADABLE", "%s is not a job object with a script" % JOB_ENV)
        return None
    job["script"] = os.path.abspath(job["script"])
    return job


def main():
    procs.become_subreaper()
    sys.stdout.flush()
    channel = _channel()
    _strip_cwd_from_path()
    state = State()
    _install_sigterm(state)
    task_id = os.environ.get("LAKERAY_TASK_ID", "")
    channel.emit({"type": "ready", "pid": os.getpid()})
    job = _job_from_env(channel, task_id)
    if job is not None:
        run_job(job, channel, state)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    procs.shutdown(SIGTERM_EXIT if state.terminating else 0)


if __name__ == "__main__":
    main()
