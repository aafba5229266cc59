"""The notebook's static ``text/html`` output: light, and its script holds no user text."""

import base64
import dataclasses
import json
import re
import zlib

import jax
import jax.numpy as jnp
import pytest

import jaxviz
import programs as P
from jaxviz.display import html, state, widget

HOSTILE = "</script><img src=x onerror=alert(1)>"

#: The whole script: the loader called on its block with two base64 strings and the layouts.
SCRIPT = re.compile(
    "<script>" + re.escape(html.LOADER)
    + r"\(document\.currentScript\.previousElementSibling, "
    + r'"([A-Za-z0-9+/=]+)", "([A-Za-z0-9+/=]+)", (\[[^<]*\])\);</script>$'
)


def script_of(fragment: str) -> re.Match:
    match = SCRIPT.search(fragment)
    assert match and match.start() == fragment.index("<script>"), "not loader + base64 only"
    return match


def unpack(data: str) -> str:
    return zlib.decompress(base64.b64decode(data, validate=True)).decode("utf-8")


def test_the_script_is_much_smaller_than_the_bundle():
    trace = jaxviz.trace(P.stupid_fn, jnp.array([1.1, -1.1]))
    fragment = html.fragment(trace)
    script = script_of(fragment)
    bundle = state.bundle("page.js")
    packed = len(script.group(0))  # the loader, the bundle and the state
    assert packed < 0.6 * (len(bundle) + len(unpack(script.group(2))))
    assert len(script.group(1)) < 0.5 * len(bundle)
    assert unpack(script.group(1)) == bundle


def test_a_hostile_name_is_escaped_text_or_packed_data():
    def f(x):
        return jnp.sin(x) * 2.0

    f.__name__ = f.__qualname__ = HOSTILE
    trace = jaxviz.trace(f, jnp.ones(2))
    fragment = html.fragment(trace)
    block = fragment[: script_of(fragment).start()]
    assert "<img" not in fragment and fragment.count("<script>") == 1
    assert f"<b>{html._esc(HOSTILE)}</b>" in block  # shown as text where scripts do not run
    state = json.loads(unpack(script_of(fragment).group(2)))
    assert state["header"]["fn_name"] == HOSTILE  # the app gets the name unchanged


def test_an_hlo_text_jaxviz_cannot_read_leaves_the_rest_working():
    """The HLO side is built on demand; when XLA's text defeats the parser, that tab says so."""
    good = jaxviz.trace(P.fn, P.W, P.B, P.X)
    broken = jaxviz.Trace(dataclasses.replace(
        good._cap, stages={}, texts={"compile": "HloModule m\n\nENTRY %e { ? }"}))
    assert broken.findings == [] and broken.graph("jaxpr").nodes and broken.links is None
    live = widget.make_widget(broken)
    assert live.views == {"jaxpr": None, "hlo": None}  # nothing parsed yet
    live._show("hlo", None)
    assert live.views["hlo"].startswith("No HLO graph: HloParseError: line 3") and live.svg == ""
    state = json.loads(unpack(script_of(html.fragment(broken, view="hlo")).group(2)))
    assert state["views"]["hlo"] == live.views["hlo"] and state["svg"] == ""


def test_a_big_models_page_carries_its_drawing_packed_and_stays_light():
    """Flax's lm1b train step draws some 250 boxes: its page weighs at most 150 KB with the
    layouts of opening its biggest structure groups, the drawing packed with the data (the
    inline SVG alone would be as big), under half what Graphviz wrote, its labels intact."""
    pytest.importorskip("flax", reason="the corpus needs jax >= 0.10")
    from real import load

    (program,) = load("lm1b_linen")
    t = jaxviz.trace(program.fn, *program.args)
    page = html.page(t)
    assert len(page.encode()) <= 150_000
    assert "<svg" not in page and "need JavaScript" in page
    script = script_of(page.removesuffix("</body></html>\n"))
    data = json.loads(unpack(script.group(2)))
    assert data["svg"].startswith("<svg") and len(data["svg"]) < 0.5 * len(t.layout().svg)
    assert "decoder · 988 ops" in data["svg"] and "xlink:title" not in data["svg"]
    for size in re.findall(r'font-size="([^"]+)"', data["svg"]):
        assert "." not in size
    graph = t.graph("jaxpr", linked=False)
    opened = [set(ids) - set(data["expanded"]) for ids, _ in json.loads(script.group(3))]
    assert len(opened) >= 2 and all(len(new) == 1 for new in opened)
    labels = {graph.nodes[i].label for new in opened for i in new}
    assert any(label.startswith("optax") for label in labels), labels
    assert "iterations 1–5 · alike" in labels, labels


def test_a_layout_carries_what_changes_in_the_node_index():
    """Rebuilt as js/src/page.js does, a layout's node index is the one a kernel would send."""
    def loss(layers, x):
        for w in layers:
            x = jnp.tanh(x @ w)
        return (x ** 2).sum()

    def step(layers, x):
        grads = jax.grad(loss)(layers, x)
        return [w - 0.1 * g for w, g in zip(layers, grads)]

    t = jaxviz.trace(step, [jnp.ones((4, 4))] * 6, jnp.ones((2, 4)))
    out = html.static_output(t)
    assert out.layouts
    for ids, packed in out.layouts:
        layout = json.loads(unpack(packed))
        fresh = state.view_state(t, "jaxpr", ids)
        assert layout["svg"] == fresh["svg"] and layout["expanded"] == fresh["expanded"]
        for trait, edits in layout["changed"].items():
            old = out.state[trait]
            if isinstance(old, dict):
                rebuilt = {k: v for k, v in old.items() if k not in edits["drop"]}
                rebuilt.update(edits["set"])
            else:
                rebuilt = [e for piece in edits for e in
                           (old[piece[0]:piece[1]] if isinstance(piece, list) else piece["+"])]
            assert rebuilt == fresh[trait], trait
        assert len(packed) < len(html.pack(json.dumps(
            {k: fresh[k] for k in ("svg", "nodes", "hidden", "sources")})))


def test_a_static_page_lays_out_no_group_that_would_draw_too_much(monkeypatch):
    """The page carries the layout of opening a loop's other iterations only while it
    draws at most LAYOUT_MAX_DRAWN boxes (nor spends the time laying out a bigger one)."""
    def deep(x, layers):
        for w in layers:
            x = jnp.tanh(jnp.sin(x * w) + jnp.cos(x) * 2.0 - w) / 3.0 + x
        return x

    t = jaxviz.trace(deep, jnp.ones(3), [jnp.ones(3)] * 40)
    graph = t.graph("jaxpr", linked=False)
    (alike,) = graph.find(op="alike")
    default = state.view_state(t, "jaxpr")
    assert alike.id not in default["expanded"]
    opened = len(html.project(graph, set(default["expanded"]) | {alike.id}).nodes)
    sizes = (html.OUTPUT_BUDGET, len(html.pack(default["svg"])))
    assert any(alike.id in ids for ids, _ in html.structure_layouts(t, "jaxpr", default, *sizes))
    monkeypatch.setattr(html, "LAYOUT_MAX_DRAWN", opened - 1)
    assert all(alike.id not in ids
               for ids, _ in html.structure_layouts(t, "jaxpr", default, *sizes))


def test_made_in_the_background_the_layouts_give_way_to_a_cell():
    """``check`` is asked before each layout: a cell starting stops the output being made
    (it is made again when the kernel is idle, its layouts so far cached)."""
    from jaxviz import background

    def deep(x, layers):
        for w in layers:
            x = jnp.tanh(x @ w) + x
        return x

    t = jaxviz.trace(deep, jnp.ones((2, 3)), [jnp.ones((3, 3))] * 6)
    asked = []

    def cell_started():
        asked.append(1)
        raise background.Interrupted

    with pytest.raises(background.Interrupted):
        html.fragment(t, check=cell_started)
    assert asked == [1]
    assert html.fragment(t) == html.fragment(t, check=asked.clear)  # the same once let be


def test_a_layout_whose_node_index_leaves_no_room_is_never_laid_out():
    """What opening a group changes in the node index is weighed before Graphviz is asked
    for its drawing: the 128-layer block's "iterations 1–127" would not fit a notebook."""
    def deep(x, layers):
        for w in layers:
            x = jnp.tanh(x @ w) + x
        return x

    t = jaxviz.trace(deep, jnp.ones((2, 3)), [jnp.ones((3, 3))] * 6)
    default = state.view_state(t, "jaxpr")
    drawing = len(html.pack(default["svg"]))
    laid_out = len(t._layouters["jaxpr"]._cache)
    assert html.structure_layouts(t, "jaxpr", default, drawing + 10, drawing) == []
    assert len(t._layouters["jaxpr"]._cache) == laid_out
    assert html.structure_layouts(t, "jaxpr", default, html.OUTPUT_BUDGET, drawing)


def test_the_layouts_leave_room_for_the_widget_state_saved_beside_them():
    """In a notebook the static view is saved beside the widget's state: its layouts keep
    the two within OUTPUT_BUDGET (the 128-layer block's would not fit beside it)."""
    def deep(x, layers):
        for w in layers:
            x = jnp.tanh(x @ w) + x
        return x

    t = jaxviz.trace(deep, jnp.ones((2, 3)), [jnp.ones((3, 3))] * 6)
    bare = len(html.fragment(t, layouts_limit=0))
    carried = html.static_output(t, layouts_limit=html.OUTPUT_BUDGET).layouts
    assert carried
    for beside in (0, html.OUTPUT_BUDGET - bare - 20_000, html.OUTPUT_BUDGET - bare):
        page = html.fragment(t, layouts_limit=html.OUTPUT_BUDGET, beside=beside)
        assert len(page) + beside <= html.OUTPUT_BUDGET
    full = html.OUTPUT_BUDGET - bare
    assert html.static_output(t, layouts_limit=html.OUTPUT_BUDGET, beside=full).layouts == []
    live = widget.make_widget(t)
    assert 0 < widget.saved_bytes(live) < len(json.dumps(live.get_state(), default=str))
