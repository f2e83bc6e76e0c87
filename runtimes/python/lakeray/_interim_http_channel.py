"""Stand-in for contract B's ``http_channel.HttpChannel`` until branch ``reports`` ships it:
``ray_actors`` imports this module only when ``lakeray.http_channel`` does not exist, and the
lead deletes it at merge. Same interface and wire format (issue 12 spec, contract B): every
protocol message gets a seq and is POSTed to /api/v1/tasks/{id}/reports with the task token;
connection errors, 5xx and 503 are retried (a server restart must not lose events). Unlike
contract B's it sends synchronously, one request per send, without batching.
"""
import json
import threading
import time
import urllib.error
import urllib.request

from .channel import encode

RETRY_FOR_S = 600.0


class StaleAttempt(Exception):
    """409: the platform no longer listens to this attempt (cancelled, ended, retried)."""


class HttpChannel:
    def __init__(self, api_url, task_id, attempt, token, retry_for_s=RETRY_FOR_S):
        self._url = "%s/api/v1/tasks/%s/reports" % (api_url.rstrip("/"), task_id)
        self._attempt = int(attempt)
        self._token = token
        self._retry_for_s = retry_for_s
        self._seq = 0
        self._lock = threading.Lock()
        self._stale = False

    def emit(self, message):
        self.send(encode(message))

    def send(self, data):
        lines = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        with self._lock:
            if self._stale or not lines:
                return
            messages = []
            for msg in lines:
                self._seq += 1
                messages.append(dict(msg, seq=self._seq))
            self._post({"attempt": self._attempt, "messages": messages})

    def close(self):
        """Sends are synchronous: nothing is left to flush."""

    def _post(self, body):
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        deadline = time.monotonic() + self._retry_for_s
        delay = 0.05
        while True:
            req = urllib.request.Request(self._url, data=data, method="POST", headers={
                "content-type": "application/json", "authorization": "Bearer %s" % self._token})
            try:
                with urllib.request.urlopen(req, timeout=30) as res:
                    res.read()
                return
            except urllib.error.HTTPError as exc:
                if exc.code == 409:
                    self._stale = True  # nobody listens for this attempt any more
                    return
                if exc.code < 500:
                    raise
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise OSError("reports to %s failed for %.0f s" % (self._url, self._retry_for_s))
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
