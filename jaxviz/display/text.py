"""A Trace as plain text: what ``repr`` and terminal IPython show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jaxviz.capture import STAGES
from jaxviz.formatting import format_bytes, format_count, format_seconds
from jaxviz.model import expansion, project

if TYPE_CHECKING:
    from jaxviz.trace import Trace


def summary(trace: "Trace") -> str:
    lines = [f"jaxviz.Trace of {trace.fn_name} on {trace.device}"]
    if trace.jaxpr is not None:
        graph = trace.graph("jaxpr", linked=False)
        ops = len(graph.find(kind="op"))
        groups = len(graph.groups)
        inputs = ", ".join(f"{n.label} {n.shape}" for n in graph.find(kind="input"))
        outputs = ", ".join(f"{n.label} {n.shape}" for n in graph.find(kind="output"))
        lines.append(f"  jaxpr: {ops} equations in {groups} groups")
        drawn = len(project(graph, expansion(graph)).nodes)
        if drawn < len(graph.nodes) - groups:
            lines.append(f"  view: {drawn} boxes drawn, the rest inside closed groups "
                         "(open them, or export with expand='all')")
        lines.append(f"  inputs: {_clip(inputs) or '(none)'}")
        lines.append(f"  outputs: {_clip(outputs) or '(none)'}")
        if trace.static_inputs:
            static = ", ".join(f"{leaf.path}={leaf.value}" for leaf in trace.static_inputs)
            lines.append(f"  static (not traced): {_clip(static)}")
    lines.append("  stages: " + stages_text(trace))
    if trace.ready and trace.cost:
        lines.append("  cost: " + cost_text(trace.cost))
    if trace.ready and trace.memory:
        lines.append("  memory: " + memory_text(trace.memory))
    if trace.trace_stdout:
        lines.append("  printed while tracing: " + _clip(repr(trace.trace_stdout)))
    for finding in trace.findings_so_far:
        lines.extend("  " + line for line in str(finding).splitlines())
    timing = trace.timing_so_far
    if timing is not None:
        lines.extend("  " + line for line in str(timing).splitlines())
    if "time" in trace.progress:  # in the background, or failed there
        lines.append("  " + trace.progress["time"])
    for measured in (trace.profiled, trace.memory_at_peak):
        if measured is not None:
            lines.extend("  " + line for line in str(measured).splitlines())
    return "\n".join(lines)


def stages_text(trace: "Trace") -> str:
    """``trace 0.25 s · lower 0.4 s · compile 1.2 s``; while compiling, the trace alone."""
    if not trace.ready:
        return f"trace {format_seconds(trace.durations['trace'])} · lowering and compiling…"
    parts = []
    for stage in STAGES:
        if stage in trace.errors:
            parts.append(f"{stage} failed")
            break
        if stage in trace.durations:
            parts.append(f"{stage} {format_seconds(trace.durations[stage])}")
    return " · ".join(parts)


def cost_text(cost: dict) -> str:
    parts = []
    for key, unit in (("flops", "FLOPs"), ("transcendentals", "transcendentals"),
                      ("bytes_accessed", "bytes accessed")):
        value = cost.get(key)
        parts.append(f"{unit} {format_count(value)}" if value is not None else f"{unit} n/a")
    return " · ".join(parts)


def memory_text(memory: dict) -> str:
    names = (("argument_size_in_bytes", "arguments"), ("output_size_in_bytes", "outputs"),
             ("temp_size_in_bytes", "temporaries"), ("peak_memory_in_bytes", "peak"))
    return " · ".join(
        f"{label} {format_bytes(memory[key])}" if memory.get(key) is not None else f"{label} n/a"
        for key, label in names
    )


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
