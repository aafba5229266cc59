"""Write a view to a file; the format follows the suffix. Same layout as the screen."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from jaxviz.layout import render, side_by_side
from jaxviz.model import expansion

if TYPE_CHECKING:
    from jaxviz.compare import Comparison
    from jaxviz.trace import Trace

FORMATS = (".svg", ".png", ".pdf", ".dot", ".html")
#: Resolution of PNG exports: crisp on high-density screens and in READMEs.
PNG_DPI = 144


def export(trace: "Trace", path: str | os.PathLike, view: str = "jaxpr",
           expand: object = None) -> Path:
    path = _checked(path)
    _write_atomically(path, _content(trace, path.suffix.lower(), view, expand))
    return path


def _checked(path: str | os.PathLike) -> Path:
    """``path`` if jaxviz can write it: a known suffix, in a folder that is there."""
    path = Path(path).expanduser()
    if path.suffix.lower() not in FORMATS:
        raise ValueError(
            f"cannot export to {path.name!r}: use a file name ending in {', '.join(FORMATS)}"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot export to {str(path)!r}: {str(path.parent)!r} is not a directory")
    return path


def _content(trace: "Trace", suffix: str, view: str, expand: object) -> bytes:
    if suffix == ".html":
        from jaxviz.display import html

        trace.graph(view)  # linked now: a saved page has no kernel to ask for links later
        return html.page(trace, view, expand).encode("utf-8")
    layout = trace.layout(view, expand)
    if suffix == ".svg":
        return layout.svg.encode("utf-8")
    if suffix == ".dot":
        return layout.dot.encode("utf-8")
    if suffix == ".png":
        return render(_with_dpi(layout.dot), "png")
    return render(layout.dot, "pdf")


def _with_dpi(dot: str) -> str:
    return dot.replace("digraph jaxviz {", f"digraph jaxviz {{\n  dpi={PNG_DPI};", 1)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write beside the target and rename, so a failure leaves no half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:  # plain open: the file gets the user's usual mode
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_comparison(comparison: "Comparison", path: str | os.PathLike,
                      view: str = "jaxpr") -> Path:
    """Both graphs of a comparison in one picture (or, ``.html``, its static view)."""
    path = _checked(path)
    suffix = path.suffix.lower()
    if suffix == ".html":
        from jaxviz.display import html

        data = html.comparison_page(comparison, view).encode("utf-8")
    else:
        data = comparison_picture(comparison, view, suffix[1:])
    _write_atomically(path, data)
    return path


def comparison_picture(comparison: "Comparison", view: str, fmt: str,
                       expanded: list[frozenset[str] | None] | None = None) -> bytes:
    """Both graphs side by side, each as its default view (or ``expanded`` groups open), the
    boxes with no partner outlined, as DOT text or rendered to ``fmt`` (svg, png, pdf)."""
    from jaxviz.display.comparison import unmatched_boxes

    traces = (comparison.left, comparison.right)
    opened = [expanded[k] if expanded and expanded[k] is not None
              else expansion(t.graph(view, linked=False)) for k, t in enumerate(traces)]
    alone = unmatched_boxes(comparison, view, opened)
    dot = side_by_side([(name, t.graph(view, linked=False), opened[k],
                         t.dead_nodes if view == "jaxpr" else frozenset(), alone[k])
                        for k, (name, t) in enumerate(zip(comparison.names, traces))])
    if fmt == "dot":
        return dot.encode("utf-8")
    return render(_with_dpi(dot) if fmt == "png" else dot, fmt)
