import os
import time


def run(input_path, output_path, params, ctx):
    # The test kills the Ray head while attempt 1 sleeps; a later attempt (on the restarted head) returns at once.
    ctx.log("attempt %d running, pid %d" % (ctx.attempt, os.getpid()))
    if ctx.attempt == 1:
        time.sleep(float(params.get("sleep", 900)))
    return {"attempt": ctx.attempt}
