"""Returns the environment its process sees, and prints it (the test looks at both)."""
import os


def run(input_path, output_path, params, ctx):
    env = dict(os.environ)
    print("\n".join(f"{k}={v}" for k, v in sorted(env.items())))
    return {"env": env}
