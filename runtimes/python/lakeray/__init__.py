"""Lakeray's Python harness and the small API a script may import.

A script only has to define ``run(input_path, output_path, params[, ctx])``; importing this
package is optional. It is useful for a script whose ``run`` takes three parameters but still
wants to report progress: ``lakeray.get_context()`` returns the running task's context.

The harness itself is ``python -u -m lakeray`` (see ``__main__.py``); it uses only the standard
library so it runs in any Python 3.9+ environment a user points the platform at.
"""
from .context import Context, get_context
from .runner import Cancelled

__all__ = ["Cancelled", "Context", "get_context"]
__version__ = "0.1.0"
