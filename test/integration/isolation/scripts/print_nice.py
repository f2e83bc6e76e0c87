"""Returns the CPU priority (nice value) of its process and of a process it starts."""
import os
import subprocess
import sys


def run(input_path, output_path, params, ctx):
    child = subprocess.check_output([sys.executable, "-c", "import os; print(os.nice(0))"], text=True)
    return {"nice": os.nice(0), "child_nice": int(child.strip())}
