"""A Trace as self-contained HTML: the ``.html`` export, and the notebook's ``text/html``
output for where no widget can be drawn (nbconvert, a notebook opened without a kernel).

Each trace is a block that works without scripts (name, findings and the drawing as inline
SVG), followed by one short script, ``LOADER``, that turns the block into the widget's view
with pan, zoom, hover and details; expanding groups says it needs a kernel. Every notebook
output carries its own copy of the static bundle (``jaxviz/static/page.js``, built from
``js/``), so the bundle and the state travel deflated and base64-encoded, well under half
their size. The browser inflates them with ``DecompressionStream``; nothing is fetched. The
state is packed even when small: with its legend and header it always deflates to less.

The loader is a string here, not a built file: a dozen lines that must stay readable in the
page and change together with how this module packs the data. It runs the inflated bundle as
a script element of its own rather than through ``eval``: wherever the loader (an inline
script) may run, so may that one, in a trusted JupyterLab output, nbconvert's HTML and the
``.html`` export alike.

User-controlled strings reach the page only as escaped HTML text or inside the base64 data,
whose alphabet (letters, digits, ``+/=``) cannot close a string or the script. The layouts a
page carries (see structure_layouts) are a JSON literal of node ids and base64 data, with
``<`` escaped, so that no ``</script>`` can end it.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import html
import json
from typing import TYPE_CHECKING, Any, Callable

from jaxviz import _gc
from jaxviz.display import state as output_state
from jaxviz.display.state import pack
from jaxviz.model import project
from jaxviz.structure import STRUCTURE_OPS

if TYPE_CHECKING:
    from jaxviz.compare import Comparison
    from jaxviz.trace import Trace

#: Longest program text embedded in a static output, a preview: saved notebooks stay light
#: (the live widget and the Trace have the whole texts).
TEXT_LIMIT = 6_000
#: A bigger drawing travels packed with the data, not as inline SVG: without scripts, a note
#: stands in for it.
INLINE_SVG_LIMIT = 100_000
#: What a static output may weigh with the layouts of the structure groups it opens without
#: a kernel (each one precomputed: a whole drawing), and how many it lays out at most. In a
#: notebook, where the widget shows and this output is the fallback saved beside it (for
#: nbconvert), the layouts add at most NOTEBOOK_LAYOUTS bytes, and the widget's saved state
#: counts towards OUTPUT_BUDGET.
OUTPUT_BUDGET = 150_000
NOTEBOOK_LAYOUTS = 40_000
LAYOUTS_LIMIT = 4
#: A layout drawing more boxes than this is not tried (the 127 other layers of a model).
LAYOUT_MAX_DRAWN = 300
#: The view traits a precomputed layout replaces (js/src/page.js shows them): its drawing's,
#: and the node index's, which it carries as changes to the first drawing's.
_DRAWING_TRAITS = ("svg", "expanded", "folded", "finding_nodes")
_INDEX_TRAITS = ("nodes", "hidden", "sources")

#: Without scripts the drawing shows as plain inline SVG. Where HTML is sanitized instead (an
#: untrusted notebook in JupyterLab drops <svg>, <style> and <script> but keeps their text),
#: the inline style folds the leftover text away; this stylesheet, gone there, unfolds it.
NO_SCRIPT_STYLE = ".jaxviz-static .jv-drawing{max-height:none!important;overflow:visible!important}"

#: The standalone page's colours when the reader prefers dark (in notebooks the host's theme
#: variables apply).
PAGE_STYLE = """
body { margin: 16px; background: var(--jp-layout-color0); }
@media (prefers-color-scheme: dark) {
  :root { --jp-layout-color0: #111111; --jp-layout-color2: #2a2a2a; --jp-ui-font-color1: #e5e5e5;
    --jp-ui-font-color2: #a3a3a3; --jp-border-color2: #3a3a3a; --jp-brand-color1: #64b5f6; }
}
"""

#: Called with the static block, the bundle, the state and the layouts (packed apart: packing
#: them again would make them bigger). ``document.currentScript`` is read before anything is
#: awaited (it is only set while the script starts). Where a browser has no
#: ``DecompressionStream`` the static block stays as it is.
LOADER = """(async (box, bundle, state, layouts) => {
  if (typeof DecompressionStream != "function") return;
  const inflate = (data) => new Response(
    new Blob([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))])
      .stream().pipeThrough(new DecompressionStream("deflate"))).text();
  const [code, text] = await Promise.all([inflate(bundle), inflate(state)]);
  const script = document.createElement("script");
  script.textContent = code;
  document.head.append(script);
  script.remove();
  jaxvizStatic.mount(box, { ...JSON.parse(text), layouts });
})"""


@dataclasses.dataclass
class StaticOutput:
    """A static output's parts: the data page.js mounts (``state``, packed as ``data``), the
    layouts it carries, the drawing shown inline (seen without scripts), and the note shown
    where scripts do not run."""
    state: dict[str, Any]
    data: str
    layouts: list[list]
    svg: str
    note: str


@_gc.paused()  # a big graph's states, layouts and their changes (see _gc.py)
def static_output(trace: "Trace", view: str = "jaxpr", expand: object = None,
                  layouts_limit: int = NOTEBOOK_LAYOUTS,
                  check: Callable[[], None] | None = None, beside: int = 0) -> StaticOutput:
    """One trace's static output, with the layouts of opening its structure groups that fit
    OUTPUT_BUDGET with the ``beside`` bytes the output also carries (a widget's saved state),
    within ``layouts_limit`` bytes; ``check`` is called before each of them (made in the
    background, it raises when a cell starts: see background.py)."""
    state: dict[str, Any] = output_state.trace_state(trace, TEXT_LIMIT)
    views = state["views"]
    output_state.check_view(views, view)
    views[view] = views[view] or output_state.view_note(trace, view)  # its graph may fail to build
    svg = ""
    if views[view] is None:
        state.update(output_state.view_state(trace, view, expand))
        svg = state.pop("svg")
    else:
        state.update(output_state.empty_view(view))
    bundle = _packed_bundle()
    note = ("The interactive view of this trace needs JavaScript (in JupyterLab: trust the "
            "notebook, or run the cell)." if bundle else output_state.MISSING_BUNDLE)
    if bundle and len(svg) > INLINE_SVG_LIMIT:
        state["svg"], svg = svg, ""
        note = f"The drawing ({len(state['nodes']):,} boxes) and the interactive view of " \
               "this trace need JavaScript (in JupyterLab: trust the notebook, or run the cell)."
    data = _packed_json(state)
    layouts: list[list] = []
    if bundle and views[view] is None:
        # What is left for layouts beside the drawing, the bundle, the data and the HTML
        # around them (the page's own, the loader, the findings, a kilobyte for the rest).
        frame = len(PAGE_STYLE) + len(LOADER) + len(_findings(state["findings"])) + 1_000
        room = min(layouts_limit,
                   OUTPUT_BUDGET - beside - frame - len(svg) - len(bundle) - len(data))
        layouts = structure_layouts(trace, view, state, room, len(pack(state.get("svg", svg))),
                                    check)
    return StaticOutput(state, data, layouts, svg, note)


def fragment(trace: "Trace", view: str = "jaxpr", expand: object = None,
             layouts_limit: int = NOTEBOOK_LAYOUTS, check: Callable[[], None] | None = None,
             beside: int = 0) -> str:
    """The HTML block for one trace (the notebook's ``text/html`` output, saved beside
    ``beside`` bytes of widget state)."""
    out = static_output(trace, view, expand, layouts_limit, check, beside)
    bundle = _packed_bundle()
    return (
        f'<div class="jaxviz-static"><style>{NO_SCRIPT_STYLE}</style>'
        f"<div><b>{_esc(trace.fn_name)}</b> on {_esc(trace.device)}</div>"
        f"{_findings(out.state['findings'])}"
        f"<div><i>{_esc(out.note)}</i></div>"
        f'<div class="jv-drawing" style="max-height:0;overflow-y:hidden">{out.svg}</div></div>'
        + (f'<script>{LOADER}(document.currentScript.previousElementSibling, "{bundle}", '
           f'"{out.data}", {_script_json(out.layouts)});</script>' if bundle else "")
    )


def structure_layouts(trace: "Trace", view: str, base: dict[str, Any], budget: int,
                      drawing: int, check: Callable[[], None] | None = None) -> list[list]:
    """[open groups, packed view traits] for opening each structure group drawn closed in
    ``base`` (a pass, a module, a layer, a library call), one at a time, those hiding the
    most first, within ``budget`` packed bytes. Each carries its drawing whole (about as big
    as the first, ``drawing`` bytes packed, per box: no layout is tried where less is left
    beside what changes in its node index, weighed first), and only what changes in the node
    index (``changed``: see _changes)."""
    graph = trace.graph(view, linked=False)
    opened = frozenset(base["expanded"])
    sizes = graph.leaf_counts
    closed = [graph.nodes[i] for i in project(graph, opened).nodes
              if graph.nodes[i].kind == "group" and graph.nodes[i].op in STRUCTURE_OPS]
    closed.sort(key=lambda g: (-sizes[g.id], graph.depth(g.id)))
    layouts, size = [], 0
    for group in closed[:LAYOUTS_LIMIT]:
        if budget - size < drawing:
            break
        if check is not None:
            check()
        try:
            index = output_state.view_index(trace, view, opened | {group.id},
                                            max_drawn=LAYOUT_MAX_DRAWN)
        except ValueError:  # refused before its layout: it would draw too much
            continue
        changed = {k: _changes(base[k], index[k]) for k in _INDEX_TRAITS}
        # Its drawing, guessed by its boxes and the first's (within a tenth on the corpus).
        expected = drawing * len(index["nodes"]) // max(1, len(base["nodes"]))
        if len(_packed_json(changed)) + expected > budget - size:
            continue  # no room for what it would draw: no Graphviz
        traits = {**index, **output_state.view_drawing(trace, view, opened | {group.id})}
        layout = {k: traits[k] for k in _DRAWING_TRAITS}
        layout["changed"] = changed
        packed = _packed_json(layout)
        entry = [traits["expanded"], packed]
        weight = len(_script_json(entry))
        if size + weight <= budget:
            layouts.append(entry)
            size += weight
    return layouts


def _script_json(value: Any) -> str:
    """``value`` as a JSON literal that can sit in a script: no ``<`` to end it."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def _packed_json(value: Any) -> str:
    return pack(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _changes(old: dict | list, new: dict | list) -> dict | list:
    """``new`` as edits of ``old`` (js/src/page.js applies them): for a dict, the entries
    to ``set`` and the keys to ``drop``; for a list, pieces that are either ``[i, j]``
    (``old[i:j]``) or ``{"+": [entries]}``."""
    if isinstance(old, dict):
        return {"set": {k: v for k, v in new.items() if old.get(k) != v},
                "drop": [k for k in old if k not in new]}
    # repr is a key that is equal only for equal entries (lists of strings and numbers: the
    # search entries, the source lines), and cheaper than JSON, for thousands of them.
    matcher = difflib.SequenceMatcher(None, [repr(e) for e in old], [repr(e) for e in new],
                                      autojunk=False)
    pieces: list = []
    for tag, i, j, k, m in matcher.get_opcodes():
        if tag == "equal":
            pieces.append([i, j])
        elif k < m:
            pieces.append({"+": new[k:m]})
    return pieces


def page(trace: "Trace", view: str = "jaxpr", expand: object = None) -> str:
    """A complete, self-contained HTML document (the ``.html`` export)."""
    return _document(trace.fn_name, fragment(trace, view, expand, OUTPUT_BUDGET))


def _document(name: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(f'jaxviz: {name}')}</title><style>{PAGE_STYLE}</style></head>\n"
        f"<body>{body}</body></html>\n"
    )


def comparison_fragment(comparison: "Comparison", view: str = "jaxpr") -> str:
    """The HTML block for a comparison: the summary, and both drawings side by side (inline
    when small; the data carries them for the interactive view)."""
    from jaxviz.display.comparison import comparison_state
    from jaxviz.display.widget import Drawings

    state = comparison_state(comparison, (Drawings(comparison.left), Drawings(comparison.right)),
                             view)
    svgs = [state[side]["svg"] for side in ("left", "right")]
    inline = sum(map(len, svgs)) <= INLINE_SVG_LIMIT
    bundle = _packed_bundle("compare-page.js")
    note = ("The interactive view of this comparison needs JavaScript (in JupyterLab: trust "
            "the notebook, or run the cell)." if bundle else output_state.MISSING_BUNDLE)
    drawings = "".join(f'<div><b>{_esc(name)}</b>{svg if inline else ""}</div>'
                       for name, svg in zip(comparison.names, svgs))
    return (
        f'<div class="jaxviz-static"><style>{NO_SCRIPT_STYLE}</style>'
        + "".join(f"<div>{_esc(line)}</div>" for line in state["summary"])
        + f"<div><i>{_esc(note)}</i></div>"
        f'<div class="jv-drawing" style="max-height:0;overflow-y:hidden;display:flex;gap:2em">'
        f"{drawings}</div></div>"
        + (f'<script>{LOADER}(document.currentScript.previousElementSibling, "{bundle}", '
           f'"{_packed_json(state)}", []);</script>' if bundle else "")
    )


def comparison_page(comparison: "Comparison", view: str = "jaxpr") -> str:
    """A complete, self-contained HTML document of a comparison (its ``.html`` export)."""
    for trace in (comparison.left, comparison.right):
        trace.graph(view)  # linked now: a saved page has no kernel to ask for links later
    return _document(" vs ".join(comparison.names), comparison_fragment(comparison, view))


def _findings(findings: list[dict[str, Any]]) -> str:
    return "".join(
        f"<div>{_esc(f['severity'])}: "
        + (f"line {f['line']}: " if f["line"] is not None else "")
        + _esc(f["message"])
        + (f" (fix: {_esc(f['hint'])})" if f["hint"] else "")
        + "</div>"
        for f in findings
    )


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


@functools.cache
def _packed_bundle(name: str = "page.js") -> str | None:
    """A static bundle as ``LOADER`` takes it, packed once per process: ``page.js`` for a
    trace, ``compare-page.js`` for a comparison."""
    code = output_state.bundle(name)
    return None if code is None else pack(code)
