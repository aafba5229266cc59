"""Globals baked in at trace time: Python scalars folded into literals, arrays captured as
constants, and Python values (flags, strings, dicts) that steered the trace.

JAX reads a global once, while tracing; the compiled function keeps that value forever.
The seed lessons: ``x + shift`` with a global ``shift``, ``x @ W + b`` with a global ``b``,
``if config['relu']:``.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from jaxviz import _compat
from jaxviz.analysis.source import FunctionSource, function_source
from jaxviz.capture import Reference, outside_values
from jaxviz.formatting import format_bytes
from jaxviz.findings import Finding
from jaxviz.model import Graph

#: A captured constant above this size costs memory in every executable and slows compiles.
LARGE_CONSTANT_BYTES = 1 << 20


def global_findings(fn: Callable, jaxpr: Any, graph: Graph) -> list[Finding]:
    refs = [r for r in outside_values(fn) if not callable(r.value)]
    where = _Lines(refs)
    findings = _captured_arrays(graph, jaxpr, refs, where)
    literals = None  # walked for a number only: a big program's literals take a while
    for ref in refs:
        value = ref.value
        if isinstance(value, (bool, str, type(None))) or _plain_container(value):
            findings.append(_steering(ref.name, value, where))
        elif isinstance(value, (int, float, complex, np.number)):
            literals = _literal_values(jaxpr) if literals is None else literals
            if value in literals or _as_float32(value) in literals:
                findings.append(_scalar(ref.name, value, graph, where))
            else:  # read while tracing (a loop count, a size) but not folded in as a number
                findings.append(_steering(ref.name, value, where))
    return findings


class _Lines:
    """Where each outside name is read: the line in the function that reads it."""

    def __init__(self, refs: list[Reference]):
        self._readers = {ref.name: ref.reader for ref in refs}
        self._sources: dict[int, FunctionSource | None] = {}

    def of(self, name: str) -> tuple[str | None, int | None]:
        reader = self._readers.get(name)
        if reader is None:
            return None, None
        if id(reader) not in self._sources:
            self._sources[id(reader)] = function_source(reader)
        source = self._sources[id(reader)]
        if source is None:
            return None, None
        return source.filename, source.line_of_name(name)


def _as_float32(value: Any) -> Any:
    """How JAX stores a Python float literal by default (float32)."""
    try:
        return np.float32(value).item()
    except (TypeError, ValueError, OverflowError):
        return None


def _literal_values(jaxpr: Any) -> set:
    """Every scalar literal in the program (nested jaxprs included)."""
    values = set()
    for eqn in _compat.all_equations(jaxpr):
        for var in eqn.invars:
            if isinstance(var, _compat.Literal) and getattr(var.val, "ndim", 0) == 0:
                try:
                    values.add(var.val.item() if hasattr(var.val, "item") else var.val)
                except (TypeError, ValueError):
                    pass
    return values


def _plain_container(value: Any) -> bool:
    """A dict/list/tuple of Python values (no arrays, no functions): read while tracing,
    fixed afterwards."""
    if not isinstance(value, (dict, list, tuple)):
        return False
    leaves = jax.tree_util.tree_leaves(value)
    return not any(hasattr(leaf, "shape") or callable(leaf) for leaf in leaves)


def _is_constant_name(name: str) -> bool:
    return name.isupper()


def _scalar(name: str, value: Any, graph: Graph, where: _Lines) -> Finding:
    filename, line = where.of(name)
    nodes = [n.id for n in graph.nodes.values()
             if n.kind == "op" and n.source and n.source.line == line and line is not None]
    severity = "info" if _is_constant_name(name) else "warning"
    return Finding(
        "baked-constant", severity,
        f"`{name}` (= {value!r}) is a Python number from outside the function, read while "
        "tracing: its value is "
        f"baked into the compiled function, so changing `{name}` later won't change it",
        f"pass `{name}` as an argument (mark it static with static_argnums if it decides "
        "shapes or control flow)",
        line=line, filename=filename, node_ids=nodes,
    )


def _steering(name: str, value: Any, where: _Lines) -> Finding:
    shown = f"= {value!r}" if isinstance(value, (int, float, complex, np.number)) \
        else type(value).__name__
    filename, line = where.of(name)
    return Finding(
        "trace-time-value", "info",
        f"`{name}` ({shown}) was read while tracing: whatever it decided (branches, shapes, "
        "loop counts, options) is fixed in the compiled function",
        f"pass `{name}` as a static argument (static_argnums / static_argnames) so a new value "
        "retraces, or keep it constant on purpose",
        line=line, filename=filename,
    )


def _captured_arrays(graph: Graph, jaxpr: Any, refs: list[Reference],
                     where: _Lines) -> list[Finding]:
    """One finding per captured constant: constvars, or array literals when JAX inlines them."""
    findings = []
    consts = {n.id: n for n in graph.find(kind="const")}
    for node in consts.values():
        users = [e.dst for e in graph.edges if e.src == node.id]
        name = node.label if node.label != "const" else None
        size = node.params.get("nbytes")
        findings.append(_array_finding(name, node.shape, int(size) if size else None,
                                       [node.id, *users], where))
    for name, value in _array_literals(jaxpr, refs):
        findings.append(_array_finding(name, _compat.value_type_str(value),
                                       int(getattr(value, "nbytes", 0)), [], where))
    return [f for f in findings if f is not None]


def _array_literals(jaxpr: Any, refs: list[Reference]) -> list[tuple[str, Any]]:
    """Globals that appear as array literals (``jax_use_simplified_jaxpr_constants``)."""
    arrays = {id(r.value): r.name for r in refs if getattr(r.value, "ndim", 0) > 0}
    if not arrays or jaxpr is None:
        return []
    found: dict[str, Any] = {}
    for eqn in _compat.all_equations(jaxpr):
        for var in eqn.invars:
            if isinstance(var, _compat.Literal) and id(var.val) in arrays:
                found.setdefault(arrays[id(var.val)], var.val)
    return list(found.items())


def _array_finding(name: str | None, shape: str, nbytes: int | None, nodes: list[str],
                   where: _Lines) -> Finding | None:
    large = nbytes is not None and nbytes > LARGE_CONSTANT_BYTES
    if name is None and not large:
        return None
    root = name.split("[", 1)[0] if name else None
    filename, line = where.of(root) if root else (None, None)
    size = f", {format_bytes(nbytes)}" if nbytes else ""
    what = f"global array `{name}`" if name else "an array"
    message = (f"{what} ({shape}{size}) is captured as a constant: it is baked into the "
               f"compiled function, so updating it later won't change results")
    if large:
        message += "; at this size it costs memory in every executable and slows compiling"
    return Finding(
        "large-constant" if large else "captured-array", "warning" if large else "info",
        message,
        f"pass `{root}` as an argument" if root else "pass the array as an argument",
        line=line, filename=filename, node_ids=nodes,
    )
