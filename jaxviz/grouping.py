"""Groups both views add to keep every level of a graph small: big pytrees of inputs and
outputs grouped by path, and long levels split into chunks. Pure graph work, no JAX."""

from __future__ import annotations

import re
from typing import Callable

from jaxviz.model import Graph, Node

#: Adds a group to the graph from Node fields (id and kind are the builder's) and returns it.
NewGroup = Callable[..., Node]

#: A pytree path prefix with more leaves than this becomes a collapsible group.
PYTREE_GROUP_MIN = 8
_PATH_PART = re.compile(r"\[[^\]]*\]|\.[^.\[]+|[^.\[]+")

#: Most members one level of a graph may have; longer levels are split into chunks ...
CHUNK_MAX = 150
#: ... of which there are at most this many, ...
CHUNK_COUNT = 40
#: ... each with at least this many members.
CHUNK_MIN = 20
#: Colour classes that stay where they are: inputs, outputs (and their pytree groups) and
#: constants are drawn apart from the program's steps.
_UNCHUNKED = ("input", "output", "const")


def group_pytree(leaves: list[Node], op: str, new_group: NewGroup) -> None:
    """Group big pytrees of inputs or outputs by path: ``layers`` > ``layers[3]`` > leaves.

    A list of 128 layers of 10 weights would otherwise put 1280 nodes in every view;
    a path prefix becomes a group when it holds more than ``PYTREE_GROUP_MIN`` leaves
    split over several children, and so does every multi-leaf prefix inside such a group.
    ``op`` is "inputs" or "outputs".
    """
    paths = {node.id: path_parts(node.label) for node in leaves}
    counts: dict[tuple[str, ...], int] = {}
    children: dict[tuple[str, ...], set[str]] = {}
    for parts in paths.values():
        for depth in range(1, len(parts)):
            counts[parts[:depth]] = counts.get(parts[:depth], 0) + 1
            children.setdefault(parts[:depth], set()).add(parts[depth])
    group_of: dict[tuple[str, ...], str] = {}
    for prefix in sorted(counts, key=len):
        parent = next((group_of[prefix[:d]] for d in range(len(prefix) - 1, 0, -1)
                       if prefix[:d] in group_of), None)
        big = counts[prefix] > PYTREE_GROUP_MIN and len(children[prefix]) >= 2
        if not (big or (parent is not None and counts[prefix] >= 2)):
            continue
        group_of[prefix] = new_group(
            op=op, label=f"{''.join(prefix)} · {counts[prefix]} arrays", group=parent,
            category="input" if op == "inputs" else "output", opens_by_default=False).id
    for node in leaves:
        parts = paths[node.id]
        node.group = next((group_of[parts[:d]] for d in range(len(parts) - 1, 0, -1)
                           if parts[:d] in group_of), None)


def path_parts(label: str) -> tuple[str, ...]:
    """``layers[3]['wq']`` -> ``('layers', '[3]', "['wq']")``."""
    return tuple(_PATH_PART.findall(label)) or (label,)


def common_prefix(paths: list[tuple]) -> tuple:
    """The longest start every path shares (``()`` for none)."""
    if not paths:
        return ()
    first = paths[0]
    length = min(len(p) for p in paths)
    for path in paths[1:]:
        while path[:length] != first[:length]:
            length -= 1
    return first[:length]


def chunk_long_levels(graph: Graph, new_group: NewGroup) -> None:
    """Split any level with more than ``CHUNK_MAX`` members into consecutive chunks.

    A long straight-line program (or a loop of 1000 iterations, or an XLA module of
    thousands of unfused instructions) would otherwise put thousands of nodes on one level,
    which no default view can show; chunks nest, so every level stays below ``CHUNK_MAX``.
    """
    members: dict[str | None, list[Node]] = {}
    for node in graph.nodes.values():
        if node.category not in _UNCHUNKED:
            members.setdefault(node.group, []).append(node)
    pending = [group for group, nodes in members.items() if len(nodes) > CHUNK_MAX]
    while pending:
        group = pending.pop()
        nodes = members[group]
        size = max(-(-len(nodes) // CHUNK_COUNT), CHUNK_MIN)
        for start in range(0, len(nodes), size):
            part = nodes[start:start + size]
            chunk = new_group(op="chunk", label=_chunk_label(part), group=group,
                              category="part", opens_by_default=False)
            for node in part:
                node.group = chunk.id
            members[chunk.id] = part
            if len(part) > CHUNK_MAX:
                pending.append(chunk.id)
    graph.regrouped()


def _chunk_label(part: list[Node]) -> str:
    """``iterations 0–24``, or ``2500 ops · lines 12–14``."""
    if all(n.op == "iteration" for n in part):
        return f"iterations {part[0].label.split()[-1]}–{part[-1].label.split()[-1]}"
    lines = sorted({n.source.line for n in part if n.source})
    where = ""
    if lines:
        where = f" · line {lines[0]}" if len(lines) == 1 else f" · lines {lines[0]}–{lines[-1]}"
    what = "ops" if all(n.kind == "op" for n in part) else "items"
    return f"{len(part)} {what}{where}"
