"""Conformance: raises."""


def run(input_path, output_path, params, ctx):
    raise ValueError("boom")
