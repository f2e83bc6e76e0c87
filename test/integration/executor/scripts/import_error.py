"""Conformance: fails while it is imported."""
import no_such_module_for_lakeray_conformance  # noqa: F401


def run(input_path, output_path, params):
    return None
