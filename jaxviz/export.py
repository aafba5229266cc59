"""Write a view to a file; the format follows the suffix. Same layout as the screen."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from jaxviz.layout import render

if TYPE_CHECKING:
    from jaxviz.trace import Trace

FORMATS = (".svg", ".png", ".pdf", ".dot", ".html")
#: Resolution of PNG exports: crisp on high-density screens and in READMEs.
PNG_DPI = 144


def export(trace: "Trace", path: str | os.PathLike, view: str = "jaxpr",
           expand: object = None) -> Path:
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"cannot export to {path.name!r}: use a file name ending in {', '.join(FORMATS)}"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot export to {str(path)!r}: {str(path.parent)!r} is not a directory")
    _write_atomically(path, _content(trace, suffix, view, expand))
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
        return render(layout.dot.replace("digraph jaxviz {", f"digraph jaxviz {{\n  dpi={PNG_DPI};", 1), "png")
    return render(layout.dot, "pdf")


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
