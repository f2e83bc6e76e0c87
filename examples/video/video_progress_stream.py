"""The seed's Redis progress stream, written by a generator (seed 001 §2, seed 002's serve_app.py).

Each report is one ``XADD <stream> * field value …`` with the seed's flat string fields:

    running:   task_id <id> status RUNNING   progress 45
    done:      task_id <id> status COMPLETED progress 100 url <where the video is>
    failed:    task_id <id> status FAILED    error "<message>"

``progress`` is a whole percentage. Lakeray reads the same stream with a consumer group
(src/events/sources/redis-progress-stream.ts), so a controller that only knows Redis and
Lakeray see the same entries.

Why a few lines of RESP instead of redis-py: the script must run unchanged wherever a task
runs (the project's venv, a Ray worker's environment, a bare ``python``), and none of those
carries redis-py; XADD (plus AUTH and SELECT from the URL) is all it needs. RESP2 requests
are arrays of bulk strings; the replies read here are a bulk string (the entry id), ``+OK``
or an ``-ERR`` line.

Like the seed, Redis being unreachable never fails the generation: the error is logged,
the report dropped, and the next report connects again. The final report (COMPLETED or
FAILED) is retried a few times first.
"""
import socket
import time
from urllib.parse import unquote, urlparse

DEFAULT_STREAM = "wan22-progress-stream"
TIMEOUT_S = 5.0
FINAL_ATTEMPTS = 3


class RedisError(Exception):
    pass


def _command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        data = a if isinstance(a, bytes) else str(a).encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Connection:
    def __init__(self, url):
        u = urlparse(url)
        if u.scheme not in ("redis", ""):
            raise ValueError("redis URL must be redis://[[user]:password@]host[:port][/db], got %r" % url)
        self.sock = socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=TIMEOUT_S)
        self.file = self.sock.makefile("rb")
        if u.password is not None:
            auth = (unquote(u.username), unquote(u.password)) if u.username else (unquote(u.password),)
            self.call("AUTH", *auth)
        db = (u.path or "/").strip("/")
        if db:
            self.call("SELECT", int(db))

    def call(self, *args):
        self.sock.sendall(_command(*args))
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise RedisError("connection closed by Redis")
        kind, rest = line[:1], line[1:-2]
        if kind == b"-":
            raise RedisError(rest.decode("utf-8", "replace"))
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2].decode("utf-8")
        return rest.decode("utf-8", "replace")  # +OK, :<integer>

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


class ProgressStream:
    """Reports of one task to one stream; ``log`` receives a line when Redis cannot be reached."""

    def __init__(self, url, task_id, stream=DEFAULT_STREAM, log=print):
        self.url, self.task_id, self.stream, self.log = url, str(task_id), stream, log
        self._conn = None
        self._last_percent = None

    def running(self, fraction):
        """RUNNING with the whole percentage, when it changed; 100 is kept for COMPLETED."""
        percent = max(0, min(99, int(fraction * 100)))
        if percent != self._last_percent:
            self._last_percent = percent
            self._xadd({"status": "RUNNING", "progress": str(percent)}, attempts=1)

    def completed(self, url):
        self._xadd({"status": "COMPLETED", "progress": "100", "url": url}, attempts=FINAL_ATTEMPTS)

    def failed(self, error):
        self._xadd({"status": "FAILED", "error": str(error)}, attempts=FINAL_ATTEMPTS)

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _xadd(self, fields, attempts):
        flat = ["task_id", self.task_id]
        for k, v in fields.items():
            flat += [k, v]
        for attempt in range(attempts):
            try:
                if self._conn is None:
                    self._conn = _Connection(self.url)
                return self._conn.call("XADD", self.stream, "*", *flat)
            except (OSError, RedisError) as exc:
                self.close()
                if attempt + 1 == attempts:
                    self.log("progress stream %s at %s: %s: %s (report dropped: %s)"
                             % (self.stream, _redacted(self.url), type(exc).__name__, exc, fields.get("status")))
                else:
                    time.sleep(0.2 * 2 ** attempt)
        return None


def _redacted(url):
    u = urlparse(url)
    return url if u.password is None else url.replace(":%s@" % u.password, ":***@", 1)
