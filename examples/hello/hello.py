"""A first Lakeray task: counts words in the input file (or a generated text), reporting
progress as it goes, and writes a JSON summary to the output path.

    lakeray submit hello/hello.py --output hello.json -p steps=20 --watch
"""
import json
import time
from collections import Counter
from pathlib import Path


def run(input_path, output_path, params, ctx):
    steps = int(params.get("steps", 10))
    delay = float(params.get("delay_s", 0.1))
    text = Path(input_path).read_text() if input_path else "the quick brown fox jumps over the lazy dog " * 100
    words = text.split()
    counts = Counter()
    chunk = max(1, len(words) // steps)
    for i in range(steps):
        counts.update(words[i * chunk : (i + 1) * chunk])
        ctx.progress((i + 1) / steps, f"counted {min(len(words), (i + 1) * chunk)} of {len(words)} words", step=i + 1, total=steps)
        time.sleep(delay)
    summary = {"words": len(words), "distinct": len(counts), "top": counts.most_common(5)}
    if output_path:
        Path(output_path).parent.mkdir(parents=True, exist_ok=True)
        Path(output_path).write_text(json.dumps(summary, indent=2))
        ctx.artifact(output_path, name="summary.json", content_type="application/json")
    ctx.metric("distinct_words", len(counts))
    return summary
