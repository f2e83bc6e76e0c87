"""Writes a file as the task's artifact and returns its params (the test's marker among them)."""
import os


def run(input_path, output_path, params, ctx):
    path = os.path.join(os.environ["LAKERAY_WORK_DIR"], "out.txt")
    with open(path, "w") as f:
        f.write("artifact of %s\n" % params["marker"])
    ctx.artifact(path, name="out.txt")
    return {"marker": params["marker"]}
