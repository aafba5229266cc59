"""Unrolled Python loops as findings: one per loop of the user's, at its own line, with the
rewrite (``lax.fori_loop`` / ``lax.scan``). The loops themselves are found while the graph is
built (structure/repeats.py) and drawn as "unrolled loop ×N" groups.
"""

from __future__ import annotations

from jaxviz.formatting import format_seconds
from jaxviz.findings import Finding
from jaxviz.model import Graph, Node
from jaxviz.structure.loops import own_inputs


def loop_findings(graph: Graph, jit_seconds: float | None = None) -> list[Finding]:
    """One finding per Python loop of the user's, at the loop's own line, with the rewrite.

    A loop traced under ``grad`` is unrolled twice, in the forward pass and in its gradient:
    both copies sit at the same ``for`` and make one finding.
    """
    by_place: dict[tuple, list[Node]] = {}
    for group in graph.groups:
        if group.op == "unrolled" and not _inside_unrolled(graph, group):
            place = (group.source.filename, group.source.line) if group.source else group.id
            by_place.setdefault(place, []).append(group)
    findings = []
    for loops in by_place.values():
        first = loops[0]
        repeats = int(first.params["repeats"])
        equations = sum(graph.leaf_counts.get(group.id, 0) for group in loops)
        passes = ""
        if len(loops) > 1 and any(_in_gradient(graph, group) for group in loops):
            passes = " in the forward pass and again in its gradient"
        message = (f"Python loop unrolled {repeats}×{passes} ({equations} equations; body: "
                   f"{first.params['body']}): JAX traces and XLA compiles every iteration "
                   "separately")
        if jit_seconds is not None:
            message += (f"; tracing and compiling this program took "
                        f"{format_seconds(jit_seconds)}")
        if any(_reads_own_inputs(graph, group) for group in loops):
            hint = ("stack the per-iteration parameters (jax.tree.map(lambda *p: jnp.stack(p), "
                    "*layers)) and run the body once with lax.scan over them")
        else:
            hint = (f"write it as lax.fori_loop(0, {repeats}, body, carry) or lax.scan: the body "
                    "is traced once and compile time stops growing with the trip count")
        findings.append(Finding(
            "unrolled-loop", "warning", message, hint,
            line=first.source.line if first.source else None,
            filename=first.source.filename if first.source else None,
            node_ids=[group.id for group in loops],
        ))
    return findings


def _in_gradient(graph: Graph, node: Node) -> bool:
    """Inside a ``transpose(...)`` scope: the backward pass of ``grad``."""
    return any(graph.nodes[g].op == "scope"
               and graph.nodes[g].params.get("scope", "").startswith("transpose(")
               for g in graph.ancestors(node.id))


def _inside_unrolled(graph: Graph, node: Node) -> bool:
    parent = node.group
    while parent is not None:
        if graph.nodes[parent].op == "unrolled":
            return True
        parent = graph.nodes[parent].group
    return False


def _reads_own_inputs(graph: Graph, loop: Node) -> bool:
    """True when each iteration reads function inputs no other iteration reads (layers)."""
    own = own_inputs(graph, loop)
    return bool(own) and all(own.values())
