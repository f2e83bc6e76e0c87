"""Lake I/O for scripts: read and write the datasets and models of the Lakeray lake.

A running task talks to the platform's HTTP API (``LAKERAY_API_URL``) with Arrow IPC streams::

    GET {api}/api/v1/{datasets|models}/{name}/arrow?columns=a,b&filter=<sql>&version=<n|tag>
    PUT {api}/api/v1/{datasets|models}/{name}/arrow?mode=create|overwrite|append

Every request carries ``X-Lakeray-Task: <task id>`` (the server records which version each task
read, for lineage) and ``Authorization: Bearer <LAKERAY_TASK_TOKEN>`` when a token is set.

Usually reached through the task's context::

    def run(input_path, output_path, params, ctx):
        table = ctx.read_dataset(columns=["image", "label"], filter="split = 'train'")
        ctx.write_dataset(table, name="mnist_small")
        ctx.write_model(files={"weights.pt": buf}, metrics={"accuracy": 0.9})

The module uses the standard library only (``http.client``: no proxy lookups, no extra
dependency); pyarrow is imported the first time a function that needs it runs, so the harness
never pays for it unless a script does lake I/O. The wire helpers are in ``_wire.py``, a
model's table form in ``_model_table.py``.
"""
import http.client
import json
import os
import urllib.parse

from ._model_table import model_from_table, model_table
from ._wire import batches_of, BodyReader, ChunkedSink, split_large

__all__ = [
    "LakeClient", "LakeError", "iter_dataset", "read_dataset", "read_model", "write_dataset", "write_model",
]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
# On the server's own machine (LAKERAY_LAKE_LOCAL=1) a read may come back as a pointer to a
# local Arrow IPC file of the same scan, which is memory-mapped instead of streamed.
ARROW_FILE_REF = "application/vnd.lakeray.arrow-file+json"
WRITE_MODES = ("create", "overwrite", "append")
KINDS = ("datasets", "models")

# Bodies smaller than this go out in one piece with a Content-Length; larger tables and every
# RecordBatchReader are streamed batch by batch with chunked transfer encoding.
_SMALL_BODY = 8 << 20
_ERROR_BODY_LIMIT = 1 << 20
_DEFAULT_TIMEOUT_S = 600.0


class LakeError(Exception):
    """A lake request failed. ``code`` is the platform's error code (``DATASET_NOT_FOUND``,
    ``MODEL_NOT_FOUND``, ``INVALID_REQUEST``, …) or one of this client's own:
    ``LAKE_UNAVAILABLE`` (no API URL, or the API cannot be reached) and ``BAD_RESPONSE``."""

    def __init__(self, code, message, status=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status

    def __reduce__(self):
        return (type(self), (self.code, self.message, self.status))


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.ipc  # noqa: F401 - the submodule, loaded once
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "lake I/O needs pyarrow in the interpreter that runs the script "
            "(pip install pyarrow)") from exc
    return pyarrow


def lake_name(value, what="dataset"):
    """A lake name from what a task got as input/output. A Lance path such as
    ``lance_storage/models/mnist_cnn_v1.lance`` is taken as the name ``mnist_cnn_v1``."""
    if value is None or value == "":
        raise LakeError("INVALID_REQUEST", "no %s name given, and the task has no default for it" % what)
    name = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    stripped = name.rstrip("/")
    if stripped.endswith(".lance"):
        name = os.path.basename(stripped)[: -len(".lance")]
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise LakeError("INVALID_REQUEST", "%r is not a %s name of the lake (a name such as mnist_clean)" % (value, what))
    return name


class LakeClient:
    """Lake I/O for one task (or, outside a task, for whatever the environment names).

    ``api_url``, ``task_id`` and ``token`` default to ``LAKERAY_API_URL``, ``LAKERAY_TASK_ID``
    and ``LAKERAY_TASK_TOKEN``. Each call opens its own connection, so a client may be used from
    several threads at once.
    """

    def __init__(self, api_url=None, task_id=None, token=None, timeout=None, env=None):
        env = env if env is not None else {}

        def setting(value, key):
            if value is not None:
                return value
            found = env.get(key)
            return found if found not in (None, "") else os.environ.get(key) or None

        self.api_url = setting(api_url, "LAKERAY_API_URL")
        self.task_id = setting(task_id, "LAKERAY_TASK_ID")
        self.token = setting(token, "LAKERAY_TASK_TOKEN")
        if timeout is None:
            timeout = float(setting(None, "LAKERAY_LAKE_TIMEOUT_S") or _DEFAULT_TIMEOUT_S)
        self.timeout = timeout
        self.local = setting(None, "LAKERAY_LAKE_LOCAL") == "1"
        # name → version, for every dataset/model this client read (the lineage the server records too)
        self.versions_read = {}

    # ----------------------------------------------------------------------------- plumbing

    def _target(self):
        if not self.api_url:
            raise LakeError("LAKE_UNAVAILABLE", "LAKERAY_API_URL is not set: lake I/O works inside a Lakeray task "
                                                "(or set LAKERAY_API_URL to the platform's address)")
        url = urllib.parse.urlsplit(self.api_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise LakeError("LAKE_UNAVAILABLE", "LAKERAY_API_URL %r is not an http(s) URL" % self.api_url)
        return url

    def _connect(self):
        url = self._target()
        cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        return cls(url.hostname, url.port, timeout=self.timeout), url.path.rstrip("/")

    def _headers(self, extra=None):
        headers = {"Accept": ARROW_STREAM + ", application/json"}
        if self.task_id:
            headers["X-Lakeray-Task"] = str(self.task_id)
        if self.token:
            headers["Authorization"] = "Bearer %s" % self.token
        if extra:
            headers.update(extra)
        return headers

    @staticmethod
    def _path(prefix, kind, name, query):
        path = "%s/api/v1/%s/%s/arrow" % (prefix, kind, urllib.parse.quote(name, safe=""))
        query = {k: v for k, v in query.items() if v is not None and v != ""}
        return path + ("?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote) if query else "")

    def _unavailable(self, exc, doing):
        return LakeError("LAKE_UNAVAILABLE", "%s: cannot reach the Lakeray API at %s (%s: %s)"
                         % (doing, self.api_url, type(exc).__name__, exc))

    @staticmethod
    def _error_from(resp, kind, name):
        """LakeError for an error response: the code and message of its JSON body."""
        try:
            raw = resp.read(_ERROR_BODY_LIMIT)
        except (OSError, http.client.HTTPException):
            raw = b""
        code = message = None
        try:
            body = json.loads(raw.decode("utf-8", "replace"))
            err = body.get("error") if isinstance(body, dict) else None
            if isinstance(err, dict):
                code, message = err.get("code"), err.get("message")
            elif isinstance(body, dict):  # a bare {"code","message"} or fastify's {"statusCode","error","message"}
                code, message = body.get("code"), body.get("message") or (err if isinstance(err, str) else None)
        except ValueError:
            message = raw.decode("utf-8", "replace").strip()[:500] or None
        if not code or not isinstance(code, str):
            if resp.status == 404:
                code = "MODEL_NOT_FOUND" if kind == "models" else "DATASET_NOT_FOUND"
            else:
                code = {400: "INVALID_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 409: "CONFLICT",
                        413: "PAYLOAD_TOO_LARGE"}.get(resp.status, "HTTP_%d" % resp.status)
        message = str(message) if message else "%s/%s: HTTP %d %s" % (kind, name, resp.status, resp.reason)
        return LakeError(code, message, resp.status)

    def _get(self, kind, name, query, snapshot=False):
        conn, prefix = self._connect()
        extra = {"Accept": "%s, %s, application/json" % (ARROW_FILE_REF, ARROW_STREAM)} if snapshot else None
        try:
            conn.request("GET", self._path(prefix, kind, name, query), headers=self._headers(extra))
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise self._unavailable(exc, "reading %s %r" % (kind[:-1], name)) from None
        if resp.status >= 300:
            try:
                raise self._error_from(resp, kind, name)
            finally:
                conn.close()
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if ctype and ctype != ARROW_STREAM and not (snapshot and ctype == ARROW_FILE_REF):
            conn.close()
            raise LakeError("BAD_RESPONSE", "reading %s %r: expected %s, got %s" % (kind[:-1], name, ARROW_STREAM, ctype), resp.status)
        version = resp.getheader("X-Lakeray-Version")
        if version is not None:
            try:
                version = int(version)
            except ValueError:
                pass
            self.versions_read[name] = version
        return conn, resp, version

    @staticmethod
    def _scan_query(columns, filter, version):
        if isinstance(columns, str):
            columns = [columns]
        return {
            "columns": ",".join(columns) if columns is not None else None,
            "filter": filter,
            "version": None if version is None else str(version),
        }

    def _read_snapshot(self, pa, kind, name, query):
        """The scan as a memory-mapped local Arrow IPC file; None when the server streamed it
        instead (then the stream is decoded here) or the file is gone (read again as a stream)."""
        conn, resp, got = self._get(kind, name, query, snapshot=True)
        try:
            ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != ARROW_FILE_REF:
                return pa.ipc.open_stream(BodyReader(resp, pa)).read_all(), got
            ref = json.loads(resp.read().decode("utf-8"))
        finally:
            conn.close()
        try:
            return pa.ipc.open_file(pa.memory_map(ref["path"], "r")).read_all(), got
        except (OSError, KeyError, pa.ArrowInvalid):
            return None

    def _read_table(self, kind, name, columns=None, filter=None, version=None):
        pa = _pyarrow()
        if self.local:
            found = self._read_snapshot(pa, kind, name, self._scan_query(columns, filter, version))
            if found is not None:
                return found
        conn, resp, got = self._get(kind, name, self._scan_query(columns, filter, version))
        try:
            table = pa.ipc.open_stream(BodyReader(resp, pa)).read_all()
        except pa.ArrowInvalid as exc:
            raise LakeError("BAD_RESPONSE", "reading %s %r: the response is not a whole Arrow stream (%s)"
                            % (kind[:-1], name, exc)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise LakeError("LAKE_UNAVAILABLE", "reading %s %r: the connection broke (%s: %s)"
                            % (kind[:-1], name, type(exc).__name__, exc)) from None
        finally:
            conn.close()
        return table, got

    # ----------------------------------------------------------------------------- datasets

    def read_dataset(self, name, columns=None, filter=None, version=None):
        """The dataset (or the given columns, the rows matching a SQL filter, a version or tag)
        as a ``pyarrow.Table``. The version read is in ``versions_read[name]``."""
        name = lake_name(name)
        return self._read_table("datasets", name, columns, filter, version)[0]

    def iter_dataset(self, name, columns=None, filter=None, version=None):
        """Yield the dataset's record batches as they arrive (for tables larger than memory)."""
        pa = _pyarrow()
        name = lake_name(name)
        conn, resp, _ = self._get("datasets", name, self._scan_query(columns, filter, version))
        try:
            try:
                reader = pa.ipc.open_stream(BodyReader(resp, pa))
            except pa.ArrowInvalid as exc:
                raise LakeError("BAD_RESPONSE", "reading dataset %r: not an Arrow stream (%s)" % (name, exc)) from None
            for batch in reader:
                yield batch
        finally:
            conn.close()

    def write_dataset(self, data, name, mode="overwrite"):
        """Write a pyarrow Table / RecordBatch / RecordBatchReader / list of batches as a new
        version of the dataset. Returns the server's ``{"name", "version", "num_rows"}``."""
        return self._write("datasets", lake_name(name), data, mode)

    # ----------------------------------------------------------------------------- models

    def write_model(self, name, files, metrics=None, params=None, mode="overwrite"):
        """Store a model: ``files`` maps a file name to its bytes, a path to read, or a
        ``(bytes_or_path, content_type)`` pair. ``metrics`` and ``params`` are JSON objects."""
        pa = _pyarrow()
        name = lake_name(name, "model")
        if not files:
            raise ValueError("write_model needs at least one file, e.g. files={'weights.pt': data}")
        table = model_table(pa, files, metrics, params)
        return self._write("models", name, table, mode)

    def read_model(self, name, version=None):
        """``{"name", "version", "files": {file: bytes}, "content_types", "metrics", "params", "lineage"}``."""
        name = lake_name(name, "model")
        table, got = self._read_table("models", name, version=version)
        cols = set(table.column_names)
        if not {"file", "data"} <= cols:
            raise LakeError("BAD_RESPONSE", "model %r has no file/data columns (columns: %s)" % (name, ", ".join(table.column_names)))
        return model_from_table(table, name, got)

    # ----------------------------------------------------------------------------- writing

    def _write(self, kind, name, data, mode):
        if mode not in WRITE_MODES:
            raise ValueError("mode must be one of %s, not %r" % (", ".join(WRITE_MODES), mode))
        pa = _pyarrow()
        schema, batches, nbytes = batches_of(pa, data)
        conn, prefix = self._connect()
        path = self._path(prefix, kind, name, {"mode": mode})
        doing = "writing %s %r" % (kind[:-1], name)
        try:
            try:
                if nbytes is not None and nbytes < _SMALL_BODY:
                    sink = pa.BufferOutputStream()
                    with pa.ipc.new_stream(sink, schema) as writer:
                        for batch in batches:
                            writer.write_batch(batch)
                    body = sink.getvalue()
                    conn.request("PUT", path, body=memoryview(body),
                                 headers=self._headers({"Content-Type": ARROW_STREAM, "Content-Length": str(body.size)}))
                else:
                    conn.putrequest("PUT", path, skip_accept_encoding=True)
                    for key, value in self._headers({"Content-Type": ARROW_STREAM, "Transfer-Encoding": "chunked"}).items():
                        conn.putheader(key, value)
                    conn.endheaders()
                    chunks = ChunkedSink(conn)
                    writer = pa.ipc.new_stream(chunks, schema)
                    for batch in split_large(batches):
                        writer.write_batch(batch)
                    writer.close()
                    chunks.finish()
            except (OSError, http.client.HTTPException) as exc:
                # The server may have answered (an error) and closed before reading the whole body.
                try:
                    resp = conn.getresponse()
                except (OSError, http.client.HTTPException):
                    raise self._unavailable(exc, doing) from None
                if resp.status >= 300:
                    raise self._error_from(resp, kind, name) from None
                raise self._unavailable(exc, doing) from None
            try:
                resp = conn.getresponse()
                if resp.status >= 300:
                    raise self._error_from(resp, kind, name)
                raw = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                raise self._unavailable(exc, doing) from None
        finally:
            conn.close()
        try:
            result = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            raise LakeError("BAD_RESPONSE", "%s: the server's answer is not JSON: %r" % (doing, raw[:200])) from None
        return result


# --------------------------------------------------------------------------------- module level
# For scripts whose run() takes no ctx: the running task's defaults (input/output names) apply.

def _ctx():
    from .context import get_context
    return get_context()


def read_dataset(name=None, columns=None, filter=None, version=None):
    ctx = _ctx()
    if ctx is not None:
        return ctx.read_dataset(name, columns=columns, filter=filter, version=version)
    return LakeClient().read_dataset(name, columns=columns, filter=filter, version=version)


def iter_dataset(name=None, columns=None, filter=None, version=None):
    ctx = _ctx()
    if ctx is not None:
        return ctx.iter_dataset(name, columns=columns, filter=filter, version=version)
    return LakeClient().iter_dataset(name, columns=columns, filter=filter, version=version)


def write_dataset(data, name=None, mode="overwrite"):
    ctx = _ctx()
    if ctx is not None:
        return ctx.write_dataset(data, name=name, mode=mode)
    return LakeClient().write_dataset(data, name, mode=mode)


def write_model(name=None, files=None, metrics=None, params=None):
    ctx = _ctx()
    if ctx is not None:
        return ctx.write_model(name, files=files, metrics=metrics, params=params)
    return LakeClient().write_model(name, files, metrics=metrics, params=params)


def read_model(name=None, version=None):
    ctx = _ctx()
    if ctx is not None:
        return ctx.read_model(name, version=version)
    return LakeClient().read_model(name, version=version)

