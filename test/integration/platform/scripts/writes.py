from pathlib import Path


def run(input_path, output_path, params, ctx):
    text = Path(input_path).read_text()
    Path(output_path).write_text(text.upper())
    ctx.progress(1.0, "written")
    return {"chars": len(text)}
