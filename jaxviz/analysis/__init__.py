"""Findings: the traps in a traced program, each with the line and the fix."""

from __future__ import annotations

from typing import Callable

from jaxviz import _gc
from jaxviz.capture import Capture
from jaxviz.findings import Finding
from jaxviz.model import Graph

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@_gc.paused()  # a set or a list entry per node (see _gc.py)
def findings(cap: Capture, jaxpr_graph: Callable[[], Graph], cache_misses: list,
             compiled: bool = True) -> list[Finding]:
    """Every finding for a captured call, errors first.

    ``jaxpr_graph`` builds (or returns) the jaxpr view, when there is a jaxpr: findings read
    that view alone, no HLO, so they stay cheap. ``cache_misses``: the traces JAX made
    while the ``%%jaxtrace`` cell ran. ``compiled`` False: lowering and compiling are still
    running, so what needs their outcome (their errors, code XLA removes, compile seconds)
    is left out.
    """
    from jaxviz.analysis import effects, errors, globals, loops, recompile, removed
    from jaxviz.analysis.source import function_source

    source = function_source(cap.original)
    found = errors.error_findings(cap)
    found += effects.effect_findings(cap.trace_stdout, source)
    found += recompile.recompile_findings(cache_misses, cap.original)
    if cap.jaxpr is not None:
        graph = jaxpr_graph()
        compile_seconds = sum(cap.durations.values()) if compiled and cap.compiled else None
        found += loops.loop_findings(graph, compile_seconds)
        found += globals.global_findings(cap.original, cap.jaxpr, graph)
        if compiled and cap.compiled:
            found += removed.removed_findings(graph)
    return sorted(found, key=lambda f: _SEVERITY_ORDER.get(f.severity, 3))
