"""What each iteration of a folded Python loop reads: the inputs no other iteration reads
(a layer's parameters). Names the iterations after them (``iteration 2 ·
params['layers'][2]``) and tells the findings whether the loop walks over layers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from jaxviz.grouping import common_prefix, path_parts
from jaxviz.model import Graph, Node


@dataclass
class InputReads:
    """Who reads the inputs and constants: node id -> those it reads, and each input's
    place among them (the arguments' order)."""

    feeds: dict[str, list[str]]
    order: dict[str, int]

    @classmethod
    def of(cls, graph: Graph) -> "InputReads":
        order = {node.id: position for position, node in enumerate(graph.nodes.values())
                 if node.kind in ("input", "const")}
        feeds: dict[str, list[str]] = {}
        for edge in graph.edges:
            if edge.src in order:
                feeds.setdefault(edge.dst, []).append(edge.src)
        return cls(feeds, order)


def own_inputs(graph: Graph, loop: Node, reads: InputReads | None = None) -> dict[str, list[str]]:
    """Iteration group id -> the input / constant nodes only that iteration reads, in the
    arguments' order.

    ``reads``, when the caller asks about many loops: then this costs the loop's size, not
    the graph's."""
    iterations = [m.id for m in iterations_of(graph, loop)]
    if len(iterations) < 2:
        return {}
    reads = InputReads.of(graph) if reads is None else reads
    readers: dict[str, set[str]] = {}
    for iteration in iterations:
        todo = [iteration]
        while todo:
            member = todo.pop()
            todo.extend(m.id for m in graph.children(member))
            for source in reads.feeds.get(member, ()):
                readers.setdefault(source, set()).add(iteration)
    own: dict[str, list[str]] = {i: [] for i in iterations}
    for source in sorted(readers, key=reads.order.__getitem__):
        if len(readers[source]) == 1:
            own[next(iter(readers[source]))].append(source)
    return own


def iterations_of(graph: Graph, loop: Node) -> list[Node]:
    """A folded loop's iteration groups, in order (the others wait in an "alike" group,
    perhaps in chunks)."""
    found, todo = [], list(reversed(graph.children(loop.id)))
    while todo:
        member = todo.pop()
        if member.op == "iteration":
            found.append(member)
        elif member.op in ("alike", "chunk"):
            todo.extend(reversed(graph.children(member.id)))
    return found


def name_iterations(graph: Graph) -> None:
    """``iteration 2`` -> ``iteration 2 · params['layers'][2]`` (``leaf 7 ·
    params['layers'][1]['wq']``) where each iteration reads a part of one pytree of its own."""
    reads = InputReads.of(graph)
    for loop in graph.groups:
        if loop.op not in ("unrolled", "parallel"):
            continue
        owned = {iteration: [path_parts(graph.nodes[i].label) for i in inputs]
                 for iteration, inputs in own_inputs(graph, loop, reads).items()}
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
