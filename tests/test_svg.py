"""The drawing every output carries, made light (jaxviz/display/svg.py), on real Graphviz."""

import re
import xml.etree.ElementTree as ET
import zlib

import jax
import jax.numpy as jnp

import jaxviz
import programs as P
from jaxviz.display import state, svg
from jaxviz.layout import render

SVG = "{http://www.w3.org/2000/svg}"


def _ids(root: ET.Element, kind: str) -> set[str]:
    return {g.get("id") for g in root.iter(SVG + "g") if kind in (g.get("class") or "").split()}


def test_a_slim_drawing_keeps_what_the_widget_reads_at_under_half_the_size():
    def step(layers, x):
        def loss(layers, x):
            for w in layers:
                x = jnp.tanh(x @ w)
            return (x ** 2).sum()
        return jax.grad(loss)(layers, x)

    t = jaxviz.trace(step, [jnp.ones((4, 4))] * 3, jnp.ones((2, 4)))
    full = t.layout().svg
    slim = svg.slim(full)
    before, after = ET.fromstring(full.encode()), ET.fromstring(slim)
    for kind in ("node", "cluster", "edge"):
        assert _ids(after, kind) == _ids(before, kind) != set()
    titles = lambda root: [g.find(SVG + "title").text for g in root.iter(SVG + "g")
                           if g.get("class") == "edge"]
    assert titles(after) == titles(before)  # how the widget knows each edge's ends
    texts = lambda root: [t.text for t in root.iter(SVG + "text")]
    assert texts(after) == texts(before)
    # every rounded box is a rect; every arrowhead is a marker
    boxes = [g for g in after.iter(SVG + "g") if g.get("class", "").startswith(("node", "cluster"))]
    assert all(box.find(f".//{SVG}rect") is not None or box.find(f".//{SVG}polygon") is not None
               for box in boxes)
    edges = [g for g in after.iter(SVG + "g") if g.get("class") == "edge"]
    assert all(e.find(SVG + "path").get("marker-end") == "url(#jv-arrow-9ca3af)" and
               e.find(SVG + "polygon") is None for e in edges)
    assert {m.get("id") for m in after.iter(SVG + "marker")} == {"jv-arrow-9ca3af",
                                                                "jv-arrow-accent"}
    assert "<title>n" not in slim and "<!--" not in slim and slim.count("font-family") == 1
    assert not re.search(r'\s(?:x|y|d|points)="[^"]*\d\.\d', slim)
    assert len(zlib.compress(slim.encode())) < 0.5 * len(zlib.compress(full.encode()))


def test_a_rounded_box_is_the_same_rect():
    dot = 'digraph { n [shape=box, style="rounded,filled", fillcolor="#fee2e2", label="x"]; }'
    slim = svg.slim(render(dot, "svg").decode())
    path = re.search(r'<path fill="#fee2e2"[^>]* d="([^"]*)"', render(dot, "svg").decode())[1]
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path)]
    xs, ys = numbers[0::2], numbers[1::2]
    rect = re.search(r'<rect fill="#fee2e2"[^>]*/>', slim)[0]
    values = {k: float(v) for k, v in re.findall(r' (x|y|width|height)="([^"]*)"', rect)}
    assert values == {"x": round(min(xs)), "y": round(min(ys)),
                      "width": round(max(xs) - min(xs)), "height": round(max(ys) - min(ys))}


def test_an_edge_drawn_with_eight_curves_stays_a_path():
    """A straight run of eight curves lies on its bounding box, but is not closed."""
    points = " ".join(f"10,{-y}" for y in range(1, 25))
    edge = (f'<g id="edge1" class="edge">\n<title>a&#45;&gt;b</title>\n'
            f'<path fill="none" stroke="#9ca3af" d="M10,0C{points}"/>\n</g>\n')
    slim = svg.slim(f'<svg xmlns="http://www.w3.org/2000/svg">\n<g id="graph0" class="graph">\n'
                    f"{edge}</g>\n</svg>")
    assert "<rect" not in slim and re.search(r'<path fill="none" stroke="#9ca3af" d="M10,0c', slim)


def test_spaces_that_matter_keep_xml_space():
    texts = "".join(f'<text xml:space="preserve" x="0" y="{k}">{content}</text>\n'
                    for k, content in enumerate(["a  b", " lead", "mul &#160;0.5", "add"]))
    slim = svg.slim(f'<svg xmlns="http://www.w3.org/2000/svg">\n<g id="graph0" class="graph">\n'
                    f"{texts}</g>\n</svg>")
    kept = re.findall(r'<text xml:space="preserve"[^>]*>([^<]*)</text>', slim)
    assert kept == ["a  b", " lead"]  # Graphviz writes "mul  0.5" with a no-break space
    assert re.search(r'<text x="0" y="3">add</text>', slim)


def test_the_widget_and_static_pages_get_the_slim_drawing():
    t = jaxviz.trace(P.fn, P.W, P.B, P.X)
    assert state.view_state(t, "jaxpr")["svg"] == svg.slim(t.layout().svg)


def test_the_widget_sends_and_saves_its_drawing_packed():
    """The svg trait travels deflated in base64 (js/src/packed.js inflates it): a big
    model's drawing weighs a fraction in every message and in the saved notebook."""
    import base64

    from benchmarks import workloads
    from jaxviz.display import widget

    t = jaxviz.trace(workloads.transformer, workloads.make_layers(8), jnp.ones((16, 32)))
    live = widget.make_widget(t)
    sent = live.get_state()["svg"]
    assert live.svg.startswith("<svg") and not sent.startswith("<")
    assert zlib.decompress(base64.b64decode(sent)).decode() == live.svg
    assert len(sent) < len(live.svg) / 3
