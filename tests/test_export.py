"""Exports are real files of their format, drawn from the same layout as the screen."""

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import jax
import jax.numpy as jnp
import pygraphviz
import pytest
from jax import lax

import jaxviz
import programs as P

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def trace():
    return jaxviz.trace(P.fori_fn, jnp.array([1.1, -1.1]))


def svg_ids(svg_text):
    root = ET.fromstring(svg_text)
    return {el.get("id") for el in root.iter() if el.get("id")}


def test_svg(trace, tmp_path):
    path = trace.export(tmp_path / "g.svg")
    assert path == tmp_path / "g.svg"
    text = path.read_text()
    ids = svg_ids(text)
    (scan,) = trace.graph().find(op="scan")
    assert f"c-{scan.id}" in ids  # the scan is open in the default view: a cluster
    assert {f"n-{n.id}" for n in trace.graph().find(kind="input")} <= ids
    assert text == trace.layout().svg  # the same drawing the notebook shows


def test_svg_collapsed(trace, tmp_path):
    text = trace.export(tmp_path / "g.svg", expand="none").read_text()
    (scan,) = trace.graph().find(op="scan")
    ids = svg_ids(text)
    assert f"n-{scan.id}" in ids and f"c-{scan.id}" not in ids
    assert "scan ×1000 · " in text


def test_png(trace, tmp_path):
    data = trace.export(tmp_path / "g.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 100 and height > 100


def test_pdf(trace, tmp_path):
    data = trace.export(tmp_path / "g.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


def test_dot_parses_back(trace, tmp_path):
    text = trace.export(tmp_path / "g.dot").read_text()
    graph = pygraphviz.AGraph(string=text)
    assert graph.is_directed()
    assert len(graph.nodes()) >= len(trace.graph().find(kind="input"))


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.urls = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_html_is_self_contained(trace, tmp_path):
    text = trace.export(tmp_path / "g.html").read_text()
    parser = _Collect()
    parser.feed(text)
    assert "svg" in parser.tags and "script" in parser.tags
    assert parser.urls == []  # nothing fetched from anywhere
    assert not re.search(r"https?://(?!www\.w3\.org/)", text)


def test_bad_suffix_and_missing_directory(trace, tmp_path):
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf, \.dot, \.html"):
        trace.export(tmp_path / "g.jpeg")
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        trace.export(tmp_path / "missing" / "g.svg")
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_layouts_are_cached_per_expansion(trace):
    a = trace.layout(expand="none")
    assert trace.layout(expand="none") is a
    assert trace.layout(expand="all") is not a


HOSTILE = "<img src=x onerror=alert(1)></script>\"'{}\\N\nü"


def test_hostile_names_are_escaped_everywhere(tmp_path):
    def f(inputs):
        with jax.named_scope(HOSTILE):
            return jnp.sin(inputs[HOSTILE]) * 2.0

    t = jaxviz.trace(f, {HOSTILE: jnp.ones(2)})
    (inp,) = t.graph().find(kind="input")
    assert inp.label == f"inputs[{HOSTILE!r}]"
    for suffix in (".svg", ".html"):
        text = t.export(tmp_path / f"h{suffix}").read_text()
        assert "<img" not in text
        assert text.count("</script>") == (1 if suffix == ".html" else 0)
    assert "<img" not in t._repr_html_()
    svg = ET.fromstring((tmp_path / "h.svg").read_text())  # still well-formed XML
    texts = "".join(el.text or "" for el in svg.iter(f"{SVG_NS}text"))
    assert "<img src=x onerror=alert(1)>" in texts  # shown as text, not markup
    # in DOT the name stays inside quoted strings / escaped HTML labels: it parses back
    dot = pygraphviz.AGraph(string=t.export(tmp_path / "h.dot").read_text())
    tooltip = dot.get_node(inp.id).attr["tooltip"]
    assert "<img src=x onerror=alert(1)></script>" in tooltip


def test_an_input_feeding_many_boxes_draws_a_note_instead_of_edges():
    def spread(w):
        return [w * float(i) for i in range(12)]

    t = jaxviz.trace(spread, jnp.ones(3))
    (w,) = t.graph().find(kind="input")
    dot = t.layout(expand="all").dot
    assert f'"{w.id}" ->' not in dot and "feeds 12 boxes" in dot
    from jaxviz.display.state import node_index
    from jaxviz.model import expansion, project

    nodes, _, _ = node_index(t.graph(), project(t.graph(), expansion(t.graph(), "all")))
    assert len(nodes[w.id]["outputs"]) == 12  # the details still list every use
