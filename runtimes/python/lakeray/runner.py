"""Run one job: load the script as a fresh module, call its ``run``, report the outcome.

A warm worker runs many jobs in one interpreter, so each job runs inside a sandbox of
process-global state that is restored afterwards: environment, working directory, sys.path,
sys.argv, stdout/stderr, and the modules the script imported from its own directory (so an
edited helper module is picked up by the next job, while preloaded libraries stay loaded).

Every job executes the script in a fresh module namespace, but the script's compiled code is
kept per worker and reused while the file is unchanged (same mtime, ctime, size and inode):
a warm worker recompiles a script only when its file changes.
"""
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import time
import traceback
import types

from . import context as context_module
from .channel import encode
from .context import Context

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class Cancelled(BaseException):
    """Raised in the main thread when the task is cancelled (SIGTERM), like KeyboardInterrupt:
    it derives from BaseException so ``except Exception`` in a script does not swallow it."""


class ScriptError(Exception):
    """A problem with the script itself (no run function, cannot be loaded)."""


class StepError(Exception):
    """A failure in a named step of a script (e.g. "render", "postprocess"): the task's error
    gets ``step``. Any exception with a non-empty string attribute ``step`` does the same."""

    def __init__(self, step, message=""):
        super().__init__(message)
        self.step = str(step)


class TaskError(Exception):
    """A failure the script can name: the task fails with ``code`` (a task error code of
    docs/errors.md, e.g. ``INPUT_NOT_FOUND``) instead of ``SCRIPT_ERROR``, so a caller can tell
    "your data is missing" from "the script crashed". An unknown code becomes SCRIPT_ERROR."""

    def __init__(self, code, message=""):
        super().__init__(message)
        self.code = str(code)[:64]


def _step_of(exc):
    step = getattr(exc, "step", None)
    return step[:200] if isinstance(step, str) and step else None


class State:
    """What the SIGTERM handler needs to know: the running task, if any."""

    def __init__(self):
        self.current = None
        self.terminating = False
        self.jobs = 0


_CO_VARARGS = 0x04  # inspect.CO_VARARGS, without importing inspect at every job start


def _takes_ctx(fn):
    if type(fn) is types.FunctionType and not fn.__dict__:
        # A plain function (no __wrapped__ or __signature__ to follow): its code object says it
        # all, without the cost of inspect.signature on every job.
        code = fn.__code__
        return bool(code.co_flags & _CO_VARARGS) or code.co_argcount >= 4
    import inspect  # only for callables the code object cannot answer for: ~14 ms of imports otherwise

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return True
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)) >= 4


# script path → (file stamp, code object, __cached__): compiled once per version of the file.
_compiled = {}


def _cache_path(script):
    try:
        return importlib.util.cache_from_source(script)
    except NotImplementedError:  # no bytecode cache on this interpreter
        return None


def _compiled_script(script, loader, module_name):
    """(code, __cached__) of the script, compiled (or read from __pycache__) only when the file changed."""
    st = os.stat(script)  # a missing script raises FileNotFoundError, as an import would
    stamp = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
    hit = _compiled.get(script)
    if hit is not None and hit[0] == stamp:
        return hit[1], hit[2]
    if hit is not None:
        # Changed since this worker compiled it. Python validates a .pyc by the source's mtime in
        # whole seconds and its size, so an edit within the second the .pyc was written, keeping
        # the size (VERSION = 1 → 2), would load the old code from it: drop it, compile afresh.
        try:
            os.remove(hit[2])
        except (OSError, TypeError):  # none written (read-only, PYTHONDONTWRITEBYTECODE), or no cache path
            pass
    code = loader.get_code(module_name)  # as exec_module does: uses and writes __pycache__ like an import
    _compiled[script] = (stamp, code, _cache_path(script))
    return code, _compiled[script][2]


def _load_run(script, module_name):
    """A fresh module namespace for every job, as importlib's exec_module gives, minus the compile."""
    loader = importlib.machinery.SourceFileLoader(module_name, script)
    code, cached = _compiled_script(script, loader, module_name)
    spec = importlib.machinery.ModuleSpec(module_name, loader, origin=script)
    spec.has_location = True  # __file__ = origin
    spec.cached = cached
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickle look the module up by name
    exec(code, module.__dict__)
    fn = getattr(module, "run", None)
    if not callable(fn):
        raise ScriptError("%s does not define a function run(input_path, output_path, params[, ctx])" % script)
    return fn


class _CachedSourceLoader(importlib.machinery.SourceFileLoader):
    """Loads a module of the script's directory from code compiled once per version of its file."""

    def get_code(self, fullname):
        return _compiled_script(self.path, importlib.machinery.SourceFileLoader(fullname, self.path), fullname)[0]


class _ScriptDirFinder:
    """Sits just before PathFinder while a job runs. The modules a script imports from its own
    directory are dropped after every job (so an edited helper is seen by the next one) and
    imported again by the next job: without this finder each of them would be compiled again
    whenever no bytecode cache can be written (read-only checkouts, PYTHONDONTWRITEBYTECODE),
    tens of milliseconds per job for a script with a few helper modules."""

    def __init__(self, directory):
        self._prefix = directory + os.sep

    def find_spec(self, name, path=None, target=None):
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        loader = getattr(spec, "loader", None)
        if type(loader) is importlib.machinery.SourceFileLoader and (spec.origin or "").startswith(self._prefix):
            spec.loader = _CachedSourceLoader(loader.name, loader.path)
        return spec


def _before_path_finder(finder):
    meta = sys.meta_path
    at = next((i for i, f in enumerate(meta) if f is importlib.machinery.PathFinder), len(meta))
    meta.insert(at, finder)


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


def describe(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def _env_snapshot():
    # CPython keeps the encoded environment in os.environ._data: copying that dict is ~100×
    # cheaper than dict(os.environ), which decodes every entry.
    data = getattr(os.environ, "_data", None)
    return dict(data) if isinstance(data, dict) else dict(os.environ)


def _restore_env(saved):
    """Put the environment back as it was, touching (putenv/unsetenv) only what changed."""
    env = os.environ
    data = getattr(env, "_data", None)
    if not isinstance(data, dict):
        env.clear()
        env.update(saved)
        return
    if data == saved:
        return
    for key in [k for k in data if k not in saved]:
        del env[env.decodekey(key)]
    for key, value in saved.items():
        if data.get(key) != value:
            env[env.decodekey(key)] = env.decodevalue(value)


def _new_keys(before, after):
    """Names in `after` (sys.modules now) that were not in `before` (both in dict order)."""
    n = len(before)
    if after[:n] == before:
        return after[n:]  # the common case: modules were only added, and dicts keep insertion order
    old = set(before)
    return [name for name in after if name not in old]


class _Sandbox:
    def __init__(self, job):
        self.script = os.path.abspath(job["script"])
        self.script_dir = os.path.dirname(self.script)
        self.env = {str(k): str(v) for k, v in (job.get("env") or {}).items()}

    def __enter__(self):
        self.saved_env = _env_snapshot()
        try:
            self.saved_cwd = os.getcwd()
        except OSError:
            self.saved_cwd = None
        self.saved_path = list(sys.path)
        self.saved_argv = list(sys.argv)
        self.saved_streams = (sys.stdout, sys.stderr)
        self.saved_modules = list(sys.modules)
        os.environ.update(self.env)
        sys.path.insert(0, self.script_dir)
        self.finder = _ScriptDirFinder(self.script_dir)
        _before_path_finder(self.finder)
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
        _restore_env(self.saved_env)
        sys.path[:] = self.saved_path
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        sys.argv = self.saved_argv
        if self.saved_cwd is not None:
            try:
                os.chdir(self.saved_cwd)
            except OSError:
                pass
        prefix = self.script_dir + os.sep
        for name in _new_keys(self.saved_modules, list(sys.modules)):
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


def _remove_work_dir(ctx):
    """The job's work dir, unless it reported an artifact (the platform moves those files out,
    then removes the directory itself)."""
    if not ctx.work_dir or ctx._reported_artifact:
        return
    try:
        os.rmdir(ctx.work_dir)  # the usual case: empty
    except FileNotFoundError:
        pass
    except OSError:
        shutil.rmtree(ctx.work_dir, ignore_errors=True)


def run_job(job, channel, state):
    """Run a job and emit started?, result|error, done. Never raises (except on a broken channel)."""
    task_id = str(job.get("task_id", ""))
    state.jobs += 1
    ctx = Context(channel, job)
    outcome = None
    try:
        if ctx.work_dir:
            # Made here, in the task's process, not by the server: most tasks never use it, and
            # the server's event loop should not pay two file-system calls per task for them.
            os.makedirs(ctx.work_dir, exist_ok=True)
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
                if isinstance(value, types.CoroutineType):
                    import asyncio  # here, not at the top: 50 ms of imports every job start pays otherwise

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
                if isinstance(exc, TaskError):  # a failure the script named: its message says it all
                    error = {"type": "error", "task_id": task_id, "code": exc.code, "message": str(exc)}
                else:
                    error = {"type": "error", "task_id": task_id, "code": "SCRIPT_ERROR",
                             "message": describe(exc), "traceback": _script_traceback(exc)}
                step = _step_of(exc)
                if step is not None:
                    error["step"] = step
                outcome = encode(error)
    except Cancelled:
        # SIGTERM while the sandbox was being set up or torn down: still a clean cancellation.
        outcome = outcome or encode({"type": "error", "task_id": task_id, "code": "PROCESS_EXITED",
                                     "message": "the task was terminated (SIGTERM)"})
    except OSError as exc:  # the work dir (or the sandbox) could not be set up
        outcome = encode({"type": "error", "task_id": task_id, "code": "EXECUTOR_ERROR",
                          "message": "could not prepare the job: %s" % exc})
    finally:
        ctx._close()
        context_module._set_current(None)
        state.current = None
        _remove_work_dir(ctx)
    done = {"type": "done", "task_id": task_id}
    if _cuda_initialized():
        # This process is now bound to the devices it initialized CUDA with; the pool must only
        # give it jobs with the same CUDA_VISIBLE_DEVICES.
        done["cuda_initialized"] = True
    channel.send(outcome + encode(done))  # one write: two whole lines
