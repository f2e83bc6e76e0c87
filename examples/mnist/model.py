"""The CNN shared by mnist_cnn.py (training) and mnist_serve.py (inference), and the training
loop mnist_cnn.py and mnist_rnn.py share.

Input: float32 [batch, 1, 28, 28] in [0, 1] (white on black, as in the IDX files).
Output: raw logits [batch, 10].

Two conv blocks and a small classifier: about 0.2 M parameters, reaching ~0.88 test accuracy
on Fashion-MNIST (~0.98 on MNIST digits) after one epoch, in well under a minute on 2 CPU cores.
"""
import math

from torch import nn

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(i) for i in range(10)]

# Architecture defaults; stored in the model's params so the service rebuilds the same network.
ARCHITECTURE = {"conv1": 16, "conv2": 32, "hidden": 128, "num_classes": 10}


class MnistCNN(nn.Module):
    def __init__(self, conv1=16, conv2=32, hidden=128, num_classes=10, dropout=0.25):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, conv1, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),                                # 14×14
            nn.Conv2d(conv1, conv2, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),                                # 7×7
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(conv2 * 7 * 7, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def build_model(architecture=None):
    """A MnistCNN from the architecture a model's params recorded (defaults for missing keys)."""
    arch = dict(ARCHITECTURE)
    arch.update({k: int(v) for k, v in (architecture or {}).items() if k in ARCHITECTURE})
    return MnistCNN(**arch)


def cpu_threads(requested=None):
    """Threads for torch: what was asked, else the CPUs this process may actually use (affinity
    and a cgroup quota), so a container limited to 2 cores does not run 16 threads."""
    import os
    if requested:
        return max(1, int(requested))
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) / int(period) + 0.5)))
    except (OSError, ValueError):
        pass
    return max(1, n)


def train_epoch(ctx, train_batch, rows, batch_size, epoch, epochs, step, total_steps, log_every):
    """One epoch over `rows` training rows in a random order. ``train_batch(indices)`` runs one
    optimizer step and returns its loss; the loss is reported every `log_every` steps and the
    progress every 10 batches and at the epoch's end. Returns (mean loss of the epoch, step)."""
    import torch
    batches = math.ceil(rows / batch_size)
    order = torch.randperm(rows)
    running, seen = 0.0, 0
    for b in range(batches):
        idx = order[b * batch_size:(b + 1) * batch_size]
        value = train_batch(idx)
        step += 1
        running += value * len(idx)
        seen += len(idx)
        if step % log_every == 0:
            ctx.metric("loss", value, step=step)
        if step % 10 == 0 or b == batches - 1:
            ctx.progress(0.02 + 0.93 * step / total_steps,
                         "epoch %d/%d batch %d/%d loss %.4f" % (epoch, epochs, b + 1, batches, value),
                         step=step, total=total_steps)
    return running / max(1, seen), step
