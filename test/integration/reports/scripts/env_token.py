"""Returns the task's token and id as its environment has them."""
import os


def run(input_path, output_path, params, ctx):
    return {"token": os.environ.get("LAKERAY_TASK_TOKEN"), "task_id": os.environ.get("LAKERAY_TASK_ID")}
