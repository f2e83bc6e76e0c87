"""The wire side of lake I/O (lake.py): JSON for model metadata, chunked HTTP request bodies
that send Arrow buffers without copying them, a response reader pyarrow can decode from, and
the slicing of big record batches. Standard library only; pyarrow is passed in by the caller."""
import json
import math
import os

# Record batches larger than this are split (zero-copy slices) before being sent, so the server
# can stream a big upload into the lake instead of holding one giant message.
_MAX_BATCH_BYTES = 16 << 20
# Small writes of the Arrow stream writer (message headers, padding) are gathered into chunks of
# about this size; large buffers are sent as they are, without a copy.
_CHUNK = 1 << 20


def _json_default(value):
    tolist = getattr(value, "tolist", None)  # numpy / torch arrays and scalars
    if callable(tolist):
        return tolist()
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def _finite(value):
    """JSON has no NaN/Infinity (JavaScript's JSON.parse rejects them): they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def to_json(value):
    plain = json.loads(json.dumps(value if value is not None else {}, default=_json_default))
    return json.dumps(_finite(plain), allow_nan=False, separators=(",", ":"), ensure_ascii=False)


class ChunkedSink:
    """A write-only file for pyarrow's stream writer that sends what it gets as HTTP chunks.

    pyarrow hands large buffers over as ``pyarrow.Buffer`` (zero-copy): those go to the socket
    directly; the small writes in between are gathered into chunks of ``_CHUNK`` bytes.
    """

    closed = False

    def __init__(self, conn):
        self._conn = conn
        self._pending = []
        self._size = 0
        self.sent = 0

    def write(self, data):
        n = len(data)
        if n >= _CHUNK:
            self._flush_pending()
            self._send_chunk(data, n)
        elif n:
            self._pending.append(bytes(data))
            self._size += n
            if self._size >= _CHUNK:
                self._flush_pending()
        return n

    def flush(self):
        pass  # chunks go out when full; finish() sends the rest

    def _flush_pending(self):
        if self._pending:
            data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending = []
            self._size = 0
            self._send_chunk(data, len(data))

    def _send_chunk(self, data, n):
        sock = self._conn.sock
        sock.sendall(b"%X\r\n" % n)
        sock.sendall(data)
        sock.sendall(b"\r\n")
        self.sent += n

    def finish(self):
        self._flush_pending()
        self._conn.sock.sendall(b"0\r\n\r\n")


class BodyReader:
    """A read-only file over an HTTP response for ``pyarrow.ipc.open_stream``.

    Each ``read(n)`` fills one buffer from pyarrow's memory pool with ``readinto`` straight from
    the socket (http.client undoes the chunked encoding in place), and hands it to pyarrow
    without a copy. Reading ``HTTPResponse.read(n)`` instead costs a join of the chunks, a
    bytes object per message and a fresh malloc'd (page-faulted) block for every large body:
    about half the speed.
    """

    closed = False

    def __init__(self, resp, pa):
        self._resp = resp
        self._pa = pa

    def readable(self):
        return True

    def read(self, n=-1):
        if n is None or n < 0:
            return self._resp.read()
        buf = self._pa.allocate_buffer(n)
        view = memoryview(buf)
        pos = 0
        try:
            while pos < n:
                got = self._resp.readinto(view[pos:])
                if not got:
                    break
                pos += got
        finally:
            view.release()
        return buf if pos == n else buf.slice(0, pos)

    def close(self):
        self.closed = True


def batches_of(pa, data):
    """(schema, iterable of record batches, total bytes or None when unknown)."""
    if isinstance(data, pa.Table):
        return data.schema, data.to_batches(), data.nbytes
    if isinstance(data, pa.RecordBatch):
        return data.schema, [data], data.nbytes
    if isinstance(data, pa.RecordBatchReader):
        return data.schema, data, None
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError("write_dataset needs a schema: pass a pyarrow Table (possibly empty), not an empty list")
        if all(isinstance(b, pa.RecordBatch) for b in data):
            return data[0].schema, list(data), sum(b.nbytes for b in data)
        if all(isinstance(b, pa.Table) for b in data):
            table = pa.concat_tables(data)
            return table.schema, table.to_batches(), table.nbytes
        raise TypeError("write_dataset: a list must hold pyarrow RecordBatches (or Tables)")
    if isinstance(data, dict):
        table = pa.table(data)
        return table.schema, table.to_batches(), table.nbytes
    if type(data).__name__ == "DataFrame" and hasattr(data, "columns"):  # pandas, without importing it
        table = pa.Table.from_pandas(data, preserve_index=False)
        return table.schema, table.to_batches(), table.nbytes
    raise TypeError("write_dataset takes a pyarrow Table, RecordBatch, RecordBatchReader, a list of "
                    "RecordBatches, a dict of columns or a pandas DataFrame, not %s" % type(data).__name__)


def split_large(batches):
    """Zero-copy slices of batches above _MAX_BATCH_BYTES."""
    for batch in batches:
        size = batch.nbytes
        if size <= _MAX_BATCH_BYTES or batch.num_rows <= 1:
            yield batch
            continue
        rows = max(1, int(batch.num_rows * _MAX_BATCH_BYTES / size))
        for offset in range(0, batch.num_rows, rows):
            yield batch.slice(offset, rows)
