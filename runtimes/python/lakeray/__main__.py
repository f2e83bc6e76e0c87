"""Lakeray harness: ``python -u -m lakeray [--preload torch,numpy] [--once] [--job FILE]``.

Protocol (src/runtime/protocol.ts): jobs arrive as JSON lines on stdin, events leave as JSON
lines on fd 3 (LAKERAY_EVENTS_FD). Modes:

  preload → ready → idle ⇄ running → (exit op | stdin EOF | --once after one job | SIGTERM)

stdin is read by a thread so that EOF (the platform died) ends the process at once, even in
the middle of a job: no orphan keeps a GPU busy for a server that no longer exists.

Every run op is answered (started … done, or error and done): a job line the harness cannot
decode (nested deeper than the JSON decoder goes, malformed) fails with JOB_UNREADABLE under
the task id the platform writes first on the line, and a reader thread that dies for any other
reason ends the process, so that no task waits forever on a harness that cannot run it. SIGTERM
while a job runs raises ``Cancelled`` in the main thread so the script's finally blocks run;
the harness then reports and exits (a cancelled worker is never reused). SIGTERM while idle
exits immediately.

One job given up front (``--job FILE``, ``-`` for stdin, or the job's JSON in LAKERAY_JOB): the
harness runs it and exits, reading no ops from stdin — the entrypoint of a task on another
machine (a Ray job). With LAKERAY_REPORT_URL set, events go over HTTP (http_channel.py) instead
of fd 3, and the harness exits only once the platform acked them all (exit code 1 if it never
did, within LAKERAY_REPORT_RETRY_S).
"""
import importlib
import json
import os
import queue
import re
import signal
import sys
import threading
import time
import traceback

from . import procs
from .channel import Channel, encode
from .runner import Cancelled, State, describe, run_job

SIGTERM_EXIT = 128 + signal.SIGTERM
# The start of every run line the platform writes (runtime/protocol.ts runLine): the task id
# can be read from it even when the rest of the line cannot be decoded.
_RUN_PREFIX = re.compile(rb'\s*\{"op":"run","task_id":("(?:[^"\\]|\\.)*")')


def _parse_args(argv):
    import argparse  # not at the top: ray_job imports this module and parses no arguments

    parser = argparse.ArgumentParser(prog="python -m lakeray", description="Lakeray task harness")
    parser.add_argument("--preload", default="", help="comma-separated modules imported before the first job")
    parser.add_argument("--once", action="store_true", help="run exactly one job, then exit")
    parser.add_argument("--job", default=None,
                        help="run this one job (a JSON file, - for stdin; or set LAKERAY_JOB) and exit, reading no ops")
    return parser.parse_args(argv)


def _given_job(args):
    """The job given up front, or None (jobs then come as run ops on stdin)."""
    if args.job is not None:
        raw = sys.stdin.read() if args.job == "-" else open(args.job, encoding="utf-8").read()
    elif os.environ.get("LAKERAY_JOB"):
        raw = os.environ["LAKERAY_JOB"]
    else:
        return None
    job = json.loads(raw)
    if not isinstance(job, dict) or not isinstance(job.get("task_id"), str) or not isinstance(job.get("script"), str):
        raise SystemExit("lakeray: the job must be a JSON object with task_id and script")
    # Where the platform is and who the task is: from the process's environment unless the job says.
    env = job.setdefault("env", {})
    for key in ("LAKERAY_TASK_ID", "LAKERAY_TASK_TOKEN", "LAKERAY_API_URL", "LAKERAY_REPORT_URL", "LAKERAY_ATTEMPT"):
        if key in os.environ:
            env.setdefault(key, os.environ[key])
    env.setdefault("LAKERAY_TASK_ID", job["task_id"])
    env.setdefault("LAKERAY_ATTEMPT", str(job.get("attempt") or 1))
    return job


def _open_channel(job):
    """HTTP when the platform asked for it (LAKERAY_REPORT_URL), else the fd-3 pipe."""
    report_url = os.environ.get("LAKERAY_REPORT_URL") or (job or {}).get("env", {}).get("LAKERAY_REPORT_URL")
    if report_url:
        if job is None:
            raise SystemExit("lakeray: LAKERAY_REPORT_URL needs the job given up front (--job or LAKERAY_JOB)")
        token = job["env"].get("LAKERAY_TASK_TOKEN") or os.environ.get("LAKERAY_TASK_TOKEN", "")
        from .http_channel import HttpChannel  # only here: a local harness never loads http.client
        return HttpChannel(report_url, job["task_id"], int(job.get("attempt") or 1), token)
    fd = procs.private_fd(int(os.environ.get("LAKERAY_EVENTS_FD", "3")))
    return Channel(fd, on_broken=lambda: procs.shutdown(1))


def _install_sigterm(state):
    def on_sigterm(signum, frame):
        state.terminating = True
        ctx = state.current
        if ctx is None:
            procs.shutdown(SIGTERM_EXIT)
        if ctx._cancelled:
            return  # raised once already: let the script's cleanup finish (SIGKILL follows the grace period)
        ctx._cancelled = True
        raise Cancelled("task %s cancelled" % ctx.task_id)

    signal.signal(signal.SIGTERM, on_sigterm)


def _task_id_of(raw):
    match = _RUN_PREFIX.match(raw)
    if match is None:
        return None
    try:
        task_id = json.loads(match.group(1))
    except ValueError:
        return None
    return task_id if isinstance(task_id, str) else None


def _read_line(raw, inbox, state):
    try:
        msg = json.loads(raw)
    except Exception as exc:  # noqa: BLE001 - ValueError, RecursionError (nested too deeply), MemoryError
        task_id = _task_id_of(raw)
        if task_id is None:
            sys.stderr.write("lakeray: ignoring a malformed stdin line\n")
        else:
            inbox.put({"op": "unreadable", "task_id": task_id, "message": describe(exc)})
        return
    if not isinstance(msg, dict):
        return
    if msg.get("op") == "cancel":
        ctx = state.current
        if ctx is not None and ctx.task_id == msg.get("task_id"):
            os.kill(os.getpid(), signal.SIGTERM)
        return
    inbox.put(msg)


def _read_stdin(inbox, state):
    try:
        for raw in sys.stdin.buffer:
            _read_line(raw, inbox, state)
    except BaseException:  # noqa: BLE001 - a dead reader would leave every job waiting: leave instead
        traceback.print_exc()
        procs.shutdown(1)
    procs.shutdown(1)  # stdin EOF: the platform is gone


def _fail(channel, task_id, code, message):
    """Answer a run op that could not run: its error, then done."""
    channel.send(encode({"type": "error", "task_id": task_id, "code": code, "message": message})
                 + encode({"type": "done", "task_id": task_id}))


def _run(msg, channel, state):
    job = msg.get("job")
    task_id = msg.get("task_id")
    if not isinstance(job, dict):
        if isinstance(task_id, str):
            _fail(channel, task_id, "JOB_UNREADABLE", "the run op carries no job object")
        return
    try:
        run_job(job, channel, state)
    except Exception as exc:  # noqa: BLE001 - a bug of the harness must not leave the task waiting
        traceback.print_exc()
        _fail(channel, str(job.get("task_id", task_id)), "EXECUTOR_ERROR", "the harness failed to run the job: %s" % describe(exc))


def _forget_safe_path():
    # The platform set PYTHONSAFEPATH for this interpreter only; a `python tool.py` the script
    # runs should get the usual sys.path.
    if os.environ.get("LAKERAY_HARNESS") == "1":
        os.environ.pop("PYTHONSAFEPATH", None)


def _strip_cwd_from_path():
    # `-m` puts the start directory first on sys.path; a script's sibling `json.py` must not
    # shadow the standard library for the harness and the preload. Scripts get their own
    # directory on sys.path while they run.
    cwd = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".", cwd)]


def main(argv=None):
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    procs.become_subreaper()
    job = _given_job(args)
    channel = _open_channel(job)
    _strip_cwd_from_path()
    _forget_safe_path()
    state = State()
    _install_sigterm(state)

    started = time.monotonic()
    for name in filter(None, (m.strip() for m in args.preload.split(","))):
        try:
            importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001
            traceback.print_exc()
            channel.emit({"type": "error", "task_id": "", "code": "EXECUTOR_ERROR",
                          "message": "preload of %r failed: %s: %s" % (name, type(exc).__name__, exc)})
            channel.close()
            procs.shutdown(1)
    channel.emit({"type": "ready", "pid": os.getpid(), "preload_ms": round((time.monotonic() - started) * 1000, 1)})
    if job is not None:
        _run({"op": "run", "task_id": job["task_id"], "job": job}, channel, state)
        delivered = channel.close()
        procs.shutdown(SIGTERM_EXIT if state.terminating else (0 if delivered else 1))

    inbox = queue.Queue()
    threading.Thread(target=_read_stdin, args=(inbox, state), name="lakeray-stdin", daemon=True).start()
    while True:
        msg = inbox.get()
        op = msg.get("op")
        if op == "exit":
            break
        if op == "run":
            _run(msg, channel, state)
            if args.once or state.terminating:
                break
        elif op == "unreadable":
            _fail(channel, msg["task_id"], "JOB_UNREADABLE",
                  "the Python harness could not decode the task's job (params nested too deeply?): %s" % msg["message"])
            if args.once:
                break
        else:
            sys.stderr.write("lakeray: ignoring unknown op %r\n" % (op,))
    procs.shutdown(SIGTERM_EXIT if state.terminating else 0)


if __name__ == "__main__":
    main()
