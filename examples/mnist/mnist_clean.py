"""MNIST ingestion: IDX files → a clean dataset in the lake (seed §3.3).

    lakeray submit mnist/mnist_clean.py --output mnist_clean -p normalize=true -p flatten=true --watch

Reads the four IDX files of MNIST or Fashion-MNIST (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each
plain or ``.gz``) from the input directory (or a .zip of them; default: ``$LAKERAY_MNIST_DIR``,
else Debian's ``/usr/share/datasets/fashion-mnist`` from the ``dataset-fashion-mnist`` package),
and writes one table to the lake:

    image       FixedSizeList<float32>[784]   (flatten=false: FixedSizeList<FixedSizeList<float32>[28]>[28])
    label       int64                         rows whose label is not in [0, 9] are dropped
    label_name  string                        "Sneaker", "7", … (the class name)
    split       string                        "train" (train-* files) or "test" (t10k-* files)

Params: ``normalize`` (default true: pixels / 255 in [0, 1]; false: 0..255 as float32),
``flatten`` (default true), ``classes`` ("auto": Fashion-MNIST names when the input path says
fashion, else digits; or "fashion", "digits", or a list of 10 names), ``limit`` (rows per split,
for quick runs). Everything is numpy/Arrow buffer work: no Python loop touches a pixel.

Missing files fail the task with ``INPUT_NOT_FOUND`` and a one-line message that names the
folder and the command that fixes it (``apt-get install dataset-fashion-mnist`` on Debian/Ubuntu).
"""
import gzip
import os
import shutil
import struct
import time
import zipfile

import numpy as np
from lakeray import TaskError

DEBIAN_INPUT = "/usr/share/datasets/fashion-mnist"
DEBIAN_PACKAGE = "dataset-fashion-mnist"
UPSTREAM = "https://github.com/zalandoresearch/fashion-mnist"
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(i) for i in range(10)]

# IDX element types (third byte of the magic number) → numpy dtype (multi-byte types are big-endian).
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (count, rows, cols)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (count)

SPLITS = (("train", "train"), ("t10k", "test"))


class IdxError(ValueError):
    """An input file that is not what an MNIST IDX file must be."""


def parse_idx(data, name, expected_magic=None):
    """numpy array of an IDX file's bytes (a view over them: no copy)."""
    if len(data) < 4:
        raise IdxError("%s: too short for an IDX file (%d bytes)" % (name, len(data)))
    magic = struct.unpack(">I", data[:4])[0]
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES or data[3] == 0:
        raise IdxError("%s: not an IDX file (magic number 0x%08X)" % (name, magic))
    if expected_magic is not None and magic != expected_magic:
        raise IdxError("%s: wrong magic number 0x%08X, expected 0x%08X (%s)" % (
            name, magic, expected_magic, "images: ubyte × 3 dims" if expected_magic == IMAGES_MAGIC else "labels: ubyte × 1 dim"))
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError("%s: truncated header" % name)
    dims = struct.unpack(">%dI" % ndim, data[4:header])
    dtype = np.dtype(IDX_DTYPES[data[2]])
    count = int(np.prod(dims, dtype=np.int64))
    if len(data) < header + count * dtype.itemsize:
        raise IdxError("%s: truncated: header says %s (%d bytes of data), the file has %d" % (
            name, "×".join(map(str, dims)), count * dtype.itemsize, len(data) - header))
    return np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)


class _Source:
    """The IDX files of a directory or of a zip file, found by their usual names."""

    def __init__(self, path):
        self.path = path
        self.zip = zipfile.ZipFile(path) if os.path.isfile(path) and zipfile.is_zipfile(path) else None
        if self.zip is None and not os.path.isdir(path):
            raise FileNotFoundError("no IDX files in %s" % path)
        if self.zip is not None:
            self.names = {os.path.basename(n): n for n in self.zip.namelist() if not n.endswith("/")}
        else:
            self.names = {n: os.path.join(path, n) for n in os.listdir(path)}

    def find(self, prefix, kind):
        """Contents of e.g. train-images-idx3-ubyte(.gz) (also the train-images.idx3-ubyte spelling)."""
        dims = "idx3" if kind == "images" else "idx1"
        for base in ("%s-%s-%s-ubyte" % (prefix, kind, dims), "%s-%s.%s-ubyte" % (prefix, kind, dims)):
            for name in (base, base + ".gz"):
                if name in self.names:
                    raw = self.zip.read(self.names[name]) if self.zip else _read(self.names[name])
                    return (gzip.decompress(raw) if name.endswith(".gz") or raw[:2] == b"\x1f\x8b" else raw), name
        raise FileNotFoundError("no %s-%s-%s-ubyte[.gz] in %s" % (prefix, kind, dims, self.path))


def default_input():
    """The folder read when the task names no input: $LAKERAY_MNIST_DIR, else Debian's."""
    return os.environ.get("LAKERAY_MNIST_DIR") or DEBIAN_INPUT


def missing_data_message(path, exc):
    """One line: what is missing where, and the command that puts it there."""
    apt = shutil.which("apt-get") is not None
    install = "%sapt-get install %s" % ("" if os.geteuid() == 0 else "sudo ", DEBIAN_PACKAGE)
    if os.path.normpath(str(path)) == DEBIAN_INPUT:
        fix = install if apt else "download the four *-ubyte.gz files of %s into a folder and start Lakeray with LAKERAY_MNIST_DIR=<that folder>" % UPSTREAM
        return "Fashion-MNIST is not installed (%s). Fix: %s" % (exc, fix)
    fix = "put the four *-ubyte.gz files of %s there" % UPSTREAM
    if apt and path == os.environ.get("LAKERAY_MNIST_DIR"):
        fix += ", or unset LAKERAY_MNIST_DIR and run: %s" % install
    return "Fashion-MNIST not found (%s). Fix: %s" % (exc, fix)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _class_names(setting, input_path):
    if isinstance(setting, (list, tuple)):
        if len(setting) != 10:
            raise ValueError("classes must name 10 classes, got %d" % len(setting))
        return [str(c) for c in setting]
    setting = str(setting or "auto").lower()
    if setting == "auto":
        setting = "fashion" if "fashion" in str(input_path).lower() else "digits"
    if setting == "fashion":
        return FASHION_CLASSES
    if setting in ("digits", "mnist"):
        return DIGIT_CLASSES
    raise ValueError("classes must be auto, fashion, digits or a list of 10 names, not %r" % setting)


def load_split(source, prefix, limit=None):
    """(images uint8 [n, rows, cols], labels int64 [n]) of one split."""
    images_raw, images_name = source.find(prefix, "images")
    labels_raw, labels_name = source.find(prefix, "labels")
    images = parse_idx(images_raw, images_name, IMAGES_MAGIC)
    labels = parse_idx(labels_raw, labels_name, LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise IdxError("%s has %d images but %s has %d labels" % (images_name, images.shape[0], labels_name, labels.shape[0]))
    if limit:
        images, labels = images[:limit], labels[:limit]
    return images, labels.astype(np.int64)


def build_table(parts, normalize=True, flatten=True, classes=DIGIT_CLASSES):
    """One Arrow table from [(split, images uint8, labels int64), …], built from numpy buffers."""
    import pyarrow as pa

    rows, cols = parts[0][1].shape[1:]
    pixels = rows * cols
    total = sum(len(labels) for _, _, labels in parts)
    image = np.empty((total, pixels), dtype=np.float32)
    label = np.empty(total, dtype=np.int64)
    split_index = np.empty(total, dtype=np.int8)
    at = 0
    for i, (_, images, labels) in enumerate(parts):
        n = len(labels)
        if images.shape[1:] != (rows, cols):
            raise IdxError("splits disagree on the image size: %s vs %s" % ((rows, cols), images.shape[1:]))
        flat = images.reshape(n, pixels)
        if normalize:
            np.divide(flat, np.float32(255.0), out=image[at:at + n], dtype=np.float32)
        else:
            image[at:at + n] = flat
        label[at:at + n] = labels
        split_index[at:at + n] = i
        at += n

    valid = (label >= 0) & (label <= 9)
    dropped = int(total - valid.sum())
    if dropped:
        image, label, split_index = image[valid], label[valid], split_index[valid]

    values = pa.array(image.reshape(-1))  # zero-copy over the numpy buffer
    if flatten:
        image_col = pa.FixedSizeListArray.from_arrays(values, pixels)
    else:
        image_col = pa.FixedSizeListArray.from_arrays(pa.FixedSizeListArray.from_arrays(values, cols), rows)
    split_names = pa.array([name for name, _, _ in parts], pa.string())
    names = pa.array(classes, pa.string())
    table = pa.table({
        "image": image_col,
        "label": pa.array(label),
        "label_name": names.take(pa.array(label)),
        "split": split_names.take(pa.array(split_index)),
    })
    return table, dropped


def run(input_path, output_path, params, ctx=None):
    started = time.perf_counter()
    params = params or {}
    report = ctx.progress if ctx is not None else (lambda *a, **k: None)
    source_path = input_path or params.get("source") or default_input()
    limit = int(params["limit"]) if params.get("limit") else None
    classes = _class_names(params.get("classes", "auto"), source_path)
    parts = []
    try:
        source = _Source(source_path)
        for i, (prefix, split) in enumerate(SPLITS):
            report(0.05 + 0.3 * i, "reading %s images" % prefix)
            images, labels = load_split(source, prefix, limit)
            parts.append((split, images, labels))
    except FileNotFoundError as exc:
        raise TaskError("INPUT_NOT_FOUND", missing_data_message(source_path, exc)) from None
    report(0.65, "building the table")
    table, dropped = build_table(parts, normalize=bool(params.get("normalize", True)),
                                 flatten=bool(params.get("flatten", True)), classes=classes)
    counts = {split: int(sum(len(l) for s, _, l in parts if s == split)) for split in ("train", "test")}
    if dropped:
        # recount after dropping invalid labels
        import pyarrow.compute as pc
        counts = {split: int(pc.sum(pc.equal(table.column("split"), split)).as_py() or 0) for split in ("train", "test")}
        if ctx is not None:
            ctx.log("dropped %d rows whose label is not in [0, 9]" % dropped, "warn")

    name = output_path or "mnist_clean"
    report(0.75, "writing %d rows to %s" % (table.num_rows, name))
    if ctx is not None:
        written = ctx.write_dataset(table, name=name, mode=params.get("mode", "overwrite"))
    else:
        from lakeray.lake import write_dataset
        written = write_dataset(table, name=name, mode=params.get("mode", "overwrite"))
    seconds = time.perf_counter() - started
    report(1.0, "wrote %d rows (%d train, %d test) in %.2f s" % (table.num_rows, counts["train"], counts["test"], seconds))
    return {
        "total_records": table.num_rows,
        "train": counts["train"],
        "test": counts["test"],
        "dropped": dropped,
        "dataset": name,
        "version": written.get("version"),
        "classes": classes,
        "seconds": round(seconds, 3),
    }
