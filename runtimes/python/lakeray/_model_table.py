"""A model's form in the lake (lake.py's write_model / read_model): one row per file, with
columns ``file``, ``content_type`` and ``data``; its metrics and params as JSON in the schema's
metadata (``lakeray.metrics``, ``lakeray.params``) or, as the server may answer, in columns of
their own. Standard library only; pyarrow is passed in by the caller."""
import json
import mimetypes
import os

from ._wire import to_json

_MODEL_CONTENT_TYPES = {
    ".pt": "application/octet-stream", ".pth": "application/octet-stream", ".bin": "application/octet-stream",
    ".onnx": "application/octet-stream", ".safetensors": "application/octet-stream",
    ".json": "application/json", ".txt": "text/plain", ".yaml": "application/yaml", ".yml": "application/yaml",
}


def model_table(pa, files, metrics, params):
    """The table that stores ``files`` (name → bytes, a path, a binary file, or a
    ``(value, content_type)`` pair) with the model's metrics and params."""
    names, types, blobs = [], [], []
    for fname, value in dict(files).items():
        content_type = None
        if isinstance(value, tuple) and len(value) == 2:
            value, content_type = value
        blobs.append(_file_bytes(fname, value))
        names.append(str(fname))
        ext = os.path.splitext(str(fname))[1].lower()
        types.append(content_type or _MODEL_CONTENT_TYPES.get(ext) or mimetypes.guess_type(str(fname))[0]
                     or "application/octet-stream")
    schema = pa.schema(
        [("file", pa.string()), ("content_type", pa.string()), ("data", pa.large_binary())],
        metadata={"lakeray.metrics": to_json(metrics), "lakeray.params": to_json(params)},
    )
    return pa.Table.from_arrays(
        [pa.array(names, pa.string()), pa.array(types, pa.string()), pa.array(blobs, pa.large_binary())],
        schema=schema,
    )


def model_from_table(table, name, version):
    """``{"name", "version", "files", "content_types", "metrics", "params", "lineage"}`` of a
    model table read from the lake (it has the ``file`` and ``data`` columns)."""
    cols = set(table.column_names)
    files = dict(zip(table.column("file").to_pylist(), table.column("data").to_pylist()))
    types = dict(zip(table.column("file").to_pylist(), table.column("content_type").to_pylist())) if "content_type" in cols else {}
    meta = table.schema.metadata or {}

    def json_field(column, key):
        if column in cols and table.num_rows:
            value = table.column(column)[0].as_py()
            if isinstance(value, (bytes, bytearray)):
                value = value.decode("utf-8")
            if isinstance(value, str):
                try:
                    return json.loads(value)
                except ValueError:
                    return value
            if value is not None:
                return value
        raw = meta.get(key.encode())
        return json.loads(raw) if raw else {}

    return {
        "name": name,
        "version": version,
        "files": files,
        "content_types": types,
        "metrics": json_field("metrics", "lakeray.metrics"),
        "params": json_field("params", "lakeray.params"),
        "lineage": json_field("lineage", "lakeray.lineage"),
    }


def _file_bytes(fname, value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (str, os.PathLike)):
        with open(value, "rb") as f:
            return f.read()
    read = getattr(value, "read", None)
    if callable(read):  # an open binary file or a BytesIO
        getvalue = getattr(value, "getvalue", None)
        return bytes(getvalue()) if callable(getvalue) else bytes(read())
    buffer = getattr(value, "to_pybytes", None)  # a pyarrow Buffer
    if callable(buffer):
        return buffer()
    raise TypeError("write_model: file %r must be bytes, a path or a binary file, not %s" % (fname, type(value).__name__))
