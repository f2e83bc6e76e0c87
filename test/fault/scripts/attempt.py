"""Reports the attempt it runs as (ctx.attempt and LAKERAY_ATTEMPT). With `hold`, the first
attempt writes `marker` and then waits (for a crash of the server); later attempts return."""
import os
import time


def run(input_path, output_path, params, ctx):
    if params.get("hold") and ctx.attempt == 1:
        with open(params["marker"], "w") as f:
            f.write("started")
        time.sleep(120)
    return {"attempt": ctx.attempt, "env_attempt": os.environ.get("LAKERAY_ATTEMPT")}
