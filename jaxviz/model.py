"""The view graph: nodes, edges and collapsible groups. Pure data; knows nothing about JAX.

Both views (jaxpr and HLO) are built into this model, and everything downstream (layout,
export, displays) reads only this model. Groups nest; an *expansion state* is the set of
group ids that are open. :func:`project` turns a graph plus an expansion state into the
handful of nodes and edges that are actually drawn.
"""

from __future__ import annotations

import linecache
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Iterable, Iterator

from jaxviz.formatting import place

#: Node kinds. A "group" holds other nodes (nested jaxprs, named scopes, fusions).
NODE_KINDS = ("op", "input", "const", "output", "group")


@dataclass(frozen=True)
class SourceLoc:
    """Where in the user's Python code a node came from."""

    filename: str
    line: int
    function: str

    @property
    def code(self) -> str:
        """The source line itself (cells compiled by IPython are in ``linecache`` too)."""
        return linecache.getline(self.filename, self.line).strip()

    @property
    def short(self) -> str:
        """``Cell In[2], line 4`` or ``model.py:204``: the place in the user's words."""
        return place(self.filename, self.line)

    def __str__(self) -> str:
        return f"{self.short} in {self.function}" if self.function else self.short


@dataclass
class Node:
    id: str
    kind: str
    op: str
    label: str
    shape: str = ""
    group: str | None = None
    source: SourceLoc | None = None
    links: list[str] = field(default_factory=list)
    #: Every parameter, as short display text (the label shows only those that matter).
    params: dict[str, str] = field(default_factory=dict)
    #: Colour class: "elementwise", "matmul", "reduction", ... (see layout.CATEGORY_COLORS).
    category: str = "other"
    #: For groups: whether the default view may open it (folded loops and chunks stay shut).
    opens_by_default: bool = True
    #: Has a side effect (a callback, a debug print): it runs even when no output needs it.
    effectful: bool = False
    #: When ``source`` is inside a library: the user's line that called into it.
    caller: SourceLoc | None = None

    @property
    def users_line(self) -> SourceLoc | None:
        """The user's own line this node came from (where they called a library, if so)."""
        return self.caller or self.source


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: str = ""


@dataclass
class Graph:
    view: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def add(self, node: Node) -> Node:
        if node.id in self.nodes:
            raise ValueError(f"duplicate node id {node.id!r}")
        self.nodes[node.id] = node
        return node

    def prefixed(self, prefix: str) -> "Graph":
        """A copy with ``prefix`` before every node id (two graphs in one drawing)."""
        copy = Graph(self.view)
        for node in self.nodes.values():
            copy.nodes[prefix + node.id] = replace(
                node, id=prefix + node.id, group=None if node.group is None else prefix + node.group)
        copy.edges = [Edge(prefix + e.src, prefix + e.dst, e.label) for e in self.edges]
        return copy

    def regrouped(self) -> None:
        """Forget what is cached about membership: call after moving nodes between groups."""
        for cached in ("_children", "leaf_counts", "_projections"):
            self.__dict__.pop(cached, None)

    @cached_property
    def _children(self) -> dict[str | None, list[str]]:
        children: dict[str | None, list[str]] = defaultdict(list)
        for node in self.nodes.values():
            children[node.group].append(node.id)
        return children

    def children(self, group: str | None) -> list[Node]:
        """Direct members of a group (``None``: the top level), in build order."""
        return [self.nodes[i] for i in self._children.get(group, ())]

    @property
    def groups(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "group"]

    def ancestors(self, node_id: str) -> Iterator[str]:
        """The groups around a node, innermost first."""
        group = self.nodes[node_id].group
        while group is not None:
            yield group
            group = self.nodes[group].group

    def depth(self, node_id: str) -> int:
        """0 for top-level nodes, 1 for members of a top-level group, and so on."""
        return sum(1 for _ in self.ancestors(node_id))

    @cached_property
    def leaf_counts(self) -> dict[str, int]:
        """Number of op nodes inside each group, at any depth."""
        counts: dict[str, int] = defaultdict(int)
        for node in self.nodes.values():
            if node.kind != "op":
                continue
            group = node.group
            while group is not None:
                counts[group] += 1
                group = self.nodes[group].group
        return counts

    def find(self, *, op: str | None = None, kind: str | None = None) -> list[Node]:
        return [
            n
            for n in self.nodes.values()
            if (op is None or n.op == op) and (kind is None or n.kind == kind)
        ]


def rolled_up(graph: Graph, placed: Iterable[tuple[Iterable[str | None], float]]
              ) -> dict[str, float]:
    """Amounts (seconds, bytes) placed on nodes, each split evenly over its nodes (those not
    in ``graph`` left out), added to each node and to every group around it."""
    totals: dict[str, float] = defaultdict(float)
    for targets, amount in placed:
        targets = [t for t in targets if t is not None and t in graph.nodes]
        for target in targets:
            for node in (target, *graph.ancestors(target)):
                totals[node] += amount / len(targets)
    return dict(totals)


def expansion(graph: Graph, expand: object = None, budget: int = 250) -> frozenset[str]:
    """The set of open groups for an ``expand`` request.

    ``None``: the default view, opening groups breadth-first while the drawn node count
    stays within ``budget``; ``"all"`` / ``"none"``; an ``int`` depth (groups shallower
    than it are open); or an iterable of group ids.
    """
    groups = graph.groups
    if expand is None:
        return _default_expansion(graph, budget)
    if expand == "all":
        return frozenset(g.id for g in groups)
    if expand == "none":
        return frozenset()
    if isinstance(expand, int) and not isinstance(expand, bool):
        return frozenset(g.id for g in groups if graph.depth(g.id) < expand)
    if isinstance(expand, str):
        raise ValueError(f"expand must be 'all', 'none', a depth or group ids, not {expand!r}")
    ids = frozenset(expand)  # type: ignore[arg-type]
    unknown = sorted(i for i in ids if graph.nodes.get(i) is None or graph.nodes[i].kind != "group")
    if unknown:
        raise ValueError(f"not group ids of this graph: {', '.join(unknown[:5])}")
    return ids


def _default_expansion(graph: Graph, budget: int) -> frozenset[str]:
    """Structure first, then everything else, breadth-first within ``budget`` drawn nodes.

    The structure is what mirrors the user's code: named scopes, modules and passes
    (``scope`` groups), and each folded Python loop with its first iteration open (the
    others stay closed: they are alike). Then any group that may open by default."""
    state = {"visible": len(graph.children(None))}
    opened: set[str] = set()

    def try_open(chain: list[Node]) -> bool:
        """Open every group of ``chain`` (a group and its first member, ...) or none."""
        cost = sum(len(graph.children(g.id)) - 1 for g in chain)
        if state["visible"] + cost > budget:
            return False
        state["visible"] += cost
        opened.update(g.id for g in chain)
        return True

    def structure(group: Node) -> list[Node] | None:
        if group.category == "scope":
            return [group]
        if group.op == "unrolled":  # the loop, down to its first iteration
            chain = [group]
            while (first := next((m for m in graph.children(chain[-1].id) if m.kind == "group"
                                  and m.op in ("chunk", "iteration")), None)) is not None:
                chain.append(first)
                if first.op == "iteration":
                    return chain
            return None  # one op per iteration: nothing to show but the ops
        return None

    def other(group: Node) -> list[Node] | None:  # not the other iterations: they are alike
        return [group] if group.opens_by_default and group.op != "iteration" else None

    for pick in (structure, other):
        queue = [n for n in graph.children(None) if n.kind == "group"]
        while queue:
            next_queue = []
            for group in queue:
                chain = pick(group) if group.id not in opened else [group]
                if chain and (group.id in opened or try_open(chain)):
                    next_queue.extend(m for g in chain for m in graph.children(g.id)
                                      if m.kind == "group")
            queue = next_queue
    return frozenset(opened)


@dataclass
class Projection:
    """What is drawn for one expansion state."""

    #: Drawn nodes, collapsed groups included (not open groups: those are clusters).
    nodes: list[str]
    #: Open groups, drawn as boxes around their members.
    clusters: list[str]
    #: (src, dst) -> labels of the edges merged into that drawn edge.
    edges: dict[tuple[str, str], list[str]]
    #: Every node -> the drawn node or cluster standing for it (itself when drawn).
    stand_in: dict[str, str]


#: Projections a graph keeps, the latest: a view's drawing, node index and the layouts
#: beside it each project the same one or two expansion states.
PROJECTIONS_KEPT = 2


def project(graph: Graph, expanded: Iterable[str]) -> Projection:
    """Map every node to what stands for it when ``expanded`` groups are open (the same
    object for the same state while the graph is not regrouped: read it, do not change it).

    A node inside a closed group is represented by the outermost closed group around it;
    edges are redirected accordingly, and edges inside one closed group disappear.
    """
    expanded = frozenset(expanded)
    kept: OrderedDict[tuple, Projection] = graph.__dict__.setdefault("_projections",
                                                                     OrderedDict())
    key = (expanded, len(graph.nodes), len(graph.edges))  # a graph still being built grows
    if key in kept:
        kept.move_to_end(key)
        return kept[key]
    kept[key] = shown = _project(graph, expanded)
    if len(kept) > PROJECTIONS_KEPT:
        kept.popitem(last=False)
    return shown


def _project(graph: Graph, expanded: frozenset[str]) -> Projection:
    rep: dict[str | None, str | None] = {None: None}

    def _group_rep(group: str) -> str | None:
        """None when the group and all its ancestors are open, else who stands for it."""
        parent = graph.nodes[group].group
        if parent not in rep:
            rep[parent] = _group_rep(parent)
        outer = rep[parent]
        if outer is not None:
            return outer
        return None if group in expanded else group

    # One pass over nodes and one over edges, no call per node: opening a group of a
    # 100k-equation program is mostly this projection.
    nodes, clusters, stand_in = [], [], {}
    for node_id, node in graph.nodes.items():
        group = node.group
        if group not in rep:
            rep[group] = _group_rep(group)
        outer = rep[group]
        if outer is not None:
            stand_in[node_id] = outer
            continue
        stand_in[node_id] = node_id
        if node.kind == "group" and node_id in expanded:
            clusters.append(node_id)
        else:
            nodes.append(node_id)
    edges: dict[tuple[str, str], list[str]] = {}
    for edge in graph.edges:
        src, dst = stand_in[edge.src], stand_in[edge.dst]
        if src != dst:
            if (src, dst) in edges:
                edges[src, dst].append(edge.label)
            else:
                edges[src, dst] = [edge.label]
    return Projection(nodes, clusters, edges, stand_in)
