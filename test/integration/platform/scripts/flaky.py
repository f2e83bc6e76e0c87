def run(input_path, output_path, params, ctx):
    if ctx.attempt < int(params.get("succeed_on", 2)):
        raise RuntimeError("attempt %d fails on purpose" % ctx.attempt)
    return {"attempt": ctx.attempt}
