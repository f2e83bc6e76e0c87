"""A Lakeray task as a Ray job: ``python -u -m lakeray.ray_job`` is the job's entrypoint.

Ray starts it in the job's ``working_dir`` (the script's folder, unpacked), with this package
on the path through ``py_modules``. The job comes in the environment, not on stdin (a Ray job
has none): ``LAKERAY_JOB`` holds the same Job object a local harness reads in a run op
(src/runtime/protocol.ts), its ``script`` relative to the working dir. The script runs exactly
as under ``python -m lakeray --once``: same runner, same context, same sandbox.

Events go to the platform over HTTP (http_channel.py): ``LAKERAY_REPORT_URL`` and the task's
``LAKERAY_TASK_TOKEN`` are in the job's runtime env. The harness exits only once the platform
acked everything it reported (its result or error above all), so Ray says SUCCEEDED only after
the outcome is stored; exit code 1 if it never was, within LAKERAY_REPORT_RETRY_S. What the
script prints stays in the job's log, which the executor reads as the task's log.

SIGTERM (Ray's stop) raises ``Cancelled`` in the script, as in the local harness; Ray kills
what is left after its RAY_JOB_STOP_WAIT_TIME_S.
"""
import json
import os
import sys

from . import procs
from .__main__ import SIGTERM_EXIT, _fail, _install_sigterm, _strip_cwd_from_path
from .http_channel import HttpChannel
from .runner import State, describe, run_job

JOB_ENV = "LAKERAY_JOB"


def _channel(task_id):
    url = os.environ.get("LAKERAY_REPORT_URL")
    if not url:
        # Nobody to report to: Ray says FAILED, and the executor shows this line from the log.
        sys.stderr.write("lakeray: the Ray job has no LAKERAY_REPORT_URL to report to\n")
        sys.stderr.flush()
        procs.shutdown(1)
    attempt = int(os.environ.get("LAKERAY_ATTEMPT") or 1)
    return HttpChannel(url, task_id, attempt, os.environ.get("LAKERAY_TASK_TOKEN", ""))


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
    task_id = os.environ.get("LAKERAY_TASK_ID", "")
    channel = _channel(task_id)
    _strip_cwd_from_path()
    state = State()
    _install_sigterm(state)
    channel.emit({"type": "ready", "pid": os.getpid()})
    job = _job_from_env(channel, task_id)
    if job is not None:
        run_job(job, channel, state)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    delivered = channel.close()
    procs.shutdown(SIGTERM_EXIT if state.terminating else (0 if delivered else 1))


if __name__ == "__main__":
    main()
