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
whose alphabet (letters, digits, ``+/=``) cannot close a string or the script.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
import zlib
from typing import TYPE_CHECKING, Any

from jaxviz.display import state as output_state
from jaxviz.model import project
from jaxviz.structure import STRUCTURE_OPS

if TYPE_CHECKING:
    from jaxviz.trace import Trace

#: Longest program text embedded in a static output, a preview: saved notebooks stay light
#: (the live widget and the Trace have the whole texts).
TEXT_LIMIT = 6_000
#: A bigger drawing travels packed with the data, not as inline SVG: without scripts, a note
#: stands in for it.
INLINE_SVG_LIMIT = 100_000
#: Packed bytes a static output may add for the structure groups it opens without a kernel
#: (each one's layout, precomputed: a whole drawing), and how many it lays out at most.
LAYOUTS_BUDGET = 60_000
LAYOUTS_LIMIT = 4
#: A layout drawing more boxes than this is not tried (the 127 other layers of a model).
LAYOUT_MAX_DRAWN = 300
#: The view traits a precomputed layout replaces (js/src/page.js shows them).
_LAYOUT_TRAITS = ("svg", "expanded", "folded", "nodes", "hidden", "sources", "finding_nodes")

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

#: Called with the static block, the bundle and the state. ``document.currentScript`` is read
#: before anything is awaited (it is only set while the script starts). Where a browser has no
#: ``DecompressionStream`` the static block stays as it is.
LOADER = """(async (box, bundle, state) => {
  if (typeof DecompressionStream != "function") return;
  const inflate = (data) => new Response(
    new Blob([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))])
      .stream().pipeThrough(new DecompressionStream("deflate"))).text();
  const [code, text] = await Promise.all([inflate(bundle), inflate(state)]);
  const script = document.createElement("script");
  script.textContent = code;
  document.head.append(script);
  script.remove();
  jaxvizStatic.mount(box, JSON.parse(text));
})"""


def fragment(trace: "Trace", view: str = "jaxpr", expand: object = None) -> str:
    """The HTML block for one trace (the notebook's ``text/html`` output)."""
    state: dict[str, Any] = output_state.trace_state(trace, TEXT_LIMIT)
    views = state["views"]
    output_state.check_view(views, view)
    views[view] = views[view] or output_state.view_note(trace, view)  # its graph may fail to build
    svg = ""
    if views[view] is None:
        state.update(output_state.view_state(trace, view, expand))
        svg = inline_svg(state.pop("svg"))
        # Each layout is about as big as this one: where this is over the budget, none fits.
        fits = len(_packed_traits({**state, "svg": svg})) <= LAYOUTS_BUDGET
        state["layouts"] = structure_layouts(trace, view, state["expanded"]) if fits else []
    else:
        state.update(output_state.empty_view(view))
    bundle = _packed_bundle()
    note = ("The interactive view of this trace needs JavaScript (in JupyterLab: trust the "
            "notebook, or run the cell)." if bundle else output_state.MISSING_BUNDLE)
    if bundle and len(svg) > INLINE_SVG_LIMIT:
        state["svg"], svg = svg, ""
        note = f"The drawing ({len(state['nodes']):,} boxes) and the interactive view of " \
               "this trace need JavaScript (in JupyterLab: trust the notebook, or run the cell)."
    data = pack(json.dumps(state, ensure_ascii=False, separators=(",", ":")))
    return (
        f'<div class="jaxviz-static"><style>{NO_SCRIPT_STYLE}</style>'
        f"<div><b>{_esc(trace.fn_name)}</b> on {_esc(trace.device)}</div>"
        f"{_findings(state['findings'])}"
        f"<div><i>{_esc(note)}</i></div>"
        f'<div class="jv-drawing" style="max-height:0;overflow-y:hidden">{svg}</div></div>'
        + (f'<script>{LOADER}(document.currentScript.previousElementSibling, "{bundle}", '
           f'"{data}");</script>' if bundle else "")
    )


def structure_layouts(trace: "Trace", view: str, expanded: list[str]) -> list[list]:
    """[open groups, packed view traits] for opening each structure group drawn closed
    (a pass, a module, a layer), one at a time, outermost first, while they fit the budget
    (each is about as big as the drawing: past the first that does not fit, none would)."""
    graph = trace.graph(view, linked=False)
    opened = frozenset(expanded)
    closed = [graph.nodes[i] for i in project(graph, opened).nodes
              if graph.nodes[i].kind == "group" and graph.nodes[i].op in STRUCTURE_OPS]
    layouts, size = [], 0
    for group in sorted(closed, key=lambda g: graph.depth(g.id))[:LAYOUTS_LIMIT]:
        try:
            traits = output_state.view_state(trace, view, opened | {group.id},
                                             max_drawn=LAYOUT_MAX_DRAWN)
        except ValueError:  # refused before its layout: it would draw too much
            continue
        traits["svg"] = inline_svg(traits["svg"])
        packed = _packed_traits(traits)
        if size + len(packed) > LAYOUTS_BUDGET:
            break
        layouts.append([traits["expanded"], packed])
        size += len(packed)
    return layouts


def _packed_traits(state: dict[str, Any]) -> str:
    """The view traits a layout replaces, packed."""
    return pack(json.dumps({k: state[k] for k in _LAYOUT_TRAITS}, ensure_ascii=False,
                           separators=(",", ":")))


def page(trace: "Trace", view: str = "jaxpr", expand: object = None) -> str:
    """A complete, self-contained HTML document (the ``.html`` export)."""
    title = _esc(f"jaxviz: {trace.fn_name}")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{PAGE_STYLE}</style></head>\n"
        f"<body>{fragment(trace, view, expand)}</body></html>\n"
    )


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


def inline_svg(svg: str) -> str:
    """Graphviz's SVG without the XML prolog and doctype, ready to sit inside HTML, and
    lighter: coordinates to the point (Graphviz writes hundredths), no comments, no tooltips
    (the page shows its own)."""
    svg = re.sub(r"^.*?(?=<svg\b)", "", svg, count=1, flags=re.S)
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    svg = re.sub(r' xlink:title="[^"]*"', "", svg)
    return _GEOMETRY.sub(lambda m: m[1] + _HUNDREDTHS.sub(r"\1", m[2]), svg)


#: Attributes holding coordinates (not text: a label may read "mul 0.25"), and the digits
#: past the point Graphviz writes in them.
_GEOMETRY = re.compile(r'(\s(?:d|points|x|y|font-size)=")([^"]*)')
_HUNDREDTHS = re.compile(r"(\d)\.\d\d(?!\d)")


@functools.cache
def _packed_bundle() -> str | None:
    """The static bundle as ``LOADER`` takes it, packed once per process."""
    code = output_state.bundle("page.js")
    return None if code is None else pack(code)


def pack(text: str) -> str:
    """``text`` deflated (zlib format, as ``DecompressionStream("deflate")`` reads it) and in
    base64, which is safe inside a quoted string in a <script>."""
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
