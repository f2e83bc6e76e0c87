"""Train a small GRU that reads a clean MNIST image row by row, and store it as a streaming model.

    lakeray submit mnist/mnist_rnn.py --input mnist_clean --output mnist_rnn \\
        -p epochs=2 -p hidden_size=64 --watch

Each image is a sequence of 28 chunks (its rows, 28 values each). The stored ``model.onnx`` runs
ONE chunk with an explicit hidden state, so a client (or a Lakeray session) feeds the rows one by
one and carries the state between them:

    inputs   x [batch, 28] float32 (one row, in [0, 1]),  h0 [batch, H] float32 (zeros at row 1)
    outputs  logits [batch, 10] (the class after the rows seen so far),  hn [batch, H] (next h0)

The model's params say so (``serving``: the state binding h0 ← hn, the chunk input, 28 chunks),
with the class names (``classes``). Its metrics hold the test accuracy after all 28 rows
(``accuracy``) and after 7, 14 and 21 (``accuracy_by_rows``), and ``reference``: PyTorch's
full-sequence logits of a few test images, so the ONNX export can be checked from outside.

Params: ``epochs`` (2), ``hidden_size`` (64), ``learning_rate`` (0.002, Adam), ``batch_size``
(128), ``limit`` (at most this many train and test rows, for quick runs), ``threads`` (torch CPU
threads; default: the CPUs this task may use), ``seed`` (0), ``log_every`` (50).
"""
import io
import math
import os
import sys
import time
import warnings

import numpy as np
import torch
from torch import nn

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # the harness puts the script's directory first already; a plain import may not
    sys.path.insert(0, _HERE)
from mnist_cnn import load_splits  # noqa: E402
from model import cpu_threads, train_epoch  # noqa: E402

ROWS = COLS = 28
CHECKPOINTS = (7, 14, 21, 28)  # rows after which the test accuracy is measured
REFERENCE_IMAGES = 3


class MnistGRU(nn.Module):
    """A one-layer GRU over the rows of an image and a linear head on its hidden state."""

    def __init__(self, hidden_size=64, num_classes=10):
        super().__init__()
        self.gru = nn.GRU(COLS, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, images):
        """Logits after every row: [batch, rows, 28] → [batch, rows, classes]."""
        states, _ = self.gru(images)
        return self.head(states)


class MnistGRUStep(nn.Module):
    """The same weights, one row at a time with the state in and out: the exported graph."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, h0):
        out, hn = self.net.gru(x.unsqueeze(1), h0.unsqueeze(0))
        return self.net.head(out[:, 0]), hn[0]


def onnx_bytes(net, hidden_size):
    buf = io.BytesIO()
    step = MnistGRUStep(net).eval()
    example = (torch.zeros(2, COLS), torch.zeros(2, hidden_size))
    args = dict(input_names=["x", "h0"], output_names=["logits", "hn"], opset_version=17,
                dynamic_axes={name: {0: "batch"} for name in ("x", "h0", "logits", "hn")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(step, example, buf, dynamo=False, **args)
        except TypeError:  # a torch from before the dynamo switch
            torch.onnx.export(step, example, buf, **args)
    return buf.getvalue()


def evaluate(net, x, y, batch=1000):
    """(test accuracy after each of CHECKPOINTS rows, test loss after all rows)."""
    net.eval()
    correct = {rows: 0 for rows in CHECKPOINTS}
    total_loss = 0.0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            logits = net(x[i:i + batch])
            yb = y[i:i + batch]
            for rows in CHECKPOINTS:
                correct[rows] += int((logits[:, rows - 1].argmax(1) == yb).sum())
            total_loss += float(nn.functional.cross_entropy(logits[:, -1], yb, reduction="sum"))
    n = max(1, len(x))
    return {str(rows): correct[rows] / n for rows in CHECKPOINTS}, total_loss / n


def reference(net, x, y):
    """PyTorch's full-sequence logits of a few test images, named by their position in the test
    split (with a pixel sum, so a reader can tell it found the same image)."""
    n = len(y)
    picks = sorted({0, n // 2, n - 1})[:REFERENCE_IMAGES] if n else []
    with torch.inference_mode():
        logits = net(x[picks])[:, -1] if picks else torch.zeros(0, 10)
    return {
        "split": "test", "test_index": picks, "labels": [int(y[i]) for i in picks],
        "pixel_sums": [float(x[i].double().sum()) for i in picks],
        "logits": [[float(v) for v in row] for row in logits],
    }


def run(input_path, output_path, params, ctx):
    started = time.perf_counter()
    params = params or {}
    epochs = int(params.get("epochs", 2))
    hidden_size = int(params.get("hidden_size", 64))
    lr = float(params.get("learning_rate", 0.002))
    batch_size = int(params.get("batch_size", 128))
    limit = int(params["limit"]) if params.get("limit") else None
    log_every = max(1, int(params.get("log_every", 50)))
    seed = int(params.get("seed", 0))
    for key, value in (("epochs", epochs), ("hidden_size", hidden_size), ("batch_size", batch_size)):
        if value < 1:
            raise ValueError("%s must be at least 1, got %d" % (key, value))
    threads = cpu_threads(params.get("threads"))
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    dataset = input_path or "mnist_clean"

    ctx.progress(0.0, "reading %s" % dataset)
    x_train, y_train, x_test, y_test, classes = load_splits(ctx, dataset)
    if limit:
        keep = np.random.default_rng(seed).permutation(len(y_train))[:limit]
        x_train, y_train = x_train[keep], y_train[keep]
        x_test, y_test = x_test[:limit], y_test[:limit]
    if len(y_train) == 0:
        raise ValueError("dataset %s has no rows with split = 'train'" % dataset)
    # [n, 1, 28, 28] → [n, rows, cols]: the rows are the sequence (views, no copy).
    x_train, y_train = torch.from_numpy(x_train).view(-1, ROWS, COLS), torch.from_numpy(y_train)
    x_test, y_test = torch.from_numpy(x_test).view(-1, ROWS, COLS), torch.from_numpy(y_test)
    ctx.log("read %d train / %d test rows of %s (version %s) in %.2f s; training a GRU (hidden %d) with %d threads"
            % (len(y_train), len(y_test), dataset, ctx.versions_read.get(dataset),
               time.perf_counter() - started, hidden_size, threads))

    net = MnistGRU(hidden_size)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    batches = math.ceil(len(y_train) / batch_size)
    total_steps = epochs * batches
    step = 0
    by_rows, test_loss, train_loss = {}, float("nan"), float("nan")
    history = []

    def train_batch(idx):
        optimizer.zero_grad(set_to_none=True)
        # Only the class after the last row is trained; earlier rows sharpen it on their own.
        loss = nn.functional.cross_entropy(net(x_train[idx])[:, -1], y_train[idx])
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)  # recurrent nets: an occasional large step
        optimizer.step()
        return loss.item()

    train_started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        net.train()
        train_loss, step = train_epoch(ctx, train_batch, len(y_train), batch_size, epoch, epochs, step, total_steps, log_every)
        by_rows, test_loss = evaluate(net, x_test, y_test)
        history.append({"epoch": epoch, "train_loss": train_loss, "test_loss": test_loss,
                        "test_accuracy": by_rows["28"], "accuracy_by_rows": by_rows})
        ctx.metric("train_loss", train_loss, step=epoch)
        ctx.metric("test_loss", test_loss, step=epoch)
        ctx.metric("test_accuracy", by_rows["28"], step=epoch)
        for rows in CHECKPOINTS[:-1]:
            ctx.metric("test_accuracy_%d_rows" % rows, by_rows[str(rows)], step=epoch)
        ctx.log("epoch %d/%d: train loss %.4f, test loss %.4f, test accuracy after 7/14/21/28 rows %s"
                % (epoch, epochs, train_loss, test_loss, " / ".join("%.4f" % by_rows[str(r)] for r in CHECKPOINTS)))
    train_s = time.perf_counter() - train_started

    ctx.progress(0.96, "saving the model")
    net.eval()
    weights = io.BytesIO()
    torch.save(net.state_dict(), weights)
    files = {"weights.pt": weights.getvalue(), "model.onnx": onnx_bytes(net, hidden_size)}
    accuracy = by_rows["28"]
    metrics = {
        "accuracy": accuracy, "accuracy_by_rows": by_rows, "loss": test_loss, "train_loss": train_loss,
        "epochs": epochs, "train_rows": len(y_train), "test_rows": len(y_test), "train_seconds": round(train_s, 2),
        "history": history, "reference": reference(net, x_test, y_test),
    }
    model_params = {
        "epochs": epochs, "hidden_size": hidden_size, "learning_rate": lr, "batch_size": batch_size,
        "seed": seed, "limit": limit, "classes": classes,
        "architecture": {"kind": "gru", "input_size": COLS, "hidden_size": hidden_size, "num_classes": 10},
        "input_shape": [COLS], "input_range": [0, 1], "dataset": dataset,
        "dataset_version": ctx.versions_read.get(dataset),
        "serving": {"state": [{"input": "h0", "output": "hn"}], "chunk_input": "x", "chunks": ROWS},
    }
    name = output_path or "mnist_rnn"
    written = ctx.write_model(name, files=files, metrics=metrics, params=model_params)
    ctx.progress(1.0, "model %s version %s: test accuracy %.4f (after 7/14/21 rows: %s)" % (
        name, written.get("version"), accuracy, ", ".join("%.3f" % by_rows[str(r)] for r in CHECKPOINTS[:-1])))
    return {
        "accuracy": accuracy, "accuracy_by_rows": by_rows, "loss": test_loss, "train_loss": train_loss,
        "epochs": epochs, "train_seconds": round(train_s, 2), "model": name, "version": written.get("version"),
        "files": sorted(files),
    }
