"""The tensor frame Lakeray and its Ray Serve application exchange (src/serving/ray/frame.ts).

A 4-byte little-endian header length, a JSON header
`{"tensors": [{"name", "dtype", "shape", "offset", "bytes"}]}`, then the tensor data, each
tensor at an 8-byte aligned `offset` counted from the start of the data, which itself starts
at the first multiple of 8 after the header.
"""

import json
import struct

import numpy as np

_NP = {"float32": np.float32, "float64": np.float64, "int32": np.int32, "int64": np.int64,
       "uint8": np.uint8, "bool": np.bool_}


class InvalidTensor(ValueError):
    """The inputs of one request do not fit the model: that request alone is refused."""


def _align8(n):
    return (n + 7) & ~7


def decode_frame(body):
    (header_len,) = struct.unpack_from("<I", body, 0)
    header = json.loads(bytes(body[4:4 + header_len]))
    base = _align8(4 + header_len)
    out = {}
    for t in header["tensors"]:
        dtype = t["dtype"]
        if dtype not in _NP:
            raise InvalidTensor(f'input "{t["name"]}": unknown dtype {dtype}')
        start = base + t["offset"]
        if start + t["bytes"] > len(body):
            raise InvalidTensor(f'input "{t["name"]}": frame is shorter than its data')
        arr = np.frombuffer(body, dtype=_NP[dtype], count=t["bytes"] // np.dtype(_NP[dtype]).itemsize, offset=start)
        out[t["name"]] = arr.reshape(t["shape"])
    return out


def encode_frame(tensors):
    entries, chunks, offset = [], [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        data = arr.tobytes()
        entries.append({"name": name, "dtype": str(arr.dtype) if arr.dtype != np.bool_ else "bool",
                        "shape": list(arr.shape), "offset": offset, "bytes": len(data)})
        chunks.append(data + b"\0" * (_align8(len(data)) - len(data)))
        offset += _align8(len(data))
    header = json.dumps({"tensors": entries}).encode()
    pad = _align8(4 + len(header)) - 4 - len(header)
    return struct.pack("<I", len(header)) + header + b"\0" * pad + b"".join(chunks)


