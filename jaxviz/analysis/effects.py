"""Side effects that run only while JAX traces: ``print`` inside a jitted function."""

from __future__ import annotations

from jaxviz.analysis.source import FunctionSource
from jaxviz.findings import Finding


def effect_findings(trace_stdout: str, source: FunctionSource | None) -> list[Finding]:
    if not trace_stdout:
        return []
    lines = source.print_lines() if source else []
    printed = trace_stdout.strip().splitlines()
    sample = printed[0] if printed else ""
    sample = sample if len(sample) <= 80 else sample[:79] + "…"
    tracers = "Tracer" in trace_stdout
    return [Finding(
        "trace-side-effect", "warning",
        f"print ran only while tracing (it printed {sample!r}): cached calls of the compiled "
        "function won't print" + (", and what it showed were tracers, not values"
                                  if tracers else ""),
        "use jax.debug.print('x = {x}', x=x) to print values every time the function runs",
        line=lines[0] if lines else None, filename=source.filename if source else None,
    )]
