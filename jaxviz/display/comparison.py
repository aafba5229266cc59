"""A Comparison on screen: both graphs side by side, each box linked to its partner.

The widget holds each side's trace state and view state (as a TraceWidget's traits, in the
``left`` and ``right`` dicts) and, for what is drawn now, which drawn boxes are partners and
which have none. The browser side is ``js/src/compare.js``, in the same bundle as the trace
widget; each side is the trace widget's graph panel. Requests are the trace widget's (see
widget.py), with ``"side": "left" | "right"``; ``view`` without a side switches both sides,
and ``picture`` asks for both graphs in one picture::

    {"type": "picture", "id", "format": "svg" | "png" | "pdf"}
        -> {"type": "picture", "id", "filename"} with the file's bytes as a buffer

A reveal in the other view (a counterpart in the details panel) switches both sides too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import anywidget
import traitlets

from jaxviz.display.state import trace_state
from jaxviz.display.widget import Answering, Drawings, TraceWidget, expand_request, file_stem, output_bundle
from jaxviz.model import project

if TYPE_CHECKING:
    from jaxviz.compare import Comparison

SIDES = ("left", "right")
PICTURE_FORMATS = ("svg", "png", "pdf")


def comparison_state(comparison: "Comparison", drawings: tuple[Drawings, Drawings],
                     view: str, text_limit: int | None = None) -> dict[str, Any]:
    """Everything the browser shows of a comparison, ``view`` drawn on both sides."""
    state: dict[str, Any] = {"names": list(comparison.names),
                             "summary": comparison.findings(),
                             "figures": [list(row) for row in comparison.figures()]}
    for side, drawing in zip(SIDES, drawings):
        base = trace_state(drawing.trace, text_limit)
        state[side] = {**base, **drawing.state(base["views"], view, None)}
    state.update(partners(comparison, state["left"], state["right"]))
    return state


def partners(comparison: "Comparison", left: dict[str, Any], right: dict[str, Any]
             ) -> dict[str, Any]:
    """``pairs``: [left drawn id, right drawn id] for each two drawn boxes standing for
    partners; ``unmatched``: per side, the drawn boxes none of whose boxes has a partner."""
    view = left["view"]
    if right["view"] != view or not left["svg"] or not right["svg"]:
        return {"pairs": [], "unmatched": [[], []]}
    pairs, unmatched = _drawn_partners(comparison, view, [left["expanded"], right["expanded"]])
    return {"pairs": [list(pair) for pair in pairs], "unmatched": unmatched}


def unmatched_boxes(comparison: "Comparison", view: str, expanded: list[Iterable[str]]
                    ) -> list[list[str]]:
    """Per side, the boxes drawn with ``expanded`` groups open that have no partner."""
    return _drawn_partners(comparison, view, expanded)[1]


def _drawn_partners(comparison: "Comparison", view: str, expanded: list[Iterable[str]]
                    ) -> tuple[list[tuple[str, str]], list[list[str]]]:
    graphs = [t.graph(view, linked=False) for t in (comparison.left, comparison.right)]
    shown = [project(g, opened) for g, opened in zip(graphs, expanded)]
    pairs: dict[tuple[str, str], None] = {}
    for i, j in comparison.alignment(view).items():
        pairs[shown[0].stand_in[i], shown[1].stand_in[j]] = None
    unmatched = []
    for k, (graph, projection) in enumerate(zip(graphs, shown)):
        paired = {pair[k] for pair in pairs}
        drawn = set(projection.nodes)
        boxes = {projection.stand_in[n.id] for n in graph.nodes.values() if n.kind != "group"}
        unmatched.append(sorted(i for i in boxes - paired if i in drawn))
    return list(pairs), unmatched


class CompareWidget(Answering, anywidget.AnyWidget):
    """The interactive view of a :class:`jaxviz.Comparison` (see the module docstring)."""

    _esm = TraceWidget._esm  # the same bundle: it draws a comparison when it finds "left"

    names = traitlets.List().tag(sync=True)
    #: The summary's sentences, and its figures: [what, left, right] rows.
    summary = traitlets.List().tag(sync=True)
    figures = traitlets.List().tag(sync=True)
    #: Each side's traits, as a TraceWidget has them.
    left = traitlets.Dict().tag(sync=True)
    right = traitlets.Dict().tag(sync=True)
    pairs = traitlets.List().tag(sync=True)
    unmatched = traitlets.List().tag(sync=True)

    def __init__(self, comparison: "Comparison", view: str = "jaxpr", **kwargs: Any):
        self._comparison = comparison
        self._drawings = (Drawings(comparison.left), Drawings(comparison.right))
        super().__init__(**comparison_state(comparison, self._drawings, view), **kwargs)
        self.on_msg(self._on_msg)

    def _show(self, side: str, view: str, expand: object) -> None:
        drawing = self._drawings[SIDES.index(side)]
        shown = {**getattr(self, side)}
        shown.update(drawing.state(shown["views"], view, expand))
        sides = {"left": self.left, "right": self.right, side: shown}
        with self.hold_sync():
            setattr(self, side, shown)
            for name, value in partners(self._comparison, sides["left"], sides["right"]).items():
                setattr(self, name, value)

    def _switch(self, view: str, reveal: tuple[str, Any] | None = None) -> None:
        """Both sides to ``view`` as last shown there; ``reveal``: (side, node) to open too."""
        for side, drawing in zip(SIDES, self._drawings):
            expand: object = drawing.expanded.get(view)
            if reveal is not None and reveal[0] == side:
                expand = drawing.revealing(getattr(self, side)["views"], view, reveal[1])
            self._show(side, view, expand)

    def _answer(self, request: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
        kind, side = request.get("type"), request.get("side")
        if kind == "view":
            self._switch(str(request.get("view")))
        elif kind == "picture":
            fmt = request.get("format")
            if fmt not in PICTURE_FORMATS:
                raise ValueError(f"cannot make a {fmt!r} picture")
            return self._picture(fmt)
        elif side not in SIDES:
            raise ValueError(f"a {kind!r} request names its side: left or right, not {side!r}")
        elif kind == "expand":
            self._show(side, getattr(self, side)["view"], expand_request(request.get("expand")))
        elif kind == "reveal":
            view = str(request.get("view"))
            if view == getattr(self, side)["view"]:
                drawing = self._drawings[SIDES.index(side)]
                self._show(side, view, drawing.revealing(getattr(self, side)["views"], view,
                                                         request.get("node")))
            else:
                self._switch(view, (side, request.get("node")))
        elif kind == "pdf":
            filename, data = self._drawings[SIDES.index(side)].pdf(getattr(self, side)["view"])
            return {"type": "pdf", "filename": filename}, [data]
        elif kind == "links":
            trace = self._drawings[SIDES.index(side)].trace
            trace.links
            view = getattr(self, side)["view"]
            self._show(side, view, self._drawings[SIDES.index(side)].expanded.get(view))
        else:
            raise ValueError(f"unknown request {kind!r}")
        return {"type": "done"}, []

    def _picture(self, fmt: str) -> tuple[dict[str, Any], list[bytes]]:
        from jaxviz.export import comparison_picture

        view = self.left["view"]
        expanded = [d.expanded.get(view) for d in self._drawings]
        data = comparison_picture(self._comparison, view, fmt, expanded)
        stem = "-vs-".join(file_stem(name) for name in self._comparison.names)
        return {"type": "picture", "filename": f"{stem}-{view}.{fmt}"}, [data]


def make_widget(comparison: "Comparison", view: str = "jaxpr") -> CompareWidget:
    return CompareWidget(comparison, view)


def mimebundle(comparison: "Comparison", include: Any = None, exclude: Any = None
               ) -> tuple[dict, dict]:
    """As a Trace's: the widget where a kernel runs, the static view as ``text/html``, the
    summary as text; a terminal gets the summary only."""
    from jaxviz.display import html

    # Its static view carries no layouts: nothing in it gives way to the widget's state.
    return output_bundle(comparison, make_widget,
                         lambda c, beside: html.comparison_fragment(c), include, exclude)
