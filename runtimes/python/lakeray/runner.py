"""Run one job: load the script as a fresh module, call its ``run``, report the outcome.

A warm worker runs many jobs in one interpreter, so each job runs inside a sandbox of
process-global state that is restored afterwards: environment, working directory, sys.path,
sys.argv, stdout/stderr, and the modules the script imported from its own directory (so an
edited helper module is picked up by the next job, while preloaded libraries stay loaded).
"""
import asyncio
import inspect
import importlib.util
import os
import sys
import time
import traceback

from . import context as context_module
from .channel import encode
from .context import Context

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class Cancelled(BaseException):
    """Raised in the main thread when the task is cancelled (SIGTERM), like KeyboardInterrupt:
    it derives from BaseException so ``except Exception`` in a script does not swallow it."""


class ScriptError(Exception):
    """A problem with the script itself (no run function, cannot be loaded)."""


class State:
    """What the SIGTERM handler needs to know: the running task, if any."""

    def __init__(self):
        self.current = None
        self.terminating = False
        self.jobs = 0


def _takes_ctx(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return True
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)) >= 4


def _load_run(script, module_name):
    spec = importlib.util.spec_from_file_location(module_name, script)
    if spec is None or spec.loader is None:
        raise ScriptError("cannot load %s as a Python module" % script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickle look the module up by name
    spec.loader.exec_module(module)
    fn = getattr(module, "run", None)
    if not callable(fn):
        raise ScriptError("%s does not define a function run(input_path, output_path, params[, ctx])" % script)
    return fn


def _script_traceback(exc):
    """The traceback without the harness's own frames: the user wants to see their code."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(_PACKAGE_DIR) and not f.filename.startswith("<frozen")
    ]
    lines = ["Traceback (most recent call last):\n"] + traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    if exc.__cause__ is not None:
        lines = [_script_traceback(exc.__cause__), _CAUSE] + lines
    elif exc.__context__ is not None and not exc.__suppress_context__:
        lines = [_script_traceback(exc.__context__), _CONTEXT] + lines
    return "".join(lines)


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _describe(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


class _Sandbox:
    def __init__(self, job):
        self.script = os.path.abspath(job["script"])
        self.script_dir = os.path.dirname(self.script)
        self.env = {str(k): str(v) for k, v in (job.get("env") or {}).items()}

    def __enter__(self):
        self.saved_env = dict(os.environ)
        try:
            self.saved_cwd = os.getcwd()
        except OSError:
            self.saved_cwd = None
        self.saved_path = list(sys.path)
        self.saved_argv = list(sys.argv)
        self.saved_streams = (sys.stdout, sys.stderr)
        self.saved_modules = set(sys.modules)
        os.environ.update(self.env)
        sys.path.insert(0, self.script_dir)
        sys.argv = [self.script]
        os.chdir(self.script_dir)
        return self

    def __exit__(self, *exc):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a broken replacement stream must not break the worker
                pass
        sys.stdout, sys.stderr = self.saved_streams
        os.environ.clear()
        os.environ.update(self.saved_env)
        sys.path[:] = self.saved_path
        sys.argv = self.saved_argv
        if self.saved_cwd is not None:
            try:
                os.chdir(self.saved_cwd)
            except OSError:
                pass
        prefix = self.script_dir + os.sep
        for name in set(sys.modules) - self.saved_modules:
            origin = getattr(sys.modules.get(name), "__file__", None) or ""
            if name.startswith("lakeray_job_") or origin.startswith(prefix):
                sys.modules.pop(name, None)
        return False


def _cuda_initialized():
    torch = sys.modules.get("torch")
    try:
        return bool(torch is not None and torch.cuda.is_initialized())
    except Exception:  # noqa: BLE001
        return False


def run_job(job, channel, state):
    """Run a job and emit started?, result|error, done. Never raises (except on a broken channel)."""
    task_id = str(job.get("task_id", ""))
    state.jobs += 1
    ctx = Context(channel, job)
    outcome = None
    try:
        state.current = ctx
        context_module._set_current(ctx)
        with _Sandbox(job):
            try:
                fn = _load_run(job["script"], "lakeray_job_%d" % state.jobs)
                args = [job.get("input"), job.get("output"), ctx.params]
                if _takes_ctx(fn):
                    args.append(ctx)
                channel.emit({"type": "started", "task_id": task_id, "ts": time.time() * 1000})
                value = fn(*args)
                if inspect.iscoroutine(value):
                    value = asyncio.run(value)
                try:
                    outcome = encode({"type": "result", "task_id": task_id, "value": value})
                except (TypeError, ValueError) as exc:
                    outcome = encode({"type": "error", "task_id": task_id, "code": "SCRIPT_ERROR",
                                      "message": "run() returned a value that is not JSON-serializable: %s" % exc})
            except Cancelled:
                outcome = encode({"type": "error", "task_id": task_id, "code": "PROCESS_EXITED",
                                  "message": "the task was terminated (SIGTERM)"})
            except ScriptError as exc:
                outcome = encode({"type": "error", "task_id": task_id, "code": "SCRIPT_ERROR", "message": str(exc)})
            except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are script errors too
                outcome = encode({"type": "error", "task_id": task_id, "code": "SCRIPT_ERROR",
                                  "message": _describe(exc), "traceback": _script_traceback(exc)})
    except Cancelled:
        # SIGTERM while the sandbox was being set up or torn down: still a clean cancellation.
        outcome = outcome or encode({"type": "error", "task_id": task_id, "code": "PROCESS_EXITED",
                                     "message": "the task was terminated (SIGTERM)"})
    finally:
        ctx._close()
        context_module._set_current(None)
        state.current = None
    channel.send(outcome)
    done = {"type": "done", "task_id": task_id}
    if _cuda_initialized():
        # This process is now bound to the devices it initialized CUDA with; the pool must only
        # give it jobs with the same CUDA_VISIBLE_DEVICES.
        done["cuda_initialized"] = True
    channel.emit(done)
