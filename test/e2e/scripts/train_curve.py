"""A training run for the UI's end-to-end tests, without the training: it reads its input
dataset (so the model's lineage names it), reports loss and accuracy per epoch as metrics, and
stores a model whose metrics.history has one entry per epoch, with params like a real run's
(among them a long list of class names, which the model page must show whole).

Params: epochs (1), learning_rate (0.01), batch_size (32).
"""
import math

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def run(input_path, output_path, params, ctx):
    epochs = int(params.get("epochs", 1))
    rows = ctx.read_dataset().num_rows
    history = []
    for epoch in range(1, epochs + 1):
        # Curves shaped like a real run's: loss falls, accuracy climbs from 0.71 towards 0.98.
        train_loss = round(2.2 * math.exp(-epoch / 12) + 0.05, 4)
        test_loss = round(train_loss * 1.08 + 0.02 * math.sin(epoch), 4)
        accuracy = round(0.98 - 0.3 * math.exp(-epoch / 10), 4)
        history.append({"epoch": epoch, "train_loss": train_loss, "test_loss": test_loss, "test_accuracy": accuracy})
        ctx.metric("train_loss", train_loss, step=epoch)
        ctx.metric("test_accuracy", accuracy, step=epoch)
        ctx.progress(epoch / epochs, "epoch %d of %d" % (epoch, epochs))
    last = history[-1]
    metrics = {"accuracy": last["test_accuracy"], "loss": last["test_loss"], "train_loss": last["train_loss"],
               "epochs": epochs, "train_rows": rows, "history": history}
    model_params = {"epochs": epochs, "learning_rate": float(params.get("learning_rate", 0.01)),
                    "batch_size": int(params.get("batch_size", 32)), "optimizer": "adam", "seed": 0,
                    "architecture": {"conv": [32, 64], "dense": 128, "dropout": 0.25}, "classes": CLASSES}
    ctx.write_model(output_path, files={"weights.bin": bytes(range(256)) * 64}, metrics=metrics, params=model_params)
    return {"accuracy": last["test_accuracy"], "epochs": epochs}
