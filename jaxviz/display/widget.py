"""The notebook widget: one output per trace, with tabs jaxpr graph · HLO graph · findings ·
timing · text, drawn in the browser by the bundle in ``jaxviz/static`` (built from ``js/``).

Python owns the data and the layouts (Graphviz, cached per expansion state); the browser only
draws and interacts. Traits flow one way, Python to browser. The browser asks for changes
with messages, and Python answers each one (``js/src/kernel.js`` is the other end)::

    {"type": "expand", "id", "expand": "all" | "none" | depth | [group ids]}  re-lay out the view
    {"type": "view", "id", "view": "jaxpr" | "hlo"}                            switch views
    {"type": "reveal", "id", "view", "node"}        that view, with the groups around node open
    {"type": "pdf", "id"}                                                      the view as PDF
    {"type": "texts", "id"}                          the program texts (sent on first demand)
    {"type": "links", "id"}           link both views; the node index then lists counterparts
    {"type": "time", "id"}                                           measure eager vs jit now
    {"type": "profile", "id"}                     profile the ops (the node index gets seconds)
    {"type": "memory", "id"}          the buffers live at the memory peak (the index gets bytes)

    -> {"type": "busy", "id"} at once, then {"type": "done", "id", "error"?} once the traits
       are set, or {"type": "pdf", "id", "filename"} with the PDF bytes as a buffer.

The state itself is made by ``state.py``; the static page (``html.py``) embeds the same
state, so the browser side is one program.
"""

from __future__ import annotations

import json
import re
import weakref
from typing import TYPE_CHECKING, Any, Callable

import anywidget
import traitlets

from jaxviz import _gc, background
from jaxviz.display.state import (
    MAX_DRAWN, MISSING_BUNDLE, WIDGET_MIME, bundle, check_view, empty_view, pack, texts,
    trace_state, view_note, view_state,
)
from jaxviz.layout import render
from jaxviz.model import Graph, expansion

if TYPE_CHECKING:
    from jaxviz.trace import Trace


def _esm_source() -> str:
    source = bundle("widget.js")
    if source is not None:
        return source
    # Still a valid widget module, so the output says what is wrong instead of failing silently.
    return f"export default {{ render({{ el }}) {{ el.textContent = {MISSING_BUNDLE!r}; }} }};\n"


class Drawings:
    """One trace's drawings as the browser asked for them: the groups last shown open in
    each view (switching back restores them), the layouts, the PDF of what is shown."""

    def __init__(self, trace: "Trace"):
        self.trace = trace
        self.expanded: dict[str, frozenset[str]] = {}

    def state(self, views: dict[str, str | None], view: str, expand: object) -> dict[str, Any]:
        """The view traits that draw ``view`` with ``expand`` groups open (Graphviz, cached);
        ``views`` holds why a view cannot be drawn (None: it can)."""
        check_view(views, view)
        note = views[view] or view_note(self.trace, view)
        if note is not None:  # cannot be drawn: the tab says why
            return {**empty_view(view), "views": {**views, view: note}}
        state = view_state(self.trace, view, expand, max_drawn=MAX_DRAWN)
        self.expanded[view] = frozenset(state["expanded"])
        return state

    def revealing(self, views: dict[str, str | None], view: str, node_id: Any) -> frozenset[str]:
        """The view's open groups (as last shown) and those around ``node_id``."""
        if views.get(view, "unknown view") is not None:
            raise ValueError(f"there is no {view} graph to show")
        graph = self.trace.graph(view, linked=False)
        shown = self.expanded.get(view, expansion(graph))
        return shown | _revealing_groups(graph, node_id)

    def pdf(self, view: str) -> tuple[str, bytes]:
        """(file name, PDF bytes) of ``view`` as last shown."""
        if view not in self.expanded:
            raise ValueError(f"there is no {view} graph to export")
        layout = self.trace.layout(view, self.expanded[view])
        return f"{file_stem(self.trace.fn_name)}-{view}.pdf", render(layout.dot, "pdf")


def file_stem(name: str) -> str:
    """A download's file name made of a function's name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "jaxviz"


class Answering:
    """Answers the browser's requests (``_answer``): "busy" at once, then the reply."""

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        request_id = content.get("id")
        self.send({"type": "busy", "id": request_id})
        with background.foreground():  # background work waits while the user waits
            try:
                reply, buffers = self._answer(content)
            except Exception as exc:  # never raise into the kernel: the browser shows it
                reply, buffers = {"type": "done", "error": f"{type(exc).__name__}: {exc}"}, []
        self.send({**reply, "id": request_id}, buffers)


class TraceWidget(Answering, anywidget.AnyWidget):
    """The interactive view of a :class:`jaxviz.Trace` (see the module docstring)."""

    _esm = _esm_source()

    header = traitlets.Dict().tag(sync=True)
    findings = traitlets.List().tag(sync=True)
    #: Program texts by name (jaxpr, stablehlo, hlo; None where the stage failed), or None
    #: until the browser asks for them.
    texts = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    #: ``Trace.timing.to_dict()``, or None while not measured.
    timing = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    #: ``Trace.progress``: what the background still does (lowering and compiling, timing),
    #: or why it failed; the rest fills in when it is done.
    progress = traitlets.Dict().tag(sync=True)
    #: ``Trace.profiled.to_dict()``, or None while not profiled.
    profile = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    #: ``Trace.memory_at_peak.to_dict()``, or None until asked for.
    memory_peak = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    #: [category, colour, name] for every node colour.
    legend = traitlets.List().tag(sync=True)
    #: View name -> None when it can be drawn, else why not.
    views = traitlets.Dict().tag(sync=True)
    view = traitlets.Unicode("jaxpr").tag(sync=True)
    #: The drawing; it travels (and is saved) packed, a fifth of its size (js/src/packed.js).
    svg = traitlets.Unicode("").tag(sync=True, to_json=lambda svg, _: pack(svg) if svg else "")
    expanded = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: Says so when closed groups hide most of the graph ("" otherwise).
    folded = traitlets.Unicode("").tag(sync=True)
    #: The view graph's node index and the source lines it points to (see node_index).
    nodes = traitlets.Dict().tag(sync=True)
    #: Search entries for what closed groups hide, and the source lines (see node_index).
    hidden = traitlets.List().tag(sync=True)
    sources = traitlets.List().tag(sync=True)
    #: For each finding, the drawn node standing for its first node (None: not in this view).
    finding_nodes = traitlets.List().tag(sync=True)
    #: How many levels groups nest (the "open to depth" choices).
    depth = traitlets.Int(0).tag(sync=True)
    #: Whether ``nodes`` lists each node's counterparts in the other view; if not, the
    #: browser asks (``links``) when the details panel first needs them.
    linked = traitlets.Bool(True).tag(sync=True)
    #: Linking would take seconds (a big program's HLO): the details offer it, not ask at once.
    links_slow = traitlets.Bool(False).tag(sync=True)

    def __init__(self, trace: "Trace", view: str = "jaxpr", expand: object = None, **kwargs: Any):
        self._trace = trace
        self._drawings = Drawings(trace)
        state = trace_state(trace)
        state.update(self._drawings.state(state["views"], view, expand))
        super().__init__(**state, **kwargs)  # the front end gets everything in one message
        self.on_msg(self._on_msg)
        if trace.waiting:  # the trace does not keep a closed widget alive
            refresh = weakref.WeakMethod(self._refresh)

            def refresh_if_alive() -> None:
                method = refresh()
                if method is not None:
                    method()

            trace.watch(refresh_if_alive)

    def _refresh(self) -> None:
        """A background job is done: what it tells fills in (header, findings, the HLO tab,
        timing, dimmed code), the drawing as the user left it."""
        with self.hold_sync():
            for name, value in trace_state(self._trace).items():
                if name != "texts":
                    setattr(self, name, value)
            if self.texts is not None:  # sent already, while compiling
                self.texts = texts(self._trace)
            self._show(self.view, self._drawings.expanded.get(self.view))

    def _show(self, view: str, expand: object) -> None:
        # Traits set to equal values send nothing: an expansion sends the SVG and open groups.
        with self.hold_sync():
            for name, value in self._drawings.state(self.views, view, expand).items():
                setattr(self, name, value)

    def _answer(self, request: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
        kind = request.get("type")
        if kind == "expand":
            self._show(self.view, expand_request(request.get("expand")))
        elif kind == "view":
            view = str(request.get("view"))
            self._show(view, self._drawings.expanded.get(view))
        elif kind == "reveal":  # open what hides a node (of this view or the other one)
            view = str(request.get("view"))
            self._show(view, self._drawings.revealing(self.views, view, request.get("node")))
        elif kind == "pdf":
            filename, data = self._drawings.pdf(self.view)
            return {"type": "pdf", "filename": filename}, [data]
        elif kind == "texts":
            self.texts = texts(self._trace)
        elif kind == "links":  # builds the other view and links both: seconds on big programs
            self._trace.links
            self._show(self.view, self._drawings.expanded.get(self.view))
        elif kind == "time":  # runs the user's function: only when the user asks
            self.timing = self._trace.time().to_dict()
        elif kind == "profile":  # runs it too; the node index then says each box's time
            with self.hold_sync():
                self.profile = self._trace.profile().to_dict()
                self._show(self.view, self._drawings.expanded.get(self.view))
        elif kind == "memory":  # compiles again with XLA's dumps; the index gets bytes
            with self.hold_sync():
                self.memory_peak = self._trace.peak_memory().to_dict()
                self._show(self.view, self._drawings.expanded.get(self.view))
        else:
            raise ValueError(f"unknown request {kind!r}")
        return {"type": "done"}, []


def _revealing_groups(graph: Graph, node_id: Any) -> set[str]:
    """The groups around a node, all of which must be open for it to be drawn."""
    if not isinstance(node_id, str) or node_id not in graph.nodes:
        raise ValueError(f"no node {node_id!r} in the {graph.view} graph")
    return set(graph.ancestors(node_id))


def expand_request(value: Any) -> object:
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
    where no widget can be drawn (nbconvert without saved widget state); and the text summary."""
    from jaxviz.display import html

    return output_bundle(trace, make_widget,
                         lambda t, beside: html.fragment(t, beside=beside), include, exclude)


def saved_bytes(widget: anywidget.AnyWidget | None) -> int:
    """What a widget's state weighs in a saved notebook, its bundle left out (stored once)."""
    if widget is None:
        return 0
    state = widget.get_state()
    return len(json.dumps({k: v for k, v in state.items() if k not in ("_esm", "_css")},
                          default=str))


def output_bundle(value: Any, widget: Callable[[Any], anywidget.AnyWidget],
                  fragment: Callable[[Any, int], str], include: Any, exclude: Any
                  ) -> tuple[dict, dict]:
    """``value``'s output: ``widget(value)``, ``fragment(value, bytes of the widget's saved
    state)`` as ``text/html`` and ``repr(value)``. Without a kernel there is no widget
    (nothing could answer it), and a terminal IPython, which shows only text, gets only the
    text: no layout is made for nothing."""
    from IPython import get_ipython

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None) is not None
    if shell is not None and not kernel:
        return {"text/plain": repr(value)}, {}

    def wanted(mime: str) -> bool:
        return (not include or mime in include) and not (exclude and mime in exclude)

    data: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    made = None
    with _gc.paused():  # states and drawings of big graphs (see _gc.py)
        if kernel and wanted(WIDGET_MIME):
            made = widget(value)
            widget_data, metadata = made._repr_mimebundle_()
            data.update(widget_data)
        if wanted("text/html"):
            data["text/html"] = fragment(value, saved_bytes(made))
        data["text/plain"] = repr(value)
    return data, metadata


def first_bundle(trace: "Trace", make: Callable[["Trace"], TraceWidget] = make_widget
                 ) -> tuple[dict, dict]:
    """The output of a trace still compiling: as :func:`mimebundle`, but the static view
    carries no layouts beside its drawing (they cost seconds of Graphviz on a big model, and
    it is made anew, with them, once the background work is done)."""
    from jaxviz.display import html

    return output_bundle(trace, make, lambda t, beside: html.fragment(t, layouts_limit=0),
                         None, None)


def show_filling_in(trace: "Trace") -> None:
    """Display ``trace`` while its background work runs: the widget fills in as each job is
    done; once all are, the output's static view and text are made anew (in the background
    as well), with the same widget (a saved notebook keeps them)."""
    from IPython.display import display

    from jaxviz.display import html

    shown: list[TraceWidget] = []  # the widget of the output, if it has one

    def make(t: "Trace") -> TraceWidget:
        shown.append(make_widget(t))
        return shown[0]

    data, metadata = first_bundle(trace, make)
    handle = display(data, metadata=metadata, raw=True, display_id=True)
    if handle is None or not trace.waiting:
        return
    updated = False

    def fresh_output(check: background.Check, beside: int) -> dict[str, Any]:
        # Made in the background too: its layouts are seconds of Graphviz on a big model,
        # which would hold up a cell the user runs meanwhile.
        fresh = {**data, "text/plain": repr(trace)}
        if "text/html" in data:
            fresh["text/html"] = html.fragment(trace, check=check, beside=beside)
        return fresh

    def refresh_output() -> None:
        nonlocal updated
        if trace.waiting or updated:
            return
        updated = True
        beside = saved_bytes(shown[0] if shown else None)  # the widget as it is now filled in
        made = background.submit(lambda check: fresh_output(check, beside), yields=True,
                                 on_done=lambda: background.on_main_thread(lambda: show(made)))

    def show(made: background.Job) -> None:
        try:
            fresh = made.result()
        except Exception:  # the output the user has stays as it is
            return
        handle.update(fresh, metadata=metadata, raw=True)

    trace.watch(refresh_output)
