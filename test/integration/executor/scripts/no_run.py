"""Conformance: defines no run()."""
VALUE = 1
