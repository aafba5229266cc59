"""Recompilation: a jitted function traced and compiled again and again within one cell.

The seed's ``random_shape_test(jit_cube)``: every new input length is a new trace and a new
XLA compile. While a ``%%jaxtrace`` cell runs, JAX's cache-miss explanations are switched on
and collected (never printed), then the config is put back as it was.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterator

import jax

from jaxviz import _compat
from jaxviz.findings import Finding

_HEADER = re.compile(r"TRACING CACHE MISS at (?P<file>.+?):(?P<line>\d+)(?::\d+)? \(")
_FUNCTION = re.compile(
    r"(?:never seen function:\s+(?P<new>\S+) id=\S+|for (?P<seen>\S+)) defined at "
    r"(?P<file>.+?):(?P<line>\d+)")
_REASON = re.compile(r"^\s*\* at (?P<what>.+)$", re.MULTILINE)
#: jax 0.7 says a static argument changed in a line of its own.
_STATIC_07 = re.compile(r"different value of static args:\s*now (?P<now>.+?) and before "
                        r"(?P<before>.+?)$", re.MULTILINE)
_STATIC = re.compile(r"input path (?P<path>\S+), now .*?Static\(val=(?P<now>.*?)\).*?"
                     r"Static\(val=(?P<before>.*?)\)")


@dataclass(frozen=True)
class CacheMiss:
    """One trace of a jitted function: where it was called, and why the cache missed."""

    function: str
    defined_file: str
    defined_line: int
    call_file: str
    call_line: int
    #: Empty for a function's first trace; else what differed from the closest earlier call.
    reasons: tuple[str, ...]


def parse_cache_miss(message: str) -> CacheMiss | None:
    header, function = _HEADER.search(message), _FUNCTION.search(message)
    if header is None or function is None:
        return None
    return CacheMiss(
        function=function["new"] or function["seen"],
        defined_file=function["file"], defined_line=int(function["line"]),
        call_file=header["file"], call_line=int(header["line"]),
        reasons=tuple(_reason_text(m["what"]) for m in _REASON.finditer(message))
        + tuple(f"static argument: {m['before']} → {m['now']}"
                for m in _STATIC_07.finditer(message)),
    )


def _reason_text(what: str) -> str:
    static = _STATIC.search(what)
    if static:
        return f"static argument {static['path']}: {static['before']} → {static['now']}"
    what = re.sub(r"\(\{\}\)|\{weak_type=\w+\}", "", what.split("https://", 1)[0]).strip()
    change = re.match(r"(?P<where>.+?), now (?P<now>.+?) and before (?P<before>.+)$", what)
    if change:
        return f"{change['where']}: {change['before']} → {change['now']}"
    return what


class _Collector(logging.Filter):
    """Takes JAX's cache-miss records off the logger, so they are collected, not printed."""

    def __init__(self, misses: list[CacheMiss], keep: bool):
        super().__init__()
        self.misses, self.keep = misses, keep

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "TRACING CACHE MISS" not in message:
            return True
        miss = parse_cache_miss(message)
        if miss is not None:
            self.misses.append(miss)
        return self.keep  # the user asked JAX for these: let them through


@contextlib.contextmanager
def watch_cache_misses() -> Iterator[list[CacheMiss]]:
    """Collect the cache misses of everything jitted inside the ``with`` block."""
    misses: list[CacheMiss] = []
    before = getattr(jax.config, _compat.EXPLAIN_CACHE_MISSES, None)
    if before is None:  # this jax cannot explain: watch nothing
        yield misses
        return
    collector = _Collector(misses, keep=bool(before))
    loggers = [logging.getLogger(name) for name in _compat.CACHE_MISS_LOGGERS]
    for logger in loggers:
        logger.addFilter(collector)
    jax.config.update(_compat.EXPLAIN_CACHE_MISSES, True)
    try:
        yield misses
    finally:
        jax.config.update(_compat.EXPLAIN_CACHE_MISSES, before)
        for logger in loggers:
            logger.removeFilter(collector)


def recompile_findings(misses: list[CacheMiss], fn: Callable) -> list[Finding]:
    """A warning when the traced function was traced (and compiled) more than once."""
    fn = inspect.unwrap(fn)
    name = getattr(fn, "__name__", None)
    code = getattr(fn, "__code__", None)
    mine = [m for m in misses if m.function == name and (
        code is None or (m.defined_file, m.defined_line) == (code.co_filename, code.co_firstlineno)
        or m.defined_file.startswith("<"))]
    if len(mine) < 2:
        return []
    reasons = Counter(r for m in mine for r in m.reasons)
    shown = "; ".join(r for r, _ in reasons.most_common(3))
    shapes = any(not r.startswith("static argument") for r in reasons)
    hint = ("pad inputs to a few fixed shapes (e.g. round lengths up to a bucket size or a "
            "power of two) so that one compiled version serves many calls"
            if shapes else "keep static arguments to a few values, or make them traced arguments")
    first = mine[1]
    return [Finding(
        "recompile", "warning",
        f"{name} was traced and compiled {len(mine)} times in this cell"
        + (f"; what changed: {shown}" if shown else ""),
        hint, line=first.call_line, filename=first.call_file,
    )]
