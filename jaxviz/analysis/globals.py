"""Globals baked in at trace time: Python scalars folded into literals, arrays captured as
constants, and Python values (flags, strings, dicts) that steered the trace.

JAX reads a global once, while tracing; the compiled function keeps that value forever.
The seed lessons: ``x + shift`` with a global ``shift``, ``x @ W + b`` with a global ``b``,
``if config['relu']:``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import jax
import numpy as np

from jaxviz import _compat
from jaxviz.analysis.source import FunctionSource
from jaxviz.display.text import format_bytes
from jaxviz.findings import Finding
from jaxviz.model import Graph

#: A captured constant above this size costs memory in every executable and slows compiles.
LARGE_CONSTANT_BYTES = 1 << 20


def global_findings(fn: Callable, jaxpr: Any, graph: Graph,
                    source: FunctionSource | None) -> list[Finding]:
    names = _referenced(fn)
    findings = []
    findings += _captured_arrays(graph, jaxpr, names, source)
    for name, value in names.items():
        if isinstance(value, (bool, str, type(None))) or _plain_container(value):
            findings.append(_steering(name, value, source))
        elif isinstance(value, (int, float, complex, np.number)):
            literals = _literal_values(jaxpr)
            if value in literals or _as_float32(value) in literals:
                findings.append(_scalar(name, value, graph, source))
            else:  # read while tracing (a loop count, a size) but not folded in as a number
                findings.append(_steering(name, value, source))
    return findings


def _as_float32(value: Any) -> Any:
    """How JAX stores a Python float literal by default (float32)."""
    try:
        return np.float32(value).item()
    except (TypeError, ValueError, OverflowError):
        return None


def _literal_values(jaxpr: Any) -> set:
    """Every scalar literal in the program (nested jaxprs included)."""
    values = set()
    for eqn in _all_equations(jaxpr.jaxpr):
        for var in eqn.invars:
            if isinstance(var, _compat.Literal) and getattr(var.val, "ndim", 0) == 0:
                try:
                    values.add(var.val.item() if hasattr(var.val, "item") else var.val)
                except (TypeError, ValueError):
                    pass
    return values


def _referenced(fn: Callable) -> dict[str, Any]:
    """Globals and closure variables the function's code reads (not modules or functions)."""
    try:
        found = inspect.getclosurevars(inspect.unwrap(fn))
    except (TypeError, ValueError):
        return {}
    return {
        name: value
        for scope in (found.nonlocals, found.globals)
        for name, value in scope.items()
        if not (inspect.ismodule(value) or callable(value) or isinstance(value, type))
    }


def _plain_container(value: Any) -> bool:
    """A dict/list/tuple of Python values (no arrays): read while tracing, fixed afterwards."""
    if not isinstance(value, (dict, list, tuple)):
        return False
    leaves = jax.tree_util.tree_leaves(value)
    return not any(hasattr(leaf, "shape") for leaf in leaves)


def _is_constant_name(name: str) -> bool:
    return name.isupper()


def _scalar(name: str, value: Any, graph: Graph, source: FunctionSource | None) -> Finding:
    line = source.line_of_name(name) if source else None
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
        line=line, filename=source.filename if source else None, node_ids=nodes,
    )


def _steering(name: str, value: Any, source: FunctionSource | None) -> Finding:
    shown = f"= {value!r}" if isinstance(value, (int, float, complex, np.number)) \
        else type(value).__name__
    line = source.line_of_name(name) if source else None
    return Finding(
        "trace-time-value", "info",
        f"`{name}` ({shown}) was read while tracing: whatever it decided (branches, shapes, "
        "loop counts, options) is fixed in the compiled function",
        f"pass `{name}` as a static argument (static_argnums / static_argnames) so a new value "
        "retraces, or keep it constant on purpose",
        line=line, filename=source.filename if source else None,
    )


def _captured_arrays(graph: Graph, jaxpr: Any, names: dict[str, Any],
                     source: FunctionSource | None) -> list[Finding]:
    """One finding per captured constant: constvars, or array literals when JAX inlines them."""
    findings = []
    consts = {n.id: n for n in graph.find(kind="const")}
    for node in consts.values():
        users = [e.dst for e in graph.edges if e.src == node.id]
        name = node.label if node.label != "const" else None
        size = node.params.get("nbytes")
        findings.append(_array_finding(name, node.shape, int(size) if size else None,
                                       [node.id, *users], source))
    for name, value in _array_literals(jaxpr, names):
        findings.append(_array_finding(name, _compat.value_type_str(value),
                                       int(getattr(value, "nbytes", 0)), [], source))
    return [f for f in findings if f is not None]


def _array_literals(jaxpr: Any, names: dict[str, Any]) -> list[tuple[str, Any]]:
    """Globals that appear as array literals (``jax_use_simplified_jaxpr_constants``)."""
    arrays = {id(v): n for n, v in names.items() if hasattr(v, "shape") and getattr(v, "ndim", 0) > 0}
    if not arrays or jaxpr is None:
        return []
    found: dict[str, Any] = {}
    for eqn in _all_equations(jaxpr.jaxpr):
        for var in eqn.invars:
            if isinstance(var, _compat.Literal) and id(var.val) in arrays:
                found.setdefault(arrays[id(var.val)], var.val)
    return list(found.items())


def _all_equations(jaxpr: Any):
    for eqn in jaxpr.eqns:
        yield eqn
        for _, sub in _compat.sub_jaxprs(eqn.params):
            yield from _all_equations(_compat.open_jaxpr(sub)[0])


def _array_finding(name: str | None, shape: str, nbytes: int | None, nodes: list[str],
                   source: FunctionSource | None) -> Finding | None:
    large = nbytes is not None and nbytes > LARGE_CONSTANT_BYTES
    if name is None and not large:
        return None
    root = name.split("[", 1)[0] if name else None
    line = source.line_of_name(root) if source and root else None
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
        line=line, filename=source.filename if source else None, node_ids=nodes,
    )
