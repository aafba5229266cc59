"""What each iteration of a folded Python loop reads: the inputs no other iteration reads
(a layer's parameters). Names the iterations after them (``iteration 2 ·
params['layers'][2]``) and tells the findings whether the loop walks over layers."""

from __future__ import annotations

from collections import Counter

from jaxviz.grouping import common_prefix, path_parts
from jaxviz.model import Graph, Node


def own_inputs(graph: Graph, loop: Node) -> dict[str, list[str]]:
    """Iteration group id -> the input / constant nodes only that iteration reads."""
    iterations = [m.id for m in graph.children(loop.id) if m.op == "iteration"]
    if len(iterations) < 2:
        return {}
    wanted = set(iterations)
    owner: dict[str, str] = {}
    for node_id in graph.nodes:
        group = next((g for g in graph.ancestors(node_id) if g in wanted), None)
        if group is not None:
            owner[node_id] = group
    readers: dict[str, set[str]] = {}
    for edge in graph.edges:
        if edge.dst in owner and graph.nodes[edge.src].kind in ("input", "const"):
            readers.setdefault(edge.src, set()).add(owner[edge.dst])
    own: dict[str, list[str]] = {i: [] for i in iterations}
    order = {node_id: k for k, node_id in enumerate(graph.nodes)}
    for source in sorted(readers, key=order.__getitem__):  # in the arguments' order
        if len(readers[source]) == 1:
            own[next(iter(readers[source]))].append(source)
    return own


def name_iterations(graph: Graph) -> None:
    """``iteration 2`` -> ``iteration 2 · params['layers'][2]`` (``leaf 7 ·
    params['layers'][1]['wq']``) where each iteration reads a part of one pytree of its own."""
    for loop in graph.groups:
        if loop.op not in ("unrolled", "parallel"):
            continue
        owned = {iteration: [path_parts(graph.nodes[i].label) for i in inputs]
                 for iteration, inputs in own_inputs(graph, loop).items()}
        if loop.op == "parallel" and owned and all(owned.values()):  # a pytree's leaves
            loop.label = loop.label.replace(" alike · ", " per leaf · ", 1)
            for iteration in owned:
                graph.nodes[iteration].label = graph.nodes[iteration].label.replace(
                    "item ", "leaf ", 1)
        # The pytree the iterations walk over: the root most of them read a part of (the
        # first iteration also reads the loop's start value alone).
        roots = Counter(root for paths in owned.values()
                        for root in dict.fromkeys(p[0] for p in paths))
        if not roots:
            continue
        root = roots.most_common(1)[0][0]
        for iteration, paths in owned.items():
            prefix = common_prefix([p for p in paths if p[0] == root])
            if len(prefix) > 1:
                graph.nodes[iteration].label += " · " + "".join(prefix)
