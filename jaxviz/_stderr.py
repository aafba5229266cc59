"""Hiding what C libraries write to file descriptor 2, which Jupyter would show under the
user's cell: the fontconfig bundled with pygraphviz warns about newer config files once per
process ("unknown element reset-dirs"), and older jaxlib's profiler says it cannot import
TensorFlow. Python's own errors still raise."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
