"""Baseline for bench/ingest.ts: the same work as mnist_clean (IDX → normalized float32
vectors + labels + split, as Arrow) written to a local Arrow IPC file, with no platform and no
Lance in between. Prints one JSON line: seconds (best of 3), raw_bytes, arrow_bytes."""
import gzip
import json
import os
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa


def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims), len(data)


def build(root):
    images, labels, splits, raw = [], [], [], 0
    for prefix, split in (("train", "train"), ("t10k", "test")):
        img, n1 = idx(os.path.join(root, "%s-images-idx3-ubyte.gz" % prefix))
        lab, n2 = idx(os.path.join(root, "%s-labels-idx1-ubyte.gz" % prefix))
        raw += n1 + n2
        images.append(img.reshape(len(img), 784))
        labels.append(lab.astype(np.int64))
        splits.append(np.full(len(lab), split))
    image = np.concatenate(images).astype(np.float32) / np.float32(255.0)
    label = np.concatenate(labels)
    ok = (label >= 0) & (label <= 9)
    image, label = image[ok], label[ok]
    split = np.concatenate(splits)[ok]
    table = pa.table({
        "image": pa.FixedSizeListArray.from_arrays(pa.array(image.reshape(-1)), 784),
        "label": pa.array(label),
        "split": pa.array(split),
    })
    return table, raw


def main():
    root = sys.argv[1]
    best = None
    for _ in range(3):
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            table, raw = build(root)
            with pa.OSFile(os.path.join(d, "mnist.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
                w.write_table(table)
            elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    print(json.dumps({"seconds": best, "raw_bytes": raw, "arrow_bytes": table.nbytes}))


if __name__ == "__main__":
    main()
