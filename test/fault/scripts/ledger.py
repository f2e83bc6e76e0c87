"""A short task for the kill -9 test on Ray: writes `<task id> <attempt> run` to a file of the
task's own in params["ledger"] (a folder the test reads) when run() is entered, sleeps
params["ms"], then writes `<task id> <attempt> ret` and returns its id and attempt. The file
shows from the script's side how often each attempt ran and returned."""
import os
import time


def _note(params, ctx, what):
    with open(os.path.join(params["ledger"], ctx.task_id), "a") as f:
        f.write("%s %d %s\n" % (ctx.task_id, ctx.attempt, what))


def run(input_path, output_path, params, ctx):
    _note(params, ctx, "run")
    time.sleep(float(params.get("ms", 10)) / 1000)
    _note(params, ctx, "ret")
    return {"task_id": ctx.task_id, "attempt": ctx.attempt}
