"""A Trace as self-contained HTML: the notebook output and the ``.html`` export.

No network, no external files: the SVG, the styles and (for full pages) a few lines of
pan/zoom script are inline. Every user-controlled string goes through ``html.escape``.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from jaxviz.display import text
from jaxviz.layout import CATEGORY_COLORS

if TYPE_CHECKING:
    from jaxviz.trace import Trace

#: Longest program text embedded in an output; longer texts are cut with a note.
TEXT_LIMIT = 20_000

STYLE = """
.jaxviz { font: 13px/1.4 var(--jp-ui-font-family, system-ui, sans-serif);
  color: var(--jp-ui-font-color1, #1f2937); }
.jaxviz .jv-head { margin: 0 0 6px; }
.jaxviz .jv-dim { color: var(--jp-ui-font-color2, #6b7280); }
.jaxviz .jv-graph { overflow: auto; max-height: 640px; border: 1px solid
  var(--jp-border-color2, #e5e7eb); border-radius: 4px; background: #fff; }
.jaxviz .jv-graph svg { display: block; max-width: none; height: auto; }
.jaxviz .jv-finding { margin: 4px 0; padding: 4px 8px; border-left: 3px solid #f59e0b;
  background: var(--jp-layout-color2, #fffbeb); }
.jaxviz .jv-finding.jv-error { border-color: #dc2626; }
.jaxviz .jv-legend span { display: inline-block; margin: 4px 8px 0 0; font-size: 11px; }
.jaxviz .jv-legend i { display: inline-block; width: 10px; height: 10px; margin-right: 3px;
  border: 1px solid #9ca3af; vertical-align: -1px; }
.jaxviz pre { max-height: 320px; overflow: auto; font-size: 12px; }
"""

PAN_ZOOM = """
for (const box of document.querySelectorAll('.jaxviz .jv-graph')) {
  const svg = box.querySelector('svg'); if (!svg) continue;
  let scale = 1; const w = svg.width.baseVal.value, h = svg.height.baseVal.value;
  const apply = () => { svg.style.width = (w * scale) + 'px'; svg.style.height = (h * scale) + 'px'; };
  box.addEventListener('wheel', e => { if (!e.ctrlKey && !e.metaKey) return; e.preventDefault();
    scale = Math.min(8, Math.max(0.1, scale * (e.deltaY < 0 ? 1.15 : 1 / 1.15))); apply(); });
  let drag = null;
  box.addEventListener('mousedown', e => { drag = [e.clientX, e.clientY, box.scrollLeft, box.scrollTop]; });
  window.addEventListener('mouseup', () => { drag = null; });
  window.addEventListener('mousemove', e => { if (!drag) return;
    box.scrollLeft = drag[2] - (e.clientX - drag[0]); box.scrollTop = drag[3] - (e.clientY - drag[1]); });
}
"""


def fragment(trace: "Trace", view: str = "jaxpr", expand: object = None) -> str:
    """The HTML block a notebook shows for a Trace."""
    esc = html.escape
    parts = [f'<div class="jaxviz"><style>{STYLE}</style>']
    parts.append(
        f'<div class="jv-head"><b>{esc(trace.fn_name)}</b> '
        f'<span class="jv-dim">on {esc(trace.device)} · {esc(text.stages_text(trace))}'
        "</span></div>"
    )
    for finding in trace.findings:
        where = f"line {finding.line}: " if finding.line is not None else ""
        hint = f"<br><b>fix:</b> {esc(finding.hint)}" if finding.hint else ""
        parts.append(
            f'<div class="jv-finding jv-{esc(finding.severity)}">'
            f"<b>{esc(finding.severity)}</b>: {esc(where + finding.message)}{hint}</div>"
        )
    if trace.trace_stdout:
        parts.append(
            '<div class="jv-dim">printed while tracing:</div>'
            f"<pre>{esc(_cut(trace.trace_stdout))}</pre>"
        )
    if trace.jaxpr is not None:
        layout = trace.layout(view, expand)
        parts.append(f'<div class="jv-graph">{inline_svg(layout.svg)}</div>')
        parts.append(legend())
    for title, body in (("jaxpr", str(trace.jaxpr) if trace.jaxpr is not None else None),
                        ("StableHLO", trace.stablehlo_text), ("compiled HLO", trace.hlo_text)):
        if body:
            parts.append(f"<details><summary>{title} text</summary>"
                         f"<pre>{esc(_cut(body))}</pre></details>")
    parts.append("</div>")
    return "".join(parts)


def page(trace: "Trace", view: str = "jaxpr", expand: object = None) -> str:
    """A complete, self-contained HTML document (the ``.html`` export)."""
    title = html.escape(f"jaxviz: {trace.fn_name}")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n<body>"
        f"{fragment(trace, view, expand)}\n<script>{PAN_ZOOM}</script>\n</body></html>\n"
    )


def legend() -> str:
    items = "".join(
        f'<span><i style="background:{color}"></i>{html.escape(name)}</span>'
        for color, name in CATEGORY_COLORS.values()
    )
    return f'<div class="jv-legend">{items}</div>'


def inline_svg(svg: str) -> str:
    """Graphviz's SVG without the XML prolog and doctype, ready to sit inside HTML."""
    return re.sub(r"^.*?(?=<svg\b)", "", svg, count=1, flags=re.S)


def _cut(body: str) -> str:
    if len(body) <= TEXT_LIMIT:
        return body
    return body[:TEXT_LIMIT] + f"\n… ({len(body) - TEXT_LIMIT:,} more characters not shown)"
