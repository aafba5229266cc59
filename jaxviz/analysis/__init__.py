"""Findings: the traps in a traced program, each with the line and the fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jaxviz.findings import Finding

if TYPE_CHECKING:
    from jaxviz.trace import Trace

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def findings(trace: "Trace") -> list[Finding]:
    """Every finding for a trace, errors first."""
    from jaxviz.analysis import effects, errors, globals, loops, recompile, removed
    from jaxviz.analysis.source import function_source

    cap = trace._cap
    source = function_source(cap.original)
    found = errors.error_findings(cap)
    found += effects.effect_findings(cap.trace_stdout, source)
    found += recompile.recompile_findings(trace.cache_misses, cap.original)
    if trace.jaxpr is not None:
        graph = trace.graph("jaxpr", linked=False)  # no HLO needed: findings stay cheap
        found += loops.loop_findings(graph, sum(cap.durations.values()) if cap.hlo_text else None)
        found += globals.global_findings(cap.original, trace.jaxpr, graph)
        if trace.hlo_text is not None:
            found += removed.removed_findings(graph)
    return sorted(found, key=lambda f: _SEVERITY_ORDER.get(f.severity, 3))
