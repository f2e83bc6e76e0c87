"""The event channel: JSON lines on a dedicated pipe (fd 3), never on stdout.

Every message is one ``os.write`` loop under a lock, so lines from the script's threads never
interleave. SIGTERM is blocked in the main thread while a line is being written: the
cancellation exception is raised from the signal handler, and raising it half-way through a
write would leave a torn line on the pipe.
"""
import json
import os
import signal
import threading

try:
    # The C function returns the old mask as plain ints; signal.pthread_sigmask converts it to
    # Signals enums, which costs more than the two system calls on every write.
    from _signal import pthread_sigmask as _sigmask
except ImportError:  # pragma: no cover - other interpreters
    _sigmask = signal.pthread_sigmask

_TERM = {signal.SIGTERM}


def _to_json(value):
    """JSON fallback for values scripts commonly return: numpy/torch scalars and arrays, paths, sets."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


# One encoder for every line: json.dumps with these options would build a new one per call.
_ENCODER = json.JSONEncoder(allow_nan=False, default=_to_json, separators=(",", ":"), ensure_ascii=False)


def encode(message):
    """One protocol line as bytes. Raises TypeError/ValueError for values JSON cannot carry (NaN too)."""
    return (_ENCODER.encode(message) + "\n").encode("utf-8")


class Channel:
    def __init__(self, fd, on_broken):
        self._fd = fd
        self._lock = threading.Lock()
        self._on_broken = on_broken  # the platform is gone: nobody will read our events

    def emit(self, message):
        self.send(encode(message))

    def send(self, data):
        in_main = threading.current_thread() is threading.main_thread()
        with self._lock:
            old_mask = _sigmask(signal.SIG_BLOCK, _TERM) if in_main else None
            try:
                view = memoryview(data)
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except OSError:
                self._on_broken()
            finally:
                if old_mask is not None:
                    _sigmask(signal.SIG_SETMASK, old_mask)

    def close(self):
        """Every line is written before send returns: nothing is left to deliver (HttpChannel's may wait)."""
        return True
