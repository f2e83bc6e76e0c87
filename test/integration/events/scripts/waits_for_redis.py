"""Waits, as a generator does while it reports through Redis only; the test XADDs its entries.
Its finally block leaves a marker: the process was stopped (it never returns on its own)."""
import time


def run(input_path, output_path, params, ctx):
    try:
        ctx.log("waiting")
        time.sleep(float(params.get("seconds", 300)))
        return {"from": "process"}
    finally:
        if params.get("marker"):
            with open(params["marker"], "w") as f:
                f.write("stopped")
