"""The event channel over HTTP, for a task that runs on another machine (a Ray job, a pod).

Same interface as ``channel.Channel`` (``emit(message)``, ``send(bytes)``), but the messages go
to ``POST {api_url}/api/v1/tasks/{id}/reports`` with the task's token (docs/runtime-protocol.md
"Reporting over HTTP"). Delivery, at least once and in order:

- every message gets the next ``seq`` (1, 2, …) and waits in a queue; a sender thread posts
  what is queued every ``flush_interval`` (50 ms) or as soon as ``max_batch`` (256) wait, and a
  result, error or done goes at once;
- the server answers ``{"acked": n}``: messages up to n are stored and dropped from the queue;
  anything else (no connection, 5xx, 503 while the server restarts and its executor has not
  re-attached) keeps them queued, and the same seqs are sent again with backoff (0.1 s … 5 s)
  for up to ``retry_for`` seconds (LAKERAY_REPORT_RETRY_S, default 600) — the server skips
  seqs it stored already, so nothing is lost and nothing counted twice;
- 409 (the attempt is over: cancelled, or the task runs again elsewhere) and 400/401/404
  stop the channel: nobody will read these events;
- ``close()`` blocks until everything emitted is acked (the result must be stored before the
  process exits), or until the retry time is spent; it returns whether everything arrived.

An ``artifact`` message (ctx.artifact) uploads the file first, ``PUT
/api/v1/tasks/{id}/artifacts/{name}``, in the calling thread (the script may delete the file
once ctx.artifact returns), and reports it as uploaded.
"""
import json
import os
import re
import sys
import threading
import time
import urllib.parse

from .channel import encode

_RETRYABLE_STATUS = {429, 500, 502, 503, 504}
_URGENT = {"result", "error", "done"}


class ReportsRefused(Exception):
    """The server will not take this task's reports (the attempt is over, or the token is wrong)."""


class HttpChannel:
    def __init__(self, api_url, task_id, attempt, token, retry_for=None, flush_interval=0.05, max_batch=256,
                 timeout=30.0):
        self.task_id = str(task_id)
        self.attempt = int(attempt)
        url = urllib.parse.urlsplit(api_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("LAKERAY_REPORT_URL must be an http(s) URL, got %r" % api_url)
        quoted = urllib.parse.quote(self.task_id, safe="")
        self._reports_path = "%s/api/v1/tasks/%s/reports" % (url.path, quoted)
        self._artifacts_path = "%s/api/v1/tasks/%s/artifacts/" % (url.path, quoted)
        self.retry_for = float(os.environ.get("LAKERAY_REPORT_RETRY_S", "600") if retry_for is None else retry_for)
        # One connection for the sender thread, another for uploads (made in the script's thread).
        self._client = _Client(url, token, self.retry_for, timeout)
        self._uploads = _Client(url, token, self.retry_for, timeout)
        self._upload_lock = threading.Lock()
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue = []  # (seq, message) not yet acked, in seq order
        self._seq = 0
        self._acked = 0
        self._urgent = False
        self._closing = False
        self.failure = None  # why the channel stopped, if it did
        self._sender = threading.Thread(target=self._run, name="lakeray-reports", daemon=True)
        self._sender.start()

    # ------------------------------------------------------------------ Channel interface

    def emit(self, message):
        if message.get("type") == "artifact" and "path" in message:
            message = self._upload(message)
        with self._cond:
            if self.failure is not None:
                return
            self._seq += 1
            self._queue.append((self._seq, message))
            if message.get("type") in _URGENT or len(self._queue) >= self.max_batch:
                self._urgent = True
                self._cond.notify_all()
            elif len(self._queue) == 1:
                self._cond.notify_all()  # the sender sleeps on an empty queue: the batch's clock starts now

    def send(self, data):
        """Whole JSON lines, as written on fd 3 (the harness sends result and done in one write)."""
        for line in bytes(data).decode("utf-8").splitlines():
            if line.strip():
                self.emit(json.loads(line))

    def close(self):
        """Send what is queued and wait for its ack; True when every message was stored."""
        with self._cond:
            self._closing = True
            self._urgent = True
            self._cond.notify_all()
            while self._queue and self.failure is None:
                self._cond.wait()
            ok = self.failure is None and not self._queue
        self._sender.join(timeout=5)
        return ok

    # ------------------------------------------------------------------ sending

    def _run(self):
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return  # closing, all acked
                if not self._urgent and len(self._queue) < self.max_batch:
                    self._cond.wait(self.flush_interval)
                self._urgent = False
                batch = self._queue[: self.max_batch]
            try:
                acked = self._post_until_acked(batch)
            except ReportsRefused as exc:
                self._stop(str(exc))
                return
            with self._cond:
                self._acked = max(self._acked, acked)
                self._queue = [(s, m) for s, m in self._queue if s > self._acked]
                self._cond.notify_all()

    def _stop(self, why):
        sys.stderr.write("lakeray: reports of task %s stopped: %s\n" % (self.task_id, why))
        with self._cond:
            self.failure = why
            self._queue = []
            self._cond.notify_all()

    def _post_until_acked(self, batch):
        body = encode({"attempt": self.attempt, "messages": [dict(m, seq=s) for s, m in batch]})
        status, payload = self._client.request("POST", self._reports_path, body, "application/json")
        try:
            return int(json.loads(payload)["acked"])
        except (ValueError, KeyError, TypeError):
            raise ReportsRefused("unexpected answer %d: %r" % (status, payload[:200]))

    # ------------------------------------------------------------------ artifacts

    def _upload(self, message):
        """PUT the artifact's file to the store; the message then names what was stored."""
        path = message["path"]
        # The store's rule for names (artifact-store.ts artifactName): one path segment, no odd characters.
        name = re.sub(r"[^\w. -]", "_", os.path.basename(message.get("name") or path)).lstrip(". ").strip() or "artifact"
        with open(path, "rb") as f:
            data = f.read()
        content_type = message.get("content_type") or "application/octet-stream"
        with self._upload_lock:
            try:
                self._uploads.request("PUT", self._artifacts_path + urllib.parse.quote(name, safe=""), data, content_type)
            finally:
                self._uploads.drop()
        out = {"type": "artifact", "name": name, "uploaded": True, "size": len(data)}
        for key in ("content_type", "task_id"):
            if message.get(key):
                out[key] = message[key]
        return out


def _http():
    """http.client, imported by the sender thread on its first request rather than at import:
    its ~35 ms of imports (email, ssl) are then off the path to run() (a Ray job's start)."""
    import http.client

    return http.client


class _Client:
    """Requests to the platform on one keep-alive connection, sent again while they may succeed later."""

    def __init__(self, url, token, retry_for, timeout):
        self._url = url
        self._token = token
        self._retry_for = retry_for
        self._timeout = timeout
        self._conn = None

    def request(self, method, path, body, content_type):
        """(status, body) of a 2xx answer; retries connection errors and 429/5xx until retry_for is spent."""
        deadline = None
        delay = 0.1
        while True:
            try:
                status, payload, headers = self._once(method, path, body, content_type)
                if status < 300:
                    return status, payload
                if status not in _RETRYABLE_STATUS:
                    raise ReportsRefused("%s %s answered %d: %s" % (method, path, status, payload[:300].decode("utf-8", "replace")))
                wait = _retry_after(headers, delay)
            except (OSError, _http().HTTPException):
                self.drop()
                wait = delay
            now = time.monotonic()
            deadline = deadline if deadline is not None else now + self._retry_for
            if now + wait > deadline:
                raise ReportsRefused("the server did not take %s %s for %.0f s" % (method, path, self._retry_for))
            time.sleep(wait)
            delay = min(delay * 2, 5.0)

    def _once(self, method, path, body, content_type):
        if self._conn is None:
            client = _http()
            cls = client.HTTPSConnection if self._url.scheme == "https" else client.HTTPConnection
            self._conn = cls(self._url.hostname, self._url.port, timeout=self._timeout)
        headers = {"Content-Type": content_type, "Authorization": "Bearer %s" % self._token}
        try:
            self._conn.request(method, path, body=body, headers=headers)
            response = self._conn.getresponse()
            payload = response.read()
        except BaseException:
            self.drop()
            raise
        if (response.getheader("connection") or "").lower() == "close":
            self.drop()
        return response.status, payload, {k.lower(): v for k, v in response.getheaders()}

    def drop(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _retry_after(headers, default):
    try:
        return max(0.05, min(float(headers.get("retry-after", default)), 30.0))
    except ValueError:
        return default
