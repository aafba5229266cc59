"""Which code is the user's, and the line a loop of theirs starts on.

Library code (installed packages, JAX, the standard library, jaxviz itself) never names "the
line" of a finding: when a library did the work, the finding points at the user's line that
drove it (their ``for`` over layers, their call).
"""

from __future__ import annotations

import ast
import functools
import linecache
import os
import sysconfig
from typing import Iterable, Sequence

import jax
import jaxlib

import jaxviz
from jaxviz._compat import Frame

#: Folders of code that is not the user's.
LIBRARY_DIRS = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep for module in (jax, jaxlib, jaxviz)
) + tuple(
    os.path.abspath(sysconfig.get_paths()[key]) + os.sep for key in ("stdlib", "platstdlib")
)
_PACKAGE_DIRS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")


@functools.lru_cache(maxsize=4096)
def is_user_file(filename: str) -> bool:
    """True for the user's files, cells and ``<string>`` code; False for installed packages,
    JAX, jaxviz, the standard library and frozen modules."""
    if filename.startswith("<frozen"):
        return False
    if filename.startswith("<"):
        return True
    path = os.path.abspath(filename)
    return not (path.startswith(LIBRARY_DIRS) or any(d in path for d in _PACKAGE_DIRS))


def library_of(filename: str) -> str | None:
    """The installed package a file belongs to (``optax``), or None (the user's, JAX's)."""
    if is_user_file(filename):
        return None
    path = os.path.abspath(filename)
    for folder in _PACKAGE_DIRS:
        if folder in path:
            package = path.split(folder, 1)[1].split(os.sep, 1)[0]
            return None if package in ("jax", "jaxlib") else package.removesuffix(".py")
    return None


def user_frames(frames: Iterable[Frame]) -> list[Frame]:
    return [f for f in frames if is_user_file(f.filename)]


def loop_frame(stacks: Sequence[Sequence[Frame]]) -> Frame | None:
    """Where the loop that made a block of equations starts.

    ``stacks``: the user's frames of each equation of one iteration, innermost first. The
    frames every equation shares lead from the traced function to the code that ran the
    iteration. Where they part, in one function, the loop holding all the lines they part
    at is the one (``for``: line 4; its body: lines 5 and 6); else the innermost shared
    frame that sits in a ``for`` / ``while`` / comprehension. Without one, the innermost
    shared frame.
    """
    if not stacks:
        return None
    outers = [list(reversed(stack)) for stack in stacks]  # outermost first
    shared = outers[0]
    for outer in outers[1:]:
        keep = 0
        while keep < min(len(shared), len(outer)) and shared[keep] == outer[keep]:
            keep += 1
        shared = shared[:keep]
    parted = {outer[len(shared)] for outer in outers if len(outer) > len(shared)}
    if len({(f.filename, f.function) for f in parted}) == 1:
        first = next(iter(parted))
        line = enclosing_loop_line(first.filename, *(f.line for f in parted))
        if line is not None:
            return Frame(first.filename, line, first.function)
    for frame in reversed(shared):
        line = enclosing_loop_line(frame.filename, frame.line)
        if line is not None:
            return Frame(frame.filename, line, frame.function)
    return shared[-1] if shared else None


def enclosing_loop_line(filename: str, *lines: int) -> int | None:
    """The first line of the innermost loop statement or comprehension holding ``lines``."""
    low, high = min(lines), max(lines)
    best: tuple[int, int] | None = None  # (span, start)
    for start, stop in _loops(filename):
        if start <= low and high <= stop and (best is None or stop - start < best[0]):
            best = (stop - start, start)
    return best[1] if best else None


def _loops(filename: str) -> tuple[tuple[int, int], ...]:
    """(first line, last line) of every loop in a file (cells too, through linecache)."""
    return _loops_in("".join(linecache.getlines(filename)))


@functools.lru_cache(maxsize=256)
def _loops_in(text: str) -> tuple[tuple[int, int], ...]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return ()
    kinds = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp,
             ast.GeneratorExp)
    return tuple((node.lineno, node.end_lineno or node.lineno)
                 for node in ast.walk(tree) if isinstance(node, kinds))
