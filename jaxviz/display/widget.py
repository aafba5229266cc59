"""The notebook widget: one output per trace, with tabs jaxpr graph · HLO graph · findings ·
timing · text, drawn in the browser by the bundle in ``jaxviz/static`` (built from ``js/``).

Python owns the data and the layouts (Graphviz, cached per expansion state); the browser only
draws and interacts. Traits flow one way, Python to browser. The browser asks for changes
with messages, and Python answers each one (``js/src/kernel.js`` is the other end)::

    {"type": "expand", "id", "expand": "all" | "none" | depth | [group ids]}  re-lay out the view
    {"type": "view", "id", "view": "jaxpr" | "hlo"}                            switch views
    {"type": "pdf", "id"}                                                      the view as PDF
    {"type": "time", "id"}                                           measure eager vs jit now

    -> {"type": "busy", "id"} at once, then {"type": "done", "id", "error"?} once the traits
       are set, or {"type": "pdf", "id", "filename"} with the PDF bytes as a buffer.

The static page (``html.py``) embeds the same state, so the browser side is one program.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from jaxviz.capture import STAGES
from jaxviz.display import text
from jaxviz.layout import CATEGORY_COLORS, render
from jaxviz.model import Graph, SourceLoc

if TYPE_CHECKING:
    from jaxviz.trace import Trace

STATIC = Path(__file__).resolve().parent.parent / "static"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
VIEW_NAMES = {"jaxpr": "jaxpr", "hlo": "HLO"}
#: Longest program text (jaxpr, StableHLO, HLO) the live widget holds; longer ones are cut.
TEXT_LIMIT = 200_000
#: Node index entries keep the source line's code this short.
CODE_LIMIT = 200
MISSING_BUNDLE = (
    "jaxviz's browser bundle is missing from jaxviz/static: reinstall jaxviz, or build it with "
    "`npm --prefix js ci && npm --prefix js run build`."
)


def bundle(name: str) -> str | None:
    """A built file of ``jaxviz/static`` (``widget.js``, ``page.js``), or None if not built."""
    path = STATIC / name
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _esm_source() -> str:
    source = bundle("widget.js")
    if source is not None:
        return source
    # Still a valid widget module, so the output says what is wrong instead of failing silently.
    return f"export default {{ render({{ el }}) {{ el.textContent = {MISSING_BUNDLE!r}; }} }};\n"


# -- the state the browser reads -------------------------------------------------------------


def trace_state(trace: "Trace", text_limit: int = TEXT_LIMIT) -> dict[str, Any]:
    """What stays the same while the user explores: header, findings, texts, timing, legend,
    views."""
    notes = views(trace)
    return {
        "header": header(trace, text_limit),
        "findings": findings(trace, notes),
        "texts": texts(trace, text_limit),
        "timing": trace.timing.to_dict() if trace.timing is not None else None,
        "legend": [[category, colour, name] for category, (colour, name) in CATEGORY_COLORS.items()],
        "views": notes,
    }


def findings(trace: "Trace", notes: dict[str, str | None]) -> list[dict[str, Any]]:
    """The findings as data, each with the view its nodes are in ("view": None if none)."""
    result = []
    for finding in trace.findings:
        data = dataclasses.asdict(finding)
        data["view"] = next((view for view, note in notes.items() if note is None and finding.node_ids
                             and all(i in trace.graph(view).nodes for i in finding.node_ids)), None)
        result.append(data)
    return result


def header(trace: "Trace", text_limit: int = TEXT_LIMIT) -> dict[str, Any]:
    return {
        "fn_name": trace.fn_name,
        "device": trace.device,
        "stages": text.stages_text(trace),
        "cost": text.cost_text(trace.cost) if trace.cost else "",
        "memory": text.memory_text(trace.memory) if trace.memory else "",
        "errors": trace.errors,
        "stdout": cut(trace.trace_stdout, text_limit),
    }


def texts(trace: "Trace", text_limit: int = TEXT_LIMIT) -> dict[str, str | None]:
    jaxpr = str(trace.jaxpr) if trace.jaxpr is not None else None
    return {
        "jaxpr": cut(jaxpr, text_limit),
        "stablehlo": cut(trace.stablehlo_text, text_limit),
        "hlo": cut(trace.hlo_text, text_limit),
    }


def views(trace: "Trace") -> dict[str, str | None]:
    """Each view: None when it can be drawn, else why not (the tab shows that instead)."""
    from jaxviz.trace import VIEWS

    notes: dict[str, str | None] = {}
    for view in VIEWS:
        name = VIEW_NAMES.get(view, view)
        try:
            trace.graph(view)
            notes[view] = None
        except NotImplementedError:
            notes[view] = (f"The {name} graph is not available in this version of jaxviz yet; "
                           f"the {name} text is in the text tab.")
        except Exception as exc:
            failed = next((stage for stage in STAGES if stage in trace.errors), None)
            notes[view] = (f"No {name} graph: the {failed} stage failed (the findings tab says why)."
                           if failed else f"No {name} graph: {type(exc).__name__}: {exc}")
    return notes


def view_state(trace: "Trace", view: str, expand: object = None) -> dict[str, Any]:
    """One drawn view: its SVG, the open groups, and the node index."""
    layout = trace.layout(view, expand)
    other = next((v for v, note in views(trace).items() if v != view and note is None), None)
    dead = trace.dead_nodes if view == "jaxpr" else frozenset()
    nodes, sources = node_index(trace.graph(view), trace.graph(other) if other else None, dead)
    return {"view": view, "svg": layout.svg, "expanded": sorted(layout.expanded),
            "nodes": nodes, "sources": sources}


def node_index(graph: Graph, other: Graph | None = None,
               dead: frozenset[str] = frozenset()) -> tuple[dict[str, dict], list[list]]:
    """What the browser needs about every node (tooltips, details, search), empty fields left
    out: kind, op, label, category, shape, group, params, inputs [[producer id, shape]], size
    (ops inside a group), links [[id, label]] to the nodes of the ``other`` view (none when
    that view cannot be drawn), removed (true for ``dead`` nodes, code XLA removed), and
    source: an index into the second result, the source lines [file, line, function, code]
    (many nodes share one)."""
    inputs: dict[str, list[list[str]]] = defaultdict(list)
    for edge in graph.edges:
        inputs[edge.dst].append([edge.src, edge.label])
    sources: dict[SourceLoc, int] = {}
    index = {}
    for node in graph.nodes.values():
        entry: dict[str, Any] = {"kind": node.kind, "op": node.op, "label": node.label,
                                 "category": node.category}
        links = [[i, other.nodes[i].label] for i in node.links if i in other.nodes] if other else []
        optional = {"shape": node.shape, "group": node.group, "params": node.params,
                    "links": links, "inputs": inputs.get(node.id),
                    "size": graph.leaf_counts.get(node.id), "removed": node.id in dead}
        entry.update((key, value) for key, value in optional.items() if value)
        if node.source:
            entry["source"] = sources.setdefault(node.source, len(sources))
        index[node.id] = entry
    lines = [[src.filename, src.line, src.function, src.code[:CODE_LIMIT]] for src in sources]
    return index, lines


def cut(body: str | None, limit: int) -> str | None:
    """``body``, or its first ``limit`` characters with a note saying how much is left out."""
    if body is None or len(body) <= limit:
        return body
    return body[:limit] + f"\n… ({len(body) - limit:,} more characters not shown)"


# -- the widget ------------------------------------------------------------------------------


class TraceWidget(anywidget.AnyWidget):
    """The interactive view of a :class:`jaxviz.Trace` (see the module docstring)."""

    _esm = _esm_source()

    header = traitlets.Dict().tag(sync=True)
    findings = traitlets.List().tag(sync=True)
    #: Program texts by name (jaxpr, stablehlo, hlo); None where the stage failed.
    texts = traitlets.Dict().tag(sync=True)
    #: ``Trace.timing.to_dict()``, or None while not measured.
    timing = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    #: [category, colour, name] for every node colour.
    legend = traitlets.List().tag(sync=True)
    #: View name -> None when it can be drawn, else why not.
    views = traitlets.Dict().tag(sync=True)
    view = traitlets.Unicode("jaxpr").tag(sync=True)
    svg = traitlets.Unicode("").tag(sync=True)
    expanded = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: The view graph's node index and the source lines it points to (see node_index).
    nodes = traitlets.Dict().tag(sync=True)
    sources = traitlets.List().tag(sync=True)

    def __init__(self, trace: "Trace", view: str = "jaxpr", expand: object = None, **kwargs: Any):
        self._trace = trace
        #: The expansion state last shown for each view, so switching back restores it.
        self._expanded: dict[str, frozenset[str]] = {}
        state = trace_state(trace)
        state.update(self._view(state["views"], view, expand))
        super().__init__(**state, **kwargs)  # the front end gets everything in one message
        self.on_msg(self._on_msg)

    def _view(self, views: dict[str, str | None], view: str, expand: object) -> dict[str, Any]:
        """The traits that draw ``view`` with ``expand`` groups open (Graphviz, cached)."""
        if view not in views:
            raise ValueError(f"view must be one of {', '.join(map(repr, views))}, not {view!r}")
        if views[view] is not None:  # cannot be drawn: the tab says why
            return {"view": view, "svg": "", "expanded": [], "nodes": {}, "sources": []}
        state = view_state(self._trace, view, expand)
        self._expanded[view] = frozenset(state["expanded"])
        return state

    def _show(self, view: str, expand: object) -> None:
        # Traits set to equal values send nothing: an expansion sends the SVG and open groups.
        with self.hold_sync():
            for name, value in self._view(self.views, view, expand).items():
                setattr(self, name, value)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        request_id = content.get("id")
        self.send({"type": "busy", "id": request_id})
        try:
            reply, buffers = self._answer(content)
        except Exception as exc:  # never raise into the kernel: the browser shows the message
            reply, buffers = {"type": "done", "error": f"{type(exc).__name__}: {exc}"}, []
        self.send({**reply, "id": request_id}, buffers)

    def _answer(self, request: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
        kind = request.get("type")
        if kind == "expand":
            self._show(self.view, _expand_request(request.get("expand")))
        elif kind == "view":
            view = str(request.get("view"))
            self._show(view, self._expanded.get(view))
        elif kind == "pdf":
            if self.view not in self._expanded:
                raise ValueError(f"there is no {self.view} graph to export")
            layout = self._trace.layout(self.view, self._expanded[self.view])
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", self._trace.fn_name).strip("._") or "jaxviz"
            return {"type": "pdf", "filename": f"{stem}-{self.view}.pdf"}, [render(layout.dot, "pdf")]
        elif kind == "time":  # runs the user's function: only when the user asks
            self.timing = self._trace.time().to_dict()
        else:
            raise ValueError(f"unknown request {kind!r}")
        return {"type": "done"}, []


def _expand_request(value: Any) -> object:
    """An expansion request from the browser: "all", "none", a depth, or group ids."""
    if value in ("all", "none"):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ValueError(f"cannot expand {value!r}")


def make_widget(trace: "Trace", view: str = "jaxpr", expand: object = None) -> TraceWidget:
    """The interactive view of a trace, starting on ``view`` with ``expand`` groups open."""
    return TraceWidget(trace, view=view, expand=expand)


def mimebundle(trace: "Trace", include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
    """What a Trace shows in Jupyter: the live widget; as ``text/html`` the static view, for
    where no widget can be drawn (nbconvert without saved widget state); and the text summary.

    Without a kernel there is no widget (nothing could answer it), and a terminal IPython,
    which shows only text, gets only the text: no layout is made for nothing."""
    from IPython import get_ipython

    from jaxviz.display import html

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None) is not None
    if shell is not None and not kernel:
        return {"text/plain": repr(trace)}, {}

    def wanted(mime: str) -> bool:
        return (not include or mime in include) and not (exclude and mime in exclude)

    data: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    if kernel and wanted(WIDGET_MIME):
        widget_data, metadata = make_widget(trace)._repr_mimebundle_()
        data.update(widget_data)
    if wanted("text/html"):
        data["text/html"] = html.fragment(trace)
    data["text/plain"] = repr(trace)
    return data, metadata
