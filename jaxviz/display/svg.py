"""Graphviz's SVG made light enough to send with every output.

Outputs carry a drawing each (a static page one per layout it can open), and Graphviz writes
far more than the picture needs: a rounded box is a 25-point path, every text names its font,
coordinates come in hundredths. The widget reads ids and edge titles only (js/src/drawing.js),
and draws its own tooltips. The ``.svg`` export keeps Graphviz's own file.
"""

from __future__ import annotations

import re

__all__ = ["slim"]


def slim(svg: str) -> str:
    """``svg`` without the XML prolog, comments, tooltips and node titles, its rounded boxes as
    ``<rect>``, arrowheads as markers, what every text shares said once, and coordinates to
    the point: under half the size deflated, drawn the same."""
    svg = re.sub(r"^.*?(?=<svg\b)", "", svg, count=1, flags=re.S)
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    svg = re.sub(r' xlink:title="[^"]*"', "", svg)
    svg = _LINK.sub(r"\1", svg)
    svg = _BOX_TITLE.sub(r"\1", svg)
    svg = _ROUNDED.sub(_as_rect, svg)
    svg = _said_once(svg)
    svg = _GEOMETRY.sub(lambda m: m[1] + _DECIMAL.sub(_whole, m[2]), svg)
    return _arrows_as_markers(_EDGE_PATH.sub(lambda m: m[1] + _relative(m[2]), svg))


#: A node's wrapper from its tooltip: an ``<a>`` inside a ``<g>``, with nothing else left once
#: the tooltip is gone.
_LINK = re.compile(r'<g id="a_[^"]*"><a>\n(.*?)</a>\n</g>\n', re.S)
#: A node's or cluster's title (an edge's "SRC->DST" title is how the widget knows its ends).
_BOX_TITLE = re.compile(r'(<g id="[^"]*" class="(?:node|cluster)\b[^"]*">\n)<title>[^<]*</title>\n')
#: A path made of a move and eight curves: Graphviz's rounded box.
_ROUNDED = re.compile(r'<path ([^>]*?)d="(M-?[\d.]+,-?[\d.]+C(?:-?[\d.]+,-?[\d.]+ ?){24})"/>')
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _as_rect(match: re.Match) -> str:
    """A rounded box path as a ``<rect>``: closed, with every point on its bounding box (an
    edge drawn with eight curves is neither, and stays a path)."""
    numbers = [float(n) for n in _NUMBER.findall(match[2])]
    xs, ys = numbers[0::2], numbers[1::2]
    left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
    closed = (xs[0], ys[0]) == (xs[-1], ys[-1]) and left < right and top < bottom
    if not closed or any(x not in (left, right) and y not in (top, bottom)
                         for x, y in zip(xs, ys)):
        return match[0]
    radius = min(xs[0] - left, right - xs[0]) if ys[0] in (top, bottom) else 0
    return (f'<rect {match[1]}x="{left:g}" y="{top:g}" width="{right - left:g}" '
            f'height="{bottom - top:g}" rx="{radius:g}"/>')


#: Text attributes SVG inherits, which Graphviz repeats on every text.
_INHERITED = ("font-family", "text-anchor")
_TEXT = re.compile(r"<text\b([^>]*)>([^<]*)</text>")


def _spacing_kept(match: re.Match) -> str:
    """A text without xml:space where its spaces read the same without it: single, inside."""
    content = match[2]
    if "  " in content or content != content.strip():
        return match[0]
    attributes = match[1].replace(' xml:space="preserve"', "")
    return f"<text{attributes}>{content}</text>"


def _said_once(svg: str) -> str:
    """Where every text has the same font or anchor, say it once, on the drawing's root group;
    keep xml:space only where the spaces would otherwise change."""
    svg = _TEXT.sub(_spacing_kept, svg)
    texts = re.findall(r"<text\b[^>]*>", svg)
    hoisted = ""
    for name in _INHERITED:
        values = {re.search(f' {name}="([^"]*)"', text)[1] if f" {name}=" in text else None
                  for text in texts}
        if len(values) == 1 and None not in values:
            attribute = f' {name}="{values.pop()}"'
            svg = re.sub(f"(<text\\b[^>]*?){attribute}", r"\1", svg)
            hoisted += attribute
    return re.sub(r'(<g id="graph0" class="graph")', lambda m: m[1] + hoisted, svg, count=1)


#: Attributes holding coordinates (not text: a label may read "mul 0.25"), and the decimals
#: Graphviz writes in them.
_GEOMETRY = re.compile(r'(\s(?:d|points|x|y|width|height|rx|font-size)=")([^"]*)')
_DECIMAL = re.compile(r"\d+\.\d+")


def _whole(match: re.Match) -> str:
    return str(round(float(match[0])))


#: An edge's spline: a move, then cubic curves, in absolute coordinates.
_EDGE_PATH = re.compile(r'(<path fill="none" [^>]*?d=")(M-?\d+,-?\d+C[-\d, ]+)(?=")')


def _relative(path: str) -> str:
    """A spline in relative coordinates: smaller numbers, fewer digits."""
    numbers = [int(n) for n in _NUMBER.findall(path)]
    points = list(zip(numbers[0::2], numbers[1::2]))
    (x, y), parts = points[0], []
    for k in range(1, len(points) - 2, 3):
        parts.append(" ".join(f"{px - x},{py - y}" for px, py in points[k:k + 3]))
        x, y = points[k + 2]
    return f"M{points[0][0]},{points[0][1]}c" + " ".join(parts)


#: An edge's arrowhead: a triangle in the edge's colour right after its spline.
_ARROW = re.compile(r'(<path fill="none" stroke="(#[0-9a-f]{6})"[^>]*?)/>\n'
                    r'<polygon fill="\2" stroke="\2" points="[^"]*"/>\n')
#: Graphviz's arrowhead at the layout's arrowsize (0.6): 6 points long, 4 wide.
_MARKER = ('<marker id="jv-arrow-{name}" class="jv-arrow-{name}" viewBox="-1 -3.1 8 6.2" '
           'refX="0" refY="0" markerWidth="8" markerHeight="6.2" markerUnits="userSpaceOnUse" '
           'orient="auto"><path d="M0,-2L6,0L0,2z" fill="{colour}" stroke="{colour}"/>'
           "</marker>")
#: The colour of a highlighted edge's arrowhead where no stylesheet sets it.
ACCENT = "#1976d2"


def _arrows_as_markers(svg: str) -> str:
    """Arrowheads as one marker per colour, not a polygon each (a fifth of a drawing); and an
    ``accent`` one the widget's stylesheet gives highlighted edges."""
    colours: dict[str, None] = {}

    def marked(match: re.Match) -> str:
        colours[match[2]] = None
        return f'{match[1]} marker-end="url(#jv-arrow-{match[2][1:]})"/>\n'

    svg = _ARROW.sub(marked, svg)
    if not colours:
        return svg
    markers = [_MARKER.format(name=c[1:], colour=c) for c in colours]
    markers.append(_MARKER.format(name="accent", colour=ACCENT))
    return re.sub(r"(<svg\b[^>]*>\n?)", lambda m: m[1] + "<defs>" + "".join(markers) + "</defs>\n",
                  svg, count=1)
