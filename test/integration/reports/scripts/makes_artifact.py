"""Writes a file in a directory of its own (no work dir: it runs "elsewhere"), reports it, deletes it."""
import os
import tempfile


def run(input_path, output_path, params, ctx):
    d = tempfile.mkdtemp()
    path = os.path.join(d, "clip.txt")
    with open(path, "w") as f:
        f.write(params["text"])
    ctx.artifact(path, name=params.get("name"), content_type="text/plain")
    os.remove(path)  # the file is in the store once ctx.artifact returned
    return {"ok": True}
