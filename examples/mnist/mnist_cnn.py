"""Train a small CNN on a clean MNIST dataset of the lake and store it as a model (seed §3.4).

    lakeray submit mnist/mnist_cnn.py --input mnist_clean --output mnist_cnn_v1 \\
        -p epochs=1 -p learning_rate=0.001 -p batch_size=64 --watch

Reads ``image``, ``label``, ``split`` (and ``label_name`` when present) of the input dataset,
trains on the ``train`` rows, evaluates on the ``test`` rows after every epoch, and writes the
model to the lake: ``weights.pt`` (the state_dict) and ``model.onnx`` (input ``[batch,1,28,28]``
float32 in [0,1], output raw ``logits``), with its metrics and params (class names and the
architecture included, which mnist_serve.py uses).

Params: ``epochs`` (1), ``learning_rate`` (0.001), ``batch_size`` (64), ``device`` ("cpu";
"cuda" or "auto" use a GPU when there is one), ``limit_train`` / ``limit_test`` (rows, for quick
runs), ``threads`` (torch CPU threads; default: the CPUs this task may use), ``seed`` (0),
``log_every`` (batches between loss metrics, 50), ``onnx`` (true).
"""
import io
import math
import os
import sys
import time
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import nn

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # the harness puts the script's directory first already; a plain import may not
    sys.path.insert(0, _HERE)
from model import ARCHITECTURE, DIGIT_CLASSES, build_model, cpu_threads, train_epoch  # noqa: E402


def _pixels(chunk):
    """float32 numpy [n, 784] view of one chunk of an image column (flat 784 or nested 28×28)."""
    n = len(chunk)
    arr = chunk
    while isinstance(arr.type, (pa.FixedSizeListType, pa.ListType, pa.LargeListType)):
        arr = arr.flatten()  # respects the chunk's offset
    values = arr.to_numpy(zero_copy_only=False)
    if values.size != n * 784:
        raise ValueError("images must have 784 pixels (28×28), got %d values for %d rows" % (values.size, n))
    return values.reshape(n, 784)


def split_images(column, is_train):
    """(train, test) float32 [n, 1, 28, 28] arrays of an image column, copied once, chunk by chunk,
    straight from the Arrow buffers (no combine_chunks, no intermediate copy)."""
    n_train = int(is_train.sum())
    train = np.empty((n_train, 784), dtype=np.float32)
    test = np.empty((len(is_train) - n_train, 784), dtype=np.float32)
    row = a = b = 0
    for chunk in column.chunks:
        k = len(chunk)
        if k == 0:
            continue
        pixels = _pixels(chunk)
        mask = is_train[row:row + k]
        count = int(mask.sum())
        if count == k:
            train[a:a + k] = pixels
        elif count == 0:
            test[b:b + k] = pixels
        else:
            np.compress(mask, pixels, axis=0, out=train[a:a + count])
            np.compress(~mask, pixels, axis=0, out=test[b:b + k - count])
        a, b, row = a + count, b + k - count, row + k
    return train.reshape(-1, 1, 28, 28), test.reshape(-1, 1, 28, 28)


def load_splits(ctx, name):
    """(x_train, y_train, x_test, y_test, class names) from the lake."""
    from lakeray.lake import LakeError
    try:
        table = ctx.read_dataset(name, columns=["image", "label", "split", "label_name"])
    except LakeError as exc:
        if exc.code not in ("INVALID_REQUEST", "BAD_COLUMN"):
            raise
        table = ctx.read_dataset(name, columns=["image", "label", "split"])  # no class names stored

    labels = table.column("label").to_numpy().astype(np.int64, copy=False)
    is_train = pc.equal(table.column("split"), "train").to_numpy(zero_copy_only=False)
    x_train, x_test = split_images(table.column("image"), is_train)
    classes = list(DIGIT_CLASSES)
    if "label_name" in table.column_names:
        pairs = pc.unique(pc.binary_join_element_wise(pc.cast(table.column("label"), "string"),
                                                      table.column("label_name"), "\x00")).to_pylist()
        for pair in pairs:
            label, _, label_name = pair.partition("\x00")
            if label.isdigit() and 0 <= int(label) < 10:
                classes[int(label)] = label_name
    for x in (x_train, x_test):
        if x.size and float(x.max()) > 1.5:  # a dataset stored without normalize: 0..255
            np.divide(x, np.float32(255.0), out=x)
    return x_train, labels[is_train], x_test, labels[~is_train], classes


def evaluate(model, x, y, device, batch=256):
    model.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    correct, total_loss = 0, 0.0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            xb = x[i:i + batch].to(device, non_blocking=True)
            yb = y[i:i + batch].to(device, non_blocking=True)
            logits = model(xb)
            total_loss += float(loss_fn(logits, yb))
            correct += int((logits.argmax(1) == yb).sum())
    n = max(1, len(x))
    return correct / n, total_loss / n


def onnx_bytes(model):
    """The model as ONNX (TorchScript exporter: needs only the onnx package)."""
    buf = io.BytesIO()
    args = dict(input_names=["input"], output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, torch.zeros(1, 1, 28, 28), buf, dynamo=False, **args)
        except TypeError:  # a torch from before the dynamo switch
            torch.onnx.export(model, torch.zeros(1, 1, 28, 28), buf, **args)
    return buf.getvalue()


def _device(requested):
    requested = str(requested or "cpu").lower()
    if requested in ("cuda", "gpu", "auto") or requested.startswith("cuda:"):
        if torch.cuda.is_available():
            return torch.device("cuda" if requested in ("gpu", "auto") else requested)
        if requested != "auto":
            print("device %s asked for but CUDA is not available: training on the CPU" % requested, file=sys.stderr)
    return torch.device("cpu")


def run(input_path, output_path, params, ctx):
    started = time.perf_counter()
    params = params or {}
    epochs = int(params.get("epochs", 1))
    lr = float(params.get("learning_rate", 0.001))
    batch_size = int(params.get("batch_size", 64))
    log_every = max(1, int(params.get("log_every", 50)))
    seed = int(params.get("seed", 0))
    device = _device(params.get("device", "cpu"))
    threads = cpu_threads(params.get("threads"))
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    dataset = input_path or "mnist_clean"

    ctx.progress(0.0, "reading %s" % dataset)
    x_train, y_train, x_test, y_test, classes = load_splits(ctx, dataset)
    rng = np.random.default_rng(seed)
    if params.get("limit_train"):
        keep = rng.permutation(len(y_train))[: int(params["limit_train"])]
        x_train, y_train = x_train[keep], y_train[keep]
    if params.get("limit_test"):
        x_test, y_test = x_test[: int(params["limit_test"])], y_test[: int(params["limit_test"])]
    if len(y_train) == 0:
        raise ValueError("dataset %s has no rows with split = 'train'" % dataset)
    x_train, y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)  # zero-copy
    x_test, y_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
    read_s = time.perf_counter() - started
    ctx.log("read %d train / %d test rows of %s (version %s) in %.2f s; training on %s with %d threads"
            % (len(y_train), len(y_test), dataset, ctx.versions_read.get(dataset), read_s, device, threads))

    model = build_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    batches = math.ceil(len(y_train) / batch_size)
    total_steps = epochs * batches
    step = 0
    accuracy = test_loss = float("nan")
    train_loss = float("nan")
    history = []

    def train_batch(idx):
        xb = x_train[idx].to(device, non_blocking=True)
        yb = y_train[idx].to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        return loss.item()

    train_started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        train_loss, step = train_epoch(ctx, train_batch, len(y_train), batch_size, epoch, epochs, step, total_steps, log_every)
        accuracy, test_loss = evaluate(model, x_test, y_test, device)
        history.append({"epoch": epoch, "train_loss": train_loss, "test_loss": test_loss, "test_accuracy": accuracy})
        ctx.metric("train_loss", train_loss, step=epoch)
        ctx.metric("test_loss", test_loss, step=epoch)
        ctx.metric("test_accuracy", accuracy, step=epoch)
        ctx.log("epoch %d/%d: train loss %.4f, test loss %.4f, test accuracy %.4f"
                % (epoch, epochs, train_loss, test_loss, accuracy))
    train_s = time.perf_counter() - train_started

    ctx.progress(0.96, "saving the model")
    model = model.to("cpu").eval()
    weights = io.BytesIO()
    torch.save(model.state_dict(), weights)
    files = {"weights.pt": weights.getvalue()}
    if params.get("onnx", True):
        try:
            files["model.onnx"] = onnx_bytes(model)
        except Exception as exc:  # noqa: BLE001 - the weights are still worth keeping
            ctx.log("ONNX export failed, storing weights.pt only: %s: %s" % (type(exc).__name__, exc), "warn")
    metrics = {
        "accuracy": accuracy, "loss": test_loss, "train_loss": train_loss, "epochs": epochs,
        "train_rows": len(y_train), "test_rows": len(y_test), "train_seconds": round(train_s, 2),
        "history": history,
    }
    model_params = {
        "epochs": epochs, "learning_rate": lr, "batch_size": batch_size, "device": str(device), "seed": seed,
        "limit_train": params.get("limit_train"), "classes": classes, "architecture": dict(ARCHITECTURE),
        "input_shape": [1, 28, 28], "input_range": [0, 1], "dataset": dataset,
        "dataset_version": ctx.versions_read.get(dataset),
    }
    name = output_path or "mnist_cnn"
    written = ctx.write_model(name, files=files, metrics=metrics, params=model_params)
    ctx.progress(1.0, "model %s version %s: test accuracy %.4f" % (name, written.get("version"), accuracy))
    return {
        "accuracy": accuracy, "loss": test_loss, "train_loss": train_loss, "epochs": epochs,
        "train_seconds": round(train_s, 2), "model": name, "version": written.get("version"),
        "files": sorted(files),
    }
