"""View graph + expansion state -> DOT -> Graphviz -> SVG, cached per expansion state.

The same SVG is shown on screen and written by ``export``. Ids in the SVG are stable:
``n-<node id>`` for drawn nodes and collapsed groups, ``c-<group id>`` for open groups, so the
browser side can find every element whatever the expansion state.
"""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from jaxviz._stderr import silenced_stderr
from jaxviz.model import Graph, Node, Projection, project

#: Fill colours by node category; the legend in every display is built from this table.
CATEGORY_COLORS = {
    "input": ("#dbeafe", "input"),
    "const": ("#fde68a", "captured constant"),
    "output": ("#dcfce7", "output"),
    "elementwise": ("#f3f4f6", "elementwise"),
    "matmul": ("#fecaca", "dot / convolution"),
    "reduction": ("#e9d5ff", "reduction"),
    "movement": ("#e0f2fe", "data movement"),
    "collective": ("#fed7aa", "collective"),
    "random": ("#d1fae5", "random"),
    "control": ("#fef3c7", "control flow (collapsed)"),
    "call": ("#ede9fe", "nested call (collapsed)"),
    "scope": ("#f5f5f4", "named scope (collapsed)"),
    "part": ("#fafaf9", "branch / body (collapsed)"),
    "repeat": ("#fdba74", "unrolled Python loop (collapsed)"),
    "fusion": ("#ccfbf1", "XLA fusion (collapsed)"),
    "other": ("#ffffff", "other"),
}
FONT = "Helvetica,Arial,sans-serif"
#: Above this many drawn nodes, Graphviz's network-simplex passes are capped (≈10× faster).
BIG_LAYOUT = 150
EDGE_LABEL_LIMIT = 120
#: Up to this many drawn edges, shape labels take part in the layout (neater, slower).
LABELLED_EDGES = 60
#: An input or constant feeding more drawn boxes than this gets no edges, only a note of
#: how many it feeds: edges from one node to every layer make dot take minutes, and say
#: little (XLA's HLO dumper does the same with its parameters). Details list the uses.
#: Any other node's edges into (or out of) more boxes than this of one open group are
#: drawn as one edge to (from) the group.
FANOUT_LIMIT = 8
#: Edges from one node of a pass into more boxes than this of a later pass (the residuals a
#: forward pass hands its backward pass) are drawn as one edge, and so, like any sheaf out
#: of one group, all of them as one edge from pass to pass: each spans the whole drawing,
#: and dot's placement of a grad step's few hundred boxes took a second with them.
PASS_FANOUT_LIMIT = 0
_FANNED_CATEGORIES = ("input", "const")
_CLUSTER = 'style="rounded,dashed"; color="#9ca3af"; fontsize=10;'
#: Code XLA removed: faded and dashed, whatever its colour class.
_DIMMED_CLUSTER = 'style="rounded,dashed"; color="#d1d5db"; fontcolor="#9ca3af"; fontsize=10;'
_DIMMED_NODE = ('style="rounded,filled,dashed", fillcolor="#f9fafb", color="#d1d5db", '
                'fontcolor="#9ca3af"')
#: A box a comparison found no partner for (added to its own attributes: the last wins).
_FLAGGED_NODE = 'color="#dc2626", penwidth=2, style="rounded,filled,dashed"'
#: An open unrolled loop keeps standing out: a thick orange frame.
_REPEAT_CLUSTER = 'style="rounded,filled"; fillcolor="#fff7ed"; color="#f97316"; penwidth=2; fontsize=10;'



@dataclass(frozen=True)
class Layout:
    """One drawn view: the DOT source Graphviz laid out and the SVG it produced."""

    dot: str
    svg: str
    expanded: frozenset[str]
    node_count: int


class Layouter:
    """Lays out one graph, remembering recent expansion states (expanding is then instant)."""

    def __init__(self, graph: Graph, cache_size: int = 32, dimmed: frozenset[str] = frozenset()):
        self.graph = graph
        #: Nodes drawn faded: code XLA removed (see Trace.dead_nodes).
        self.dimmed = dimmed
        self._cache: OrderedDict[frozenset[str], Layout] = OrderedDict()
        self._cache_size = cache_size

    def layout(self, expanded: frozenset[str]) -> Layout:
        if expanded in self._cache:
            self._cache.move_to_end(expanded)
            return self._cache[expanded]
        dot, count = to_dot(self.graph, expanded, self.dimmed)
        result = Layout(dot=dot, svg=render(dot, "svg").decode("utf-8"), expanded=expanded,
                        node_count=count)
        self._cache[expanded] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result


def render(dot: str, fmt: str) -> bytes:
    """Run Graphviz's ``dot`` (bundled with pygraphviz) on DOT text; one thread at a time
    (Graphviz keeps global state, and the HLO view may be laid out in the background)."""
    import pygraphviz

    global _fonts_ready
    with _graphviz_lock:
        graph = pygraphviz.AGraph(string=dot)
        if _fonts_ready:
            return graph.draw(format=fmt, prog="dot")
        with silenced_stderr():
            result = graph.draw(format=fmt, prog="dot")
        _fonts_ready = True
        return result


_fonts_ready = False
_graphviz_lock = threading.Lock()


def to_dot(graph: Graph, expanded: frozenset[str],
           dimmed: frozenset[str] = frozenset()) -> tuple[str, int]:
    """DOT text for one expansion state, and the number of drawn nodes; ``dimmed`` nodes and
    groups are drawn faded and dashed."""
    body, count = _dot_body(graph, expanded, dimmed, "  ")
    return "\n".join(["digraph jaxviz {", *_dot_defaults(count > BIG_LAYOUT), *body, "}"]) + "\n", count


def side_by_side(drawings: list[tuple[str, Graph, frozenset[str], frozenset[str], list[str]]]
                 ) -> str:
    """One DOT text drawing several graphs left to right, each in a frame titled with its
    name: (title, graph, open groups, dimmed nodes, flagged boxes) each; flagged boxes get a
    red dashed outline (a comparison's boxes with no partner). Node ids get a prefix per
    graph (``0:``, ``1:``), so the graphs' ids stay apart."""
    lines, total = [], 0
    for k, (title, graph, expanded, dimmed, flagged) in enumerate(drawings):
        prefix = f"{k}:"
        body, count = _dot_body(graph.prefixed(prefix), frozenset(prefix + i for i in expanded),
                                frozenset(prefix + i for i in dimmed), "    ")
        total += count
        lines += [f'  subgraph "cluster_side{k}" {{',
                  f"    label={_html_label(_escape(title), bold=True)}; labeljust=l; "
                  'fontsize=13; style="rounded"; color="#d1d5db";',
                  *body,
                  *(f"    {_node_name(prefix + i)} [{_FLAGGED_NODE}];" for i in flagged),
                  "  }"]
    return "\n".join(["digraph jaxviz {", *_dot_defaults(total > BIG_LAYOUT), *lines, "}"]) + "\n"


def _dot_defaults(big: bool) -> list[str]:
    return [
        f'  graph [rankdir=TB, compound=true, fontname="{FONT}", fontsize=11, '
        'nodesep=0.25, ranksep=0.35, bgcolor="transparent"'
        + (", nslimit=2, nslimit1=2, mclimit=0.5, searchsize=20" if big else "")
        + "];",
        f'  node [shape=box, style="rounded,filled", fontname="{FONT}", fontsize=11, '
        'margin="0.12,0.04", height=0.3, color="#6b7280", penwidth=0.8];',
        f'  edge [fontname="{FONT}", fontsize=9, fontcolor="#6b7280", color="#9ca3af", '
        "arrowsize=0.6];",
    ]


def _dot_body(graph: Graph, expanded: frozenset[str], dimmed: frozenset[str],
              indent: str) -> tuple[list[str], int]:
    """The nodes, clusters and edges of one drawing, and how many nodes it draws."""
    view = project(graph, expanded)
    big = len(view.nodes) > BIG_LAYOUT
    lines: list[str] = []
    order = {node_id: i for i, node_id in enumerate(graph.nodes)}  # build order
    members = _members(graph, view, order)
    anchors: dict[str, str] = {}
    fanned = _fanned_out(graph, view)
    _emit_group(graph, None, members, set(view.clusters), (dimmed, fanned), anchors, lines,
                indent=indent)
    skipped = _far_chunk_edges(graph, view)
    drawn = {edge: labels for edge, labels in view.edges.items()
             if edge[0] not in fanned and edge not in skipped}
    edges, ties = _bundled(graph, drawn, order)
    # Edge labels become nodes of their own in dot's ranking; past a few dozen edges that
    # costs ~10x in layout time, so they are placed afterwards instead (xlabel).
    label_attr = "label" if len(edges) <= LABELLED_EDGES else "xlabel"
    for (src, dst), edge_labels in edges.items():
        text = _edge_text(_said(graph, src, dst, edge_labels))
        attrs = [f"{label_attr}={_html_label(text)}"] if not big else []
        if src in anchors:
            attrs.append(f'ltail="cluster_{src}"')
        if dst in anchors:
            attrs.append(f'lhead="cluster_{dst}"')
        a, b = anchors.get(src, _node_name(src)), anchors.get(dst, _node_name(dst))
        lines.append(f'{indent}{a} -> {b} [{", ".join(attrs)}];')
    for src, dst in ties:
        a, b = anchors.get(src, _node_name(src)), anchors.get(dst, _node_name(dst))
        lines.append(f"{indent}{a} -> {b} [style=invis];")
    return lines, len(view.nodes)


def _members(graph: Graph, view: Projection, order: dict[str, int]
             ) -> dict[str | None, list[str]]:
    """Drawn nodes and open clusters, by the cluster they sit in."""
    members: dict[str | None, list[str]] = {}
    for node_id in view.clusters + view.nodes:
        members.setdefault(graph.nodes[node_id].group, []).append(node_id)
    for ids in members.values():
        ids.sort(key=order.__getitem__)
    return members


def _fanned_out(graph: Graph, view: Projection) -> dict[str, int]:
    """Inputs and constants feeding more than FANOUT_LIMIT drawn boxes -> how many."""
    uses: dict[str, int] = {}
    for src, _ in view.edges:
        uses[src] = uses.get(src, 0) + 1
    return {src: count for src, count in uses.items()
            if count > FANOUT_LIMIT and graph.nodes[src].category in _FANNED_CATEGORIES}


def _far_chunk_edges(graph: Graph, view: Projection) -> set[tuple[str, str]]:
    """Edges between closed chunks of one level that are not neighbours.

    Chunks are consecutive slices of a long level (an XLA module of a thousand unfused
    instructions), and values flow from each to many later ones: hundreds of edges spanning
    dozens of ranks, which made dot take seconds for forty boxes. Drawn, the chunks form a
    chain through their neighbours; the details list every flow (they read the projection).
    """
    position: dict[str, int] = {}
    counts: dict[str | None, int] = {}
    for node in graph.nodes.values():
        if node.op == "chunk" and node.kind == "group":
            position[node.id] = counts[node.group] = counts.get(node.group, -1) + 1
    return {(src, dst) for src, dst in view.edges
            if src in position and dst in position
            and graph.nodes[src].group == graph.nodes[dst].group
            and abs(position[src] - position[dst]) > 1}


def _bundled(graph: Graph, edges: dict[tuple[str, str], list[str]], order: dict[str, int]
             ) -> tuple[dict[tuple[str, str], list[str]], list[tuple[str, str]]]:
    """Edges from one node into more than FANOUT_LIMIT boxes of one open group it is not in
    (PASS_FANOUT_LIMIT from one pass into a later one), merged into one edge to the group;
    then likewise edges into one node out of many boxes.

    dot routes an edge through every rank it spans: the residuals a forward pass hands to its
    backward pass, one long edge each, made opening a group take seconds, and a sheaf of them
    says no more than one edge. The details still list every use (they read the projection).
    Also returns ties, edges to draw invisibly: a merged edge out of a group leaves the
    group's anchor, at its top, so a tie from the member built last keeps the node below it.
    """
    around: dict[str, set[str]] = {}

    def outer(node: str, other: str) -> str | None:
        """The outermost open group around ``node`` that does not hold ``other``."""
        if other not in around:
            around[other] = {other, *graph.ancestors(other)}
        outside = [g for g in graph.ancestors(node) if g not in around[other]]
        return outside[-1] if outside else None

    def limit(group: str, other: str, into: bool) -> int:
        """How many edges between ``other`` and boxes of ``group`` (``into`` it, or out of
        it) are drawn one by one: PASS_FANOUT_LIMIT from a pass into a later one, the way
        residuals go (the odd value XLA shares the other way keeps its edge, and no tie
        that would pull the later pass up beside the earlier)."""
        parent = graph.nodes[group]
        if "pass" not in parent.params:
            return FANOUT_LIMIT
        side = next((g for g in (other, *graph.ancestors(other))
                     if graph.nodes[g].group == parent.group), other)
        if "pass" not in graph.nodes[side].params:
            return FANOUT_LIMIT
        earlier, later = (side, group) if into else (group, side)
        return PASS_FANOUT_LIMIT if order[earlier] < order[later] else FANOUT_LIMIT

    ties = []
    for inner in (1, 0):  # the end inside the group: heads (fan-out) first, then tails
        sheaves: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for edge in edges:
            group = outer(edge[inner], edge[1 - inner])
            if group is not None:
                sheaves.setdefault((edge[1 - inner], group), []).append(edge)
        bundle = {}
        for (node, group), members in sheaves.items():
            if len(members) <= limit(group, node, bool(inner)):
                continue
            bundle.update(dict.fromkeys(members, (node, group) if inner else (group, node)))
            if not inner:
                ties.append((max((src for src, _ in members), key=order.__getitem__), node))
        merged: dict[tuple[str, str], list[str]] = {}
        for edge, labels in edges.items():
            merged.setdefault(bundle.get(edge, edge), []).extend(labels)
        edges = merged
    return edges, ties


def _emit_group(graph, group, members, clusters, marks, anchors, lines, indent):
    """Nodes of one cluster (``None``: top level), open sub-groups as nested clusters;
    ``marks``: (dimmed ids, fanned-out ids -> uses)."""
    dimmed, fanned = marks
    for node_id in members.get(group, ()):
        node = graph.nodes[node_id]
        if node_id in clusters:
            lines.append(f'{indent}subgraph "cluster_{node_id}" {{')
            faded = node_id in dimmed
            lines.append(
                f'{indent}  id="c-{node_id}"; class="jv-cluster jv-{node.category}'
                f'{" jv-removed" if faded else ""}"; '
                f"label={_html_label(_escape(node.label), bold=True)}; labeljust=l; "
                + (_DIMMED_CLUSTER if faded else
                   _REPEAT_CLUSTER if node.category == "repeat" else _CLUSTER)
            )
            anchor = f'"anchor_{node_id}"'
            anchors[node_id] = anchor
            lines.append(
                f"{indent}  {anchor} [shape=point, width=0.01, height=0.01, style=invis, "
                f'label="", id="a-{node_id}"];'
            )
            _emit_group(graph, node_id, members, clusters, marks, anchors, lines, indent + "  ")
            lines.append(f"{indent}}}")
        else:
            attrs = _node_attrs(node, node_id in dimmed, fanned.get(node_id, 0))
            lines.append(f"{indent}{_node_name(node_id)} [{attrs}];")


def _node_name(node_id: str) -> str:
    return f'"{node_id}"'


def _node_attrs(node: Node, dimmed: bool = False, uses: int = 0) -> str:
    fill = CATEGORY_COLORS.get(node.category, CATEGORY_COLORS["other"])[0]
    text = _escape(node.label)
    if node.kind == "group":
        attrs = 'shape=box3d, style="filled", penwidth=1.2'
    elif node.kind in ("input", "const", "output"):
        attrs = 'shape=box, style="rounded,filled,bold"' if node.kind != "const" else \
            'shape=box, style="filled,dashed"'
        if node.shape:
            text += '<br/><font point-size="9" color="#4b5563">' + _escape(node.shape) + "</font>"
    else:
        attrs = ""
    if uses:
        text += f'<br/><font point-size="9" color="#4b5563">feeds {uses:,} boxes ↓</font>'
    classes = f"jv-node jv-{node.kind} jv-{node.category}" + (" jv-removed" if dimmed else "")
    parts = [f'id="n-{node.id}"', f'class="{classes}"', f'fillcolor="{fill}"',
             f"label={_html_label(text, bold=node.kind == 'group')}"]
    tip = _tooltip(node)
    if tip:
        parts.append(f'tooltip="{_dot_string(tip)}"')
    if attrs:
        parts.append(attrs)
    if dimmed:  # after the kind's style: the last value of an attribute wins
        parts.append(_DIMMED_NODE)
    return ", ".join(parts)


def _tooltip(node: Node) -> str:
    parts = [node.label]
    if node.shape:
        parts.append(node.shape)
    if node.source:
        parts.append(str(node.source))
    return " · ".join(parts)


def _said(graph: Graph, src: str, dst: str, labels: list[str]) -> list[str]:
    """What an edge says of the values it carries: from a forward pass into its backward
    pass they are the residuals (hundreds of shapes would say less)."""
    if len(labels) > 1 and graph.nodes[src].params.get("pass") == "forward" \
            and graph.nodes[dst].params.get("pass") == "backward":
        return ["residuals"] * len(labels)
    return labels


def _edge_text(labels: list[str]) -> str:
    distinct = list(dict.fromkeys(label for label in labels if label))
    text = ", ".join(distinct[:2]) + (" …" if len(distinct) > 2 else "")
    if len(labels) > 1:
        text += f" ×{len(labels)}"
    return _escape(text[:EDGE_LABEL_LIMIT])


def _escape(text: str) -> str:
    """Text for a Graphviz HTML-like label: entities escaped, control characters dropped."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text).replace("\n", " ")
    return html.escape(text, quote=True)


def _html_label(escaped: str, bold: bool = False) -> str:
    return f"<<b>{escaped}</b>>" if bold else f"<{escaped}>"


def _dot_string(text: str) -> str:
    """Text inside a double-quoted DOT string, where only ``\\`` and ``"`` are special.

    Graphviz also expands ``\\N``, ``\\G`` ... in some attributes, so backslashes are
    doubled, and line breaks dropped.
    """
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text)
    return text.replace("\\", "\\\\").replace('"', '\\"')
