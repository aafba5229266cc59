"""What the browser shows of a trace, as JSON-ready data: the trace state (header, findings,
texts, timing, legend, views) and a view's state (SVG, open groups, the node index sized by
what is drawn). The widget (``widget.py``) syncs it as traits; the static page (``html.py``)
embeds it; the browser side (``js/``) is one program over both.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import re
import weakref
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jaxviz import _compat, _gc
from jaxviz.capture import STAGES
from jaxviz.display import svg, text
from jaxviz.layout import CATEGORY_COLORS, render
from jaxviz.model import Graph, Node, Projection, SourceLoc, expansion, project

if TYPE_CHECKING:
    from jaxviz.trace import Trace

STATIC = Path(__file__).resolve().parent.parent / "static"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
VIEW_NAMES = {"jaxpr": "jaxpr", "hlo": "HLO"}
#: Longest program text (jaxpr, StableHLO, HLO) the live widget holds; longer ones are cut.
TEXT_LIMIT = 200_000
#: Up to this much HLO text (parsed, built and linked in about a second), the details panel
#: asks for links by itself; past it, the user asks (the kernel is busy meanwhile).
LINKS_AUTO_LIMIT = 2_000_000
#: Fewest characters a printed jaxpr equation takes (how many to print for a text limit).
CHARS_PER_EQUATION = 20
#: Static argument leaves listed in the header (the rest are counted).
STATIC_LIMIT = 50
#: Node index entries keep the source line's code this short.
CODE_LIMIT = 200
#: Counterparts in the other view listed per node (a broadcast feeding a whole fused
#: program links to thousands of HLO instructions); the rest are counted.
LINK_LIMIT = 20
#: Edges between two drawn nodes listed one by one in their details, up to this many.
MERGED_EDGES = 4
#: Most boxes an interactive view draws: Graphviz takes seconds past about 2,000, and the
#: kernel is busy meanwhile. ``Trace.export(..., expand="all")`` has no such limit.
MAX_DRAWN = 2000
#: The HLO tab, and the StableHLO and HLO texts, while XLA compiles in the background.
COMPILING = "Lowering and compiling… the HLO graph shows here when XLA is done."
COMPILING_TEXT = "lowering and compiling… the text shows here when XLA is done"
MISSING_BUNDLE = (
    "jaxviz's browser bundle is missing from jaxviz/static: reinstall jaxviz, or build it with "
    "`npm --prefix js ci && npm --prefix js run build`."
)


def pack(text: str) -> str:
    """``text`` deflated (zlib format, as ``DecompressionStream("deflate")`` reads it) and in
    base64, which is safe inside a quoted string in a <script>."""
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def bundle(name: str) -> str | None:
    """A built file of ``jaxviz/static`` (``widget.js``, ``page.js``), or None if not built."""
    path = STATIC / name
    return path.read_text(encoding="utf-8") if path.is_file() else None


def trace_state(trace: "Trace", text_limit: int | None = None) -> dict[str, Any]:
    """What stays the same while the user explores: header, findings, texts, timing, legend,
    views. ``text_limit`` None: no texts yet (the live widget sends them when its text tab
    is first opened: a big program's texts would weigh more than all the rest)."""
    notes = views(trace)
    timing = trace.timing_so_far
    return {
        "header": header(trace, text_limit or TEXT_LIMIT),
        "findings": findings(trace, notes),
        "texts": texts(trace, text_limit) if text_limit else None,
        "timing": timing.to_dict() if timing is not None else None,
        #: What the background still does (lowering and compiling, timing), or why it failed.
        "progress": trace.progress,
        "profile": trace.profiled.to_dict() if trace.profiled is not None else None,
        "memory_peak": (trace.memory_at_peak.to_dict() if trace.memory_at_peak is not None
                        else None),
        "legend": [[category, colour, name] for category, (colour, name) in CATEGORY_COLORS.items()],
        "views": notes,
    }


def findings(trace: "Trace", notes: dict[str, str | None]) -> list[dict[str, Any]]:
    """The findings as data, with "view": the jaxpr view when it can show their nodes."""
    result = []
    for finding in trace.findings_so_far:
        data = dataclasses.asdict(finding)
        # node_ids run to thousands for a big loop: only the first, to show; view_state's
        # node index says which findings concern each drawn node.
        data["node"] = data.pop("node_ids")[0] if finding.node_ids else None
        data["where"] = finding.where
        data["view"] = "jaxpr" if finding.node_ids and notes.get("jaxpr") is None else None
        result.append(data)
    return result


def header(trace: "Trace", text_limit: int = TEXT_LIMIT) -> dict[str, Any]:
    """The header; while compiling, without what compiling tells (cost, memory)."""
    ready = trace.ready
    return {
        "fn_name": trace.fn_name,
        "device": trace.device,
        "stages": text.stages_text(trace),
        "cost": text.cost_text(trace.cost) if ready and trace.cost else "",
        "memory": text.memory_text(trace.memory) if ready and trace.memory else "",
        "errors": trace.errors if ready else {},
        "stdout": cut(trace.trace_stdout, text_limit),
        "static": [[leaf.path, leaf.value] for leaf in trace.static_inputs[:STATIC_LIMIT]],
        "more_static": max(len(trace.static_inputs) - STATIC_LIMIT, 0),
    }


def texts(trace: "Trace", text_limit: int = TEXT_LIMIT) -> dict[str, str | None]:
    jaxpr = _jaxpr_text(trace, text_limit)
    if not trace.ready:  # they come with the compile
        return {"jaxpr": jaxpr, "stablehlo": f"({COMPILING_TEXT})", "hlo": f"({COMPILING_TEXT})"}
    return {
        "jaxpr": jaxpr,
        "stablehlo": cut(trace.stablehlo_text, text_limit),
        "hlo": cut(trace.hlo_text, text_limit),
    }


def _jaxpr_text(trace: "Trace", text_limit: int) -> str | None:
    """The jaxpr's text, printed only as far as it can be shown, once per trace and limit
    (every output of a trace shows it: the widget, its static view, each export)."""
    known = _jaxpr_texts.setdefault(trace, {})
    if text_limit not in known and trace.jaxpr is not None:
        text, left_out = _compat.jaxpr_text(trace.jaxpr, text_limit // CHARS_PER_EQUATION)
        known[text_limit] = cut(text, text_limit) if not left_out else (
            text[:text_limit] + f"\n… (the rest not shown: {left_out:,} more equations)")
    return known.get(text_limit)


_jaxpr_texts: "weakref.WeakKeyDictionary[Trace, dict[int, str]]" = weakref.WeakKeyDictionary()


def views(trace: "Trace") -> dict[str, str | None]:
    """Each view: None when its program is there to draw, else why not (the tab says so).

    Nothing is built here: a view's graph is built when it is first drawn (``view_note``
    catches one that fails then), so the HLO side costs nothing until its tab is opened."""
    from jaxviz.trace import VIEWS

    notes: dict[str, str | None] = {}
    for view in VIEWS:
        if view == "hlo" and not trace.ready:
            notes[view] = COMPILING
            continue
        there = trace.jaxpr if view == "jaxpr" else trace.hlo_text
        notes[view] = None if there is not None else _no_graph(trace, view)
    return notes


def check_view(views: dict[str, str | None], view: str) -> None:
    if view not in views:
        raise ValueError(f"view must be one of {', '.join(map(repr, views))}, not {view!r}")


def view_note(trace: "Trace", view: str) -> str | None:
    """None when the view's graph builds, else why it cannot be drawn."""
    try:
        trace.graph(view, linked=False)
    except Exception as exc:
        return _no_graph(trace, view, exc)
    return None


def _no_graph(trace: "Trace", view: str, exc: Exception | None = None) -> str:
    name = VIEW_NAMES.get(view, view)
    failed = next((stage for stage in STAGES if stage in trace.errors), None)
    if failed or exc is None:
        return f"No {name} graph: the {failed or 'compile'} stage failed (the findings tab says why)."
    return f"No {name} graph: {type(exc).__name__}: {exc}"


def view_state(trace: "Trace", view: str, expand: object = None,
               max_drawn: int | None = None) -> dict[str, Any]:
    """One drawn view: its SVG, the open groups, a note when most of it is folded away, the
    index of what is drawn and the search entries of what is not (see node_index), which
    drawn node stands for each finding's first node, how deep groups nest, and whether the
    index lists the counterparts in the other view (``linked``: until the browser asks,
    the other view is not built). An expansion that would draw more than ``max_drawn``
    boxes is refused before layout. The last one made of each view is kept while nothing it
    depends on changes: the widget and the static view beside it share it, and the HLO
    view's is made in the background (``Trace.prepare_in_background``)."""
    graph = trace.graph(view, linked=False)
    expanded = expansion(graph, expand)
    depends = (expanded, trace.ready, trace.linked, trace.profiled, trace.memory_at_peak)
    last = _last_views.get(trace, {}).get(view)
    if last is not None and _unchanged(last[0], depends):
        _refuse(last[1], max_drawn)
        return dict(last[2])
    shown = project(graph, expanded)
    _refuse(len(shown.nodes), max_drawn)
    state = _drawn_view(trace, view, graph, expanded, shown)
    _last_views.setdefault(trace, {})[view] = (depends, len(shown.nodes), state)
    return dict(state)


#: The last view state made of each view of a trace: (what it depends on, drawn boxes, state).
_last_views: "weakref.WeakKeyDictionary[Trace, dict[str, tuple]]" = weakref.WeakKeyDictionary()


def _unchanged(before: tuple, now: tuple) -> bool:
    """The same open groups, compiled and linked alike, the same profile and memory peak."""
    return before[:3] == now[:3] and all(a is b for a, b in zip(before[3:], now[3:]))


def _refuse(drawn: int, max_drawn: int | None) -> None:
    if max_drawn is not None and drawn > max_drawn:
        raise ValueError(
            f"that would draw {drawn:,} boxes, more than the {max_drawn:,} a view "
            "lays out quickly: open groups one at a time, or export with expand='all'")


def view_index(trace: "Trace", view: str, expand: object = None,
               max_drawn: int | None = None) -> dict[str, Any]:
    """The node index of a view state (nodes, hidden, sources, finding_nodes), without its
    layout: what a static page's layout would carry beside its drawing, weighed before
    Graphviz is asked for the drawing."""
    graph = trace.graph(view, linked=False)
    shown = project(graph, expansion(graph, expand))
    _refuse(len(shown.nodes), max_drawn)
    return _index(trace, view, graph, shown)


def view_drawing(trace: "Trace", view: str, expand: object = None) -> dict[str, Any]:
    """The drawing of a view state (svg, expanded, folded), laid out by Graphviz, without
    its node index (see view_index)."""
    graph = trace.graph(view, linked=False)
    return _drawing(trace, view, graph, expansion(graph, expand))


def _drawing(trace: "Trace", view: str, graph: Graph, expanded: frozenset[str]
             ) -> dict[str, Any]:
    layout = trace.layout(view, expanded)
    return {"svg": svg.slim(layout.svg), "expanded": sorted(layout.expanded),
            "folded": folded_note(graph, layout.node_count)}


def _drawn_view(trace: "Trace", view: str, graph: Graph, expanded: frozenset[str],
                shown: Projection) -> dict[str, Any]:
    return {"view": view, **_drawing(trace, view, graph, expanded),
            **_index(trace, view, graph, shown),
            "depth": max((graph.depth(g.id) + 1 for g in graph.groups), default=0),
            "linked": trace.linked,
            "links_slow": not trace.linked and (not trace.ready
                                                or len(trace.hlo_text or "") > LINKS_AUTO_LIMIT)}


@_gc.paused()  # an entry or more per node of the graph (see _gc.py)
def _index(trace: "Trace", view: str, graph: Graph, shown: Projection) -> dict[str, Any]:
    # Both views are built exactly when they were linked; until then, no counterparts.
    other = "hlo" if view == "jaxpr" else "jaxpr"
    linked_to = (trace.graph(other, linked=False)
                 if trace.linked and trace.links is not None else None)
    # Which findings each drawn node is (or, a closed group, holds nodes) about.
    concerns: dict[str, dict[int, None]] = defaultdict(dict)
    shown_findings = trace.findings_so_far
    mine = shown_findings if view == "jaxpr" else []  # their node ids are the jaxpr view's
    for k, finding in enumerate(mine):
        for node_id in finding.node_ids:
            concerns[shown.stand_in[node_id]][k] = None
    profiled, peak = trace.profiled, trace.memory_at_peak
    nodes, hidden, sources = node_index(
        graph, shown, linked_to,
        trace.dead_nodes if view == "jaxpr" else frozenset(),
        {node_id: list(ks) for node_id, ks in concerns.items()},
        {**({"seconds": profiled.by_node(view), "flops": profiled.by_node(view, "flops"),
             "traffic": profiled.by_node(view, "bytes")}
            if profiled is not None and profiled.measured else {}),
         "bytes": peak.by_node(view) if peak is not None else {}})
    firsts = [f.node_ids[0] if f.node_ids and view == "jaxpr" else None for f in shown_findings]
    return {"nodes": nodes, "hidden": hidden, "sources": sources,
            "finding_nodes": [shown.stand_in.get(i) for i in firsts]}


def empty_view(view: str) -> dict[str, Any]:
    """The view traits of a view that cannot be drawn (its tab says why)."""
    return {"view": view, "svg": "", "expanded": [], "folded": "", "nodes": {}, "hidden": [],
            "sources": [], "finding_nodes": [], "depth": 0, "linked": True, "links_slow": False}


def folded_note(graph: Graph, drawn: int) -> str:
    """What the view leaves out, when closed groups hide most of the graph ("" otherwise)."""
    boxes = sum(n.kind != "group" for n in graph.nodes.values())
    if drawn * 2 > boxes:
        return ""
    return (f"{drawn:,} of {boxes:,} boxes drawn; the rest are inside closed groups: click "
            "one to open it, or search to find what is inside.")


def node_index(graph: Graph, shown: Projection, other: Graph | None = None,
               dead: frozenset[str] = frozenset(), concerns: dict[str, list[int]] | None = None,
               measured: dict[str, dict[str, float]] | None = None,
               ) -> tuple[dict[str, dict], list[list], list[list]]:
    """What the browser needs about the nodes, sized by what is drawn, not by the program.

    1. For each drawn node and open group (tooltips, details, search), empty fields left
       out: kind, op, label, category, shape, group, params, inputs and outputs
       [[drawn id, edge label]] as drawn, size (ops inside a group), links [[id, label]] to
       the nodes of the ``other`` view (the first LINK_LIMIT; more_links: how many more),
       removed (true for ``dead`` nodes: code XLA removed), findings (indices of the
       findings about it or, for a closed group, about nodes inside it, from
       ``concerns``), seconds (per call, from a profile, with the ops' estimated flops
       and traffic, bytes read and written) and bytes (live at the memory peak), by node
       from ``measured`` (left out where none was attributed), and source.
    2. Search entries for the nodes hidden in closed groups, alike ones merged:
       [closed group standing for them, op, label, source, how many].
    3. The source lines [file, line, function, code, place in the user's words] that
       ``source`` fields index.
    """
    concerns = concerns or {}
    flows: dict[str, dict[str, list[list[str]]]] = {"inputs": defaultdict(list),
                                                     "outputs": defaultdict(list)}
    for (src, dst), labels in shown.edges.items():
        if len(labels) > MERGED_EDGES:  # into or out of a closed group: one line
            distinct = ", ".join(dict.fromkeys(label for label in labels if label))
            labels = [f"{distinct} ×{len(labels)}"]
        for label in labels:
            flows["inputs"][dst].append([src, label])
            flows["outputs"][src].append([dst, label])
    sources: dict[SourceLoc, int] = {}
    by_object: dict[int, int] = {}  # nodes share SourceLoc objects, which hash slowly

    def source_of(node: Node) -> int | None:
        source = node.source
        if source is None:
            return None
        number = by_object.get(id(source))
        if number is None:
            number = by_object[id(source)] = sources.setdefault(source, len(sources))
        return number

    index = {}
    drawn = set(shown.clusters) | set(shown.nodes)
    for node in graph.nodes.values():
        if node.id not in drawn:
            continue
        node_id = node.id
        entry: dict[str, Any] = {"kind": node.kind, "op": node.op, "label": node.label,
                                 "category": node.category}
        linked = [i for i in node.links if i in other.nodes] if other else []
        links = [[i, other.nodes[i].label] for i in linked[:LINK_LIMIT]]
        optional = {"shape": node.shape, "group": node.group, "params": node.params,
                    "links": links, "more_links": len(linked) - len(links),
                    "inputs": flows["inputs"].get(node_id),
                    "outputs": flows["outputs"].get(node_id),
                    "size": graph.leaf_counts.get(node_id), "removed": node_id in dead,
                    "findings": concerns.get(node_id),
                    **{key: values.get(node_id) for key, values in (measured or {}).items()}}
        entry.update((key, value) for key, value in optional.items() if value)
        if node.source:
            entry["source"] = source_of(node)
        index[node_id] = entry
    hidden: dict[tuple, int] = defaultdict(int)
    for node in graph.nodes.values():
        if node.id not in index:
            hidden[(shown.stand_in[node.id], node.op, node.label, source_of(node))] += 1
    lines = [[src.filename, src.line, src.function, src.code[:CODE_LIMIT], src.short]
             for src in sources]
    return index, numbered_families(hidden), lines


#: Search entries differing only in one number merge when there are at least this many.
FAMILY_MIN = 4
_NUMBER = re.compile(r"0|[1-9][0-9]{0,8}")  # exact as an int in JSON and JavaScript


def numbered_families(hidden: dict[tuple, int]) -> list[list]:
    """Search entries ``[stand-in, op, label, source, count]`` for what closed groups hide,
    with families of labels that differ in one number only (``layers[0]['wq']`` …
    ``layers[127]['wq']``, ``iteration 0 · layers[0]`` …, the number the same wherever it
    appears) as one entry ``[stand-in, op, [text, text, ...], source, count, [[first, last],
    ...]]``, the number going between the texts: a 128-layer model's inputs are then a few
    entries, not thousands. Entries the same but for their stand-in are one, with the
    stand-ins in a list (``[[stand-in, ...], op, ...]``): a 128-layer loop's opened
    iterations hide the same steps each."""
    # A family shares its stand-in, op, source and count: where fewer than FAMILY_MIN
    # entries share those, none of them can be in one (most, in a big program).
    kinds = Counter((*key[:2], key[3], count) for key, count in hidden.items())
    candidates: dict[tuple, list[tuple[tuple, int]]] = {}
    for key, count in hidden.items():
        kind = (*key[:2], key[3], count)
        candidates[key] = [((*kind, texts), number) for texts, number in
                           _number_splits(key[2])] if kinds[kind] >= FAMILY_MIN else []
    sizes = Counter(family for families in candidates.values() for family, _ in families)
    members: dict[tuple, list[tuple[int, tuple]]] = defaultdict(list)
    for key, families in candidates.items():
        if families:
            family, number = max(families, key=lambda f: (sizes[f[0]], f[0][4]))
            members[family].append((number, key))
    # Each entry by what it says but for its stand-in -> its stand-ins, and what it says.
    entries: dict[tuple, tuple[list[str], list]] = {}

    def add(stand_in: str, key: tuple, rest: list) -> None:
        if key in entries:
            entries[key][0].append(stand_in)
        else:
            entries[key] = ([stand_in], rest)

    singles = {key for group in members.values() if len(group) < FAMILY_MIN for _, key in group}
    singles.update(key for key, families in candidates.items() if not families)
    for family, group in members.items():
        if len(group) >= FAMILY_MIN:
            stand_in, op, source, count, texts = family
            ranges = _ranges(sorted(n for n, _ in group))
            add(stand_in, (*family[1:], *map(tuple, ranges)),
                [op, list(texts), source, count, ranges])
    for key, count in hidden.items():
        if key in singles:
            add(key[0], (*key[1:], count), [*key[1:], count])
    return [[stand_ins if len(stand_ins) > 1 else stand_ins[0], *rest]
            for stand_ins, rest in entries.values()]


@functools.lru_cache(maxsize=1 << 16)  # labels recur across views, layouts and programs
def _number_splits(label: str) -> tuple[tuple[tuple[str, ...], int], ...]:
    """Each way ``label`` is texts around one number: around one place it stands, and around
    every place where the same number stands several times."""
    found = list(_NUMBER.finditer(label))
    splits = {(label[:m.start()], label[m.end():]): m.group() for m in found}
    numbers = [m.group() for m in found]
    for text in dict.fromkeys(numbers):
        if numbers.count(text) > 1:  # the same number in several places
            splits[_split_at(label, text)] = text
    return tuple((texts, int(text)) for texts, text in splits.items())


def _split_at(label: str, number: str) -> tuple[str, ...]:
    """The texts around each place ``number`` stands on its own in ``label``."""
    texts, start = [], 0
    for match in _NUMBER.finditer(label):
        if match.group() == number:
            texts.append(label[start:match.start()])
            start = match.end()
    return (*texts, label[start:])


def _ranges(numbers: list[int]) -> list[list[int]]:
    """[0, 1, 2, 5, 6] -> [[0, 2], [5, 6]]."""
    ranges: list[list[int]] = []
    for n in numbers:
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    return ranges


def cut(body: str | None, limit: int) -> str | None:
    """``body``, or its first ``limit`` characters with a note saying how much is left out."""
    if body is None or len(body) <= limit:
        return body
    return body[:limit] + f"\n… ({len(body) - limit:,} more characters not shown)"


