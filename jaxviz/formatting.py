"""How numbers and places read for people: seconds, counts, bytes, and source locations in
the user's words (``Cell In[2], line 4`` as IPython's tracebacks say; a short file path).

Pure text; every module that shows a figure or a place formats it here.
"""

from __future__ import annotations

import os
import sys


def format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_count(value: float) -> str:
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:g}"


def format_rate(per_second: float, unit: str = "FLOP") -> str:
    """``12.3 GFLOP/s``, ``3.1 GB/s``."""
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if per_second >= scale:
            return f"{per_second / scale:.3g} {prefix}{unit}/s"
    return f"{per_second:.3g} {unit}/s"


def format_bytes(value: float) -> str:
    for suffix, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            return f"{value / scale:.3g} {suffix}"
    return f"{value:g} B"


def cell_name(filename: str) -> str | None:
    """``In[2]`` for code IPython compiled from a cell (its cache file), else None."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    compiler = getattr(shell, "compile", None)
    format_code_name = getattr(compiler, "format_code_name", None)
    if format_code_name is None:
        return None
    try:
        named = format_code_name(filename)
    except Exception:
        return None
    return named[1] if named else None


def short_path(filename: str) -> str:
    """A notebook cell as ``Cell In[2]``; a file by its path from the working folder when it
    is inside it, else by its name."""
    cell = cell_name(filename)
    if cell is not None:
        return f"Cell {cell}"
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive
        relative = filename
    if not relative.startswith(os.pardir) and not os.path.isabs(relative):
        return relative
    return os.path.basename(filename)


def place(filename: str | None, line: int | None) -> str:
    """``Cell In[2], line 4``, ``model.py:204``, ``line 204`` (no file), or ""."""
    if filename is None:
        return f"line {line}" if line is not None else ""
    where = short_path(filename)
    if line is None:
        return where
    return f"{where}, line {line}" if where.startswith("Cell ") else f"{where}:{line}"
