"""Lakeray's Python harness and the small API a script may import.

A script only has to define ``run(input_path, output_path, params[, ctx])``; importing this
package is optional. It is useful for a script whose ``run`` takes three parameters but still
wants to report progress: ``lakeray.get_context()`` returns the running task's context.

The harness itself is ``python -u -m lakeray`` (see ``__main__.py``); it uses only the standard
library so it runs in any Python 3.9+ environment a user points the platform at.

Lake I/O (``lakeray.read_dataset``, ``write_dataset``, ``read_model``, ``write_model``,
``LakeError``) lives in ``lakeray.lake``; it is loaded on first use, so the harness does not pay
for it (nor for pyarrow) unless a script does lake I/O.
"""
from .context import Context, get_context
from .runner import Cancelled, StepError, TaskError

__all__ = ["Cancelled", "Context", "LakeClient", "LakeError", "StepError", "TaskError", "get_context",
           "iter_dataset", "read_dataset", "read_model", "write_dataset", "write_model"]
__version__ = "0.1.0"

_LAKE_NAMES = frozenset(("LakeClient", "LakeError", "iter_dataset", "read_dataset", "read_model",
                         "write_dataset", "write_model"))


def __getattr__(name):
    if name in _LAKE_NAMES:
        from . import lake
        return getattr(lake, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
