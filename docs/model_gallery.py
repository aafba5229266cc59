"""The README's side-by-side pictures of one real model (``python docs/make_gallery.py``
makes them with the rest of the gallery).

The model is the Flax Linen VAE train step of the test corpus (``tests/real/flax_vae.py``):
a forward pass, a backward pass and an Adam update, through the modules VAE > encoder and
decoder > Dense layers. Its jaxpr and its compiled HLO are drawn with the same kind of groups
open, so that the two pictures compare: every pass or module that holds another one (forward,
backward, VAE, encoder, decoder). Everything else stays a closed, labelled box: the Dense layers
(``fc1 · 3 ops``), fusions, library calls (Optax, ``jax.random``) and ``jnp`` wrappers. The
pictures then show the program's structure, not its hundreds of ops; and the HLO picture shows
XLA's fusions sitting in the same groups as the jaxpr ops they compute.

Each picture is rendered to one pixel width (twice the ~550 px the README shows it at), at
whatever resolution that takes: ``docs/images/gallery-jaxpr.png`` and ``gallery-hlo.png``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pygraphviz

import jaxviz

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import real  # noqa: E402  (the corpus of real programs, in tests/real/)

MODULE, PROGRAM = "flax_vae", "flax_vae"
OUT = ROOT / "docs" / "images"
#: Pixel width of each picture; the README shows it at about half that.
WIDTH_PX = 1100
#: The resolution of ``Trace.export``'s PNGs: never sharper than that.
MAX_DPI = 144
#: Warn about pictures bigger than this: the README should stay light.
MAX_BYTES = 250_000


def structure_groups(graph: jaxviz.Graph) -> frozenset[str]:
    """Ids of the scope groups (passes, modules) that hold another scope group, reached from
    the top through such groups only: not the scopes repeated inside a library's loop."""
    def is_scope(node: jaxviz.Node) -> bool:
        return node.kind == "group" and node.op == "scope"

    opened: set[str] = set()
    pending = [node for node in graph.children(None) if is_scope(node)]
    while pending:
        group = pending.pop()
        inner_scopes = [node for node in graph.children(group.id) if is_scope(node)]
        if inner_scopes:
            opened.add(group.id)
            pending.extend(inner_scopes)
    return frozenset(opened)


def render_png(trace: jaxviz.Trace, view: str, expand: frozenset[str], path: Path) -> Path:
    """Draw ``view`` with ``expand`` open, WIDTH_PX wide, to ``path``."""
    layout = trace.layout(view, expand)
    width_pt = float(re.search(r'<svg width="([\d.]+)pt"', layout.svg).group(1))
    dpi = min(MAX_DPI, WIDTH_PX * 72 / width_pt)
    pygraphviz.AGraph(string=layout.dot).draw(str(path), format="png", prog="dot",
                                              args=f"-Gdpi={dpi:.1f}")
    return path


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG header."""
    header = path.read_bytes()[16:24]
    return int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")


def make_pictures() -> None:
    """Trace the model and write both pictures (make_gallery.py runs JAX on the CPU, so the
    HLO is XLA's CPU fusions whichever machine makes them)."""
    program = next(p for p in real.load(MODULE) if p.name == PROGRAM)
    trace = jaxviz.trace(program.fn, *program.args, **program.kwargs)
    for view in ("jaxpr", "hlo"):
        graph = trace.graph(view, linked=False)
        expand = structure_groups(graph)
        path = render_png(trace, view, expand, OUT / f"gallery-{view}.png")
        size = path.stat().st_size
        width, height = png_size(path)
        note = "  <- over the gallery's size limit" if size > MAX_BYTES else ""
        print(f"{path.relative_to(ROOT)}  {width}×{height} px  {size / 1000:.0f} KB{note}")
        print("  open: " + ", ".join(sorted(graph.nodes[i].label for i in expand)))
