"""The widget's interactions, in Chromium, on the harness page (a real TraceWidget behind a
stand-in model, see harness.py) and on the static page (the .html export)."""

from __future__ import annotations

import re
import threading
import struct

import jax
import jax.numpy as jnp
import pytest
from jax import lax
from playwright.sync_api import expect

import jaxviz
from jaxviz.display import html
from jaxviz.display import state as output_state
from jaxviz.display.svg import slim
from jaxviz.model import expansion

import programs as P
from harness import FIRST_PICTURE, ORIGIN, open_page, open_widget

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)></script>\"'{}\\N\nü"


def nested(x):
    def body(c, _):
        c = lax.cond(c.sum() > 0, lambda v: v * 2.0, lambda v: v - 1.0, c)
        return c, c.sum()

    with jax.named_scope("outer"):
        c, ys = lax.scan(body, x, None, length=3)
    return c * ys.sum()


@pytest.fixture(scope="module")
def fori():
    return jaxviz.trace(P.fori_fn, jnp.array([1.1, -1.1]))


@pytest.fixture(scope="module")
def nested_trace():
    return jaxviz.trace(nested, jnp.ones(3))


# -- helpers ---------------------------------------------------------------------------------


def node(page, node_id):
    return page.locator(f'.jv-canvas g[data-node="{node_id}"]')


def drawn(page):
    return set(page.eval_on_selector_all(".jv-canvas g[data-node]", "els => els.map(e => e.dataset.node)"))


def transform(page):
    """(x, y, k) of the drawing's pan/zoom transform."""
    text = page.get_attribute(".jv-canvas > g", "transform") or ""
    match = re.match(r"translate\(([-\d.e]+),([-\d.e]+)\) scale\(([-\d.e]+)\)", text)
    assert match, text
    return tuple(float(v) for v in match.groups())


def inside(inner, outer, slack=1.0):
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack)


def center(box):
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def updates(widget):
    """The trait updates the widget sent to the browser since it opened."""
    return [data["state"] for kind, data, _ in widget.comm.history
            if kind == "comm_msg" and data.get("method") == "update"]


# -- what is shown ---------------------------------------------------------------------------


def test_tabs_header_and_legend(guard, fori):
    widget = open_widget(guard, fori)
    page = guard.page
    expect(page.locator(".jaxviz > .jv-tabs > .jv-tab")).to_have_text(
        ["jaxpr graph", "HLO graph", f"findings ({len(fori.findings)})", "timing", "text"])
    expect(page.locator(".jv-fn")).to_have_text("fori_fn")
    expect(page.locator(".jv-header")).to_contain_text("compile")
    assert drawn(page) == set(fori.graph().nodes)  # everything is drawn: the scan is open
    open_groups = set(widget.expanded)  # drawn as frames, not coloured boxes
    categories = {n.category for n in fori.graph().nodes.values() if n.id not in open_groups}
    keys = page.eval_on_selector_all(".jv-legend .jv-key", "els => els.map(e => e.dataset.category)")
    assert set(keys) == categories


def test_placeholders_until_there_is_something_to_show(guard):
    t = jaxviz.trace(P.fn, P.W, P.B, P.X)
    assert t.findings == [] and t.timing is None
    open_widget(guard, t, live=False)
    page = guard.page
    page.get_by_role("tab", name="timing").click()
    placeholders = page.locator(".jv-placeholder:visible")
    expect(placeholders.nth(0)).to_contain_text("Not measured")
    expect(placeholders.nth(1)).to_contain_text("Ops not profiled")
    expect(placeholders.nth(2)).to_contain_text("Memory at the peak not looked into")
    expect(page.locator(".jv-panel:visible button")).to_have_count(0)  # no kernel: no buttons
    page.get_by_role("tab", name="findings").click()
    expect(page.locator(".jv-placeholder:visible")).to_contain_text("No findings")
    page.get_by_role("tab", name="HLO graph").click()
    expect(page.locator(".jv-placeholder:visible")).to_contain_text("holds the jaxpr graph only")


def test_hlo_view_and_links_between_views(guard):
    t = jaxviz.trace(P.fn, P.W, P.B, P.X)
    widget = open_widget(guard, t)
    assert not widget.linked and not t.linked  # the HLO side is built when first needed
    page = guard.page
    (dot,) = t.graph("jaxpr", linked=False).find(op="dot_general")
    drawing = page.locator(".jv-viewport svg > g").first
    node(page, dot.id).click()
    placed = drawing.get_attribute("transform")
    details = page.locator(".jv-details")
    expect(details).to_contain_text("In the HLO graph")
    expect(details.locator(".jv-linking")).to_have_count(0)  # asked for, and arrived
    assert widget.linked and t.linked
    assert drawing.get_attribute("transform") == placed  # not redrawn: pan and zoom kept
    (hlo_dot,) = t.graph("hlo").find(op="dot")
    details.get_by_role("button", name=hlo_dot.label).click()  # follow the link
    expect(page.get_by_role("tab", name="HLO graph")).to_have_attribute("aria-selected", "true")
    expect(details.locator("h3")).to_have_text(hlo_dot.label)
    expect(node(page, hlo_dot.id)).to_have_class(re.compile("jv-selected"))
    assert widget.view == "hlo" and drawn(page) <= set(t.graph("hlo").nodes)
    page.get_by_role("tab", name="jaxpr graph").click()
    expect(node(page, dot.id)).to_be_visible()
    assert widget.view == "jaxpr"


def test_for_a_big_hlo_the_details_offer_the_links_instead_of_asking(guard, monkeypatch):
    """Parsing and linking a big program's HLO takes seconds: the user asks for it."""
    monkeypatch.setattr(output_state, "LINKS_AUTO_LIMIT", 0)  # as if this HLO were big
    t = jaxviz.trace(P.fn, P.W, P.B, P.X)
    widget = open_widget(guard, t)
    assert widget.links_slow
    page = guard.page
    (dot,) = t.graph("jaxpr", linked=False).find(op="dot_general")
    node(page, dot.id).click()
    details = page.locator(".jv-details")
    offer = details.get_by_role("button", name=re.compile("find the counterparts"))
    expect(offer).to_be_visible()
    page.wait_for_timeout(300)
    assert not t.linked  # nothing asked yet
    offer.click()
    expect(details.locator(".jv-linking")).to_have_count(0)
    assert t.linked and not widget.links_slow
    (hlo_dot,) = t.graph("hlo").find(op="dot")
    expect(details.get_by_role("button", name=hlo_dot.label)).to_be_visible()


def test_a_finding_shows_its_nodes(guard, fori):
    open_widget(guard, fori)
    page = guard.page
    (finding,) = fori.findings
    page.get_by_role("tab", name="findings (1)").click()
    card = page.locator(".jv-finding")
    expect(card).to_contain_text(finding.message)
    expect(card).to_contain_text(f"fix: {finding.hint}")
    card.get_by_role("button", name="show in graph").click()
    expect(page.get_by_role("tab", name="jaxpr graph")).to_have_attribute("aria-selected", "true")
    expect(node(page, finding.node_ids[0])).to_have_class(re.compile("jv-selected"))


def test_show_in_graph_opens_the_groups_hiding_the_node(guard):
    t = jaxviz.trace(P.stupid_fn, P.X)
    widget = open_widget(guard, t)
    page = guard.page
    (removed,) = [f for f in t.findings if f.kind == "removed-by-xla"]
    first = removed.node_ids[0]  # a multiply inside the folded loop, not drawn
    assert first not in drawn(page) and first not in widget.nodes
    page.get_by_role("tab", name=re.compile("^findings")).click()
    page.locator(".jv-finding", has_text="removed by XLA").get_by_role("button", name="show in graph").click()
    expect(node(page, first)).to_have_class(re.compile("jv-selected"))
    expect(page.locator(".jv-details")).to_contain_text("removed by XLA")
    group = t.graph().nodes[first].group
    assert group in widget.expanded and len(drawn(page)) <= 300  # its groups only, not all
    # the finding's other multiplies: outlined where drawn, or the closed groups holding them
    k = t.findings.index(removed)
    about = {i for i, n in widget.nodes.items() if k in n.get("findings", [])}
    assert len(about) > 1 and first in about
    outlined = set(page.eval_on_selector_all(".jv-canvas .jv-concerned", "els => els.map(e => e.dataset.node)"))
    assert outlined == about


def test_a_big_graph_says_it_is_folded_and_refuses_to_draw_everything(guard):
    def long_loop(x):
        for _ in range(2500):
            x = jnp.sin(x)
        return x

    t = jaxviz.trace(long_loop, P.X)
    widget = open_widget(guard, t)
    page = guard.page
    expect(page.locator(".jv-folded")).to_contain_text(
        f"{len(drawn(page))} of {len(t.graph().nodes) - len(t.graph().groups):,} boxes drawn")
    before = set(widget.expanded)
    page.get_by_role("button", name="open every group").click()
    expect(page.locator(".jv-status")).to_contain_text("that would draw")
    expect(page.locator(".jv-status")).to_contain_text("open groups one at a time")
    assert set(widget.expanded) == before  # the view stays as it was


def test_timing_tab(guard):
    t = jaxviz.trace(P.fn, P.W, P.B, P.X)
    t.time(budget=0.05)
    open_widget(guard, t)
    page = guard.page
    page.get_by_role("tab", name="timing").click()
    panel = page.locator(".jv-timing")
    expect(panel.locator(".jv-headline")).to_contain_text("than eager per call" if t.timing.speedup else "eager:")
    expect(panel.locator(".jv-bar > span")).to_have_count(5)  # trace, lower, compile, execute, other
    expect(panel.locator("pre")).to_have_text(str(t.timing))


def test_timing_can_be_measured_from_the_widget(guard):
    t = jaxviz.trace(P.fn, P.W, P.B, P.X)
    widget = open_widget(guard, t)
    page = guard.page
    page.get_by_role("tab", name="timing").click()
    page.get_by_role("button", name="measure eager vs jit now").click()
    expect(page.locator(".jv-timing pre")).to_contain_text("jit, steady", timeout=60_000)
    assert widget.timing == t.timing.to_dict()


def test_pan_zoom_and_fit(guard, fori):
    open_widget(guard, fori)
    page = guard.page
    viewport = page.locator(".jv-viewport").bounding_box()
    # The wheel scrolls the notebook on until the widget has focus (or with Ctrl).
    x0, y0, k0 = transform(page)
    page.mouse.move(*center(viewport))
    page.mouse.wheel(0, -300)
    page.mouse.move(viewport["x"] + 10, viewport["y"] + 10)
    page.mouse.down()  # focuses the widget
    page.mouse.move(viewport["x"] + 130, viewport["y"] + 70, steps=6)
    page.mouse.up()
    x1, y1, k1 = transform(page)
    assert (round(x1 - x0), round(y1 - y0), k1) == (120, 60, k0)
    page.mouse.wheel(0, -300)
    page.wait_for_function(
        "k => parseFloat(/scale\\(([^)]+)\\)/.exec(document.querySelector('.jv-canvas > g')"
        ".getAttribute('transform'))[1]) > k * 1.2", arg=k1)

    k2 = transform(page)[2]
    page.get_by_role("button", name="zoom in").click()
    assert transform(page)[2] == pytest.approx(k2 * 1.25)
    page.get_by_role("button", name="zoom out").click()
    page.get_by_role("button", name="zoom out").click()
    assert transform(page)[2] == pytest.approx(k2 / 1.25)

    page.get_by_role("button", name="fit to view (f)").click()
    drawing = page.locator(".jv-canvas svg").bounding_box()
    assert inside(drawing, viewport)
    assert drawing["width"] > viewport["width"] * 0.3 or drawing["height"] > viewport["height"] * 0.6


def test_hover_shows_a_card(guard, fori):
    open_widget(guard, fori)
    page = guard.page
    node(page, "e2").hover()
    tip = page.locator(".jv-tooltip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("mul")
    expect(tip).to_contain_text("f32[2] · f32[2] → f32[2]")
    expect(tip).to_contain_text("programs.py:25 in fori_fn")
    expect(tip).to_contain_text("lax.fori_loop(0, 1000, lambda i, x: x * x, x)")
    expect(tip).to_contain_text("removed by XLA: no output needs it")  # the loop is dead
    node(page, "e0").hover()  # the copy is the result
    expect(tip).to_contain_text("copy")
    expect(tip).not_to_contain_text("removed by XLA")
    page.locator('.jv-canvas g[data-node="g0"] > text').hover()
    expect(tip).to_contain_text("scan group · 2 ops inside")
    expect(tip).to_contain_text("click to collapse")
    page.mouse.move(1, 1)
    expect(tip).to_be_hidden()


def test_click_shows_details_and_data_flow(guard):
    t = jaxviz.trace(P.fn, P.W, P.B, P.X)
    open_widget(guard, t)
    page = guard.page
    (dot,) = t.graph().find(op="dot_general")
    (add,) = t.graph().find(op="add")
    node(page, dot.id).click()
    details = page.locator(".jv-details")
    expect(details.locator("h3")).to_have_text(dot.label)
    for text in ("dimension_numbers", "preferred_element_type", "programs.py:13 in fn",
                 "return x @ W + b", "Used by", "add"):
        expect(details).to_contain_text(text)
    classes = page.eval_on_selector_all(
        ".jv-canvas g[data-node]", "els => Object.fromEntries(els.map(e => [e.dataset.node, e.getAttribute('class')]))")
    inputs = {n.id for n in t.graph().find(kind="input")}
    assert all("jv-up" in classes[i] for i in inputs - {"i1"})  # W and x feed the dot, b does not
    assert "jv-up" not in classes["i1"] and "jv-down" in classes[add.id] and "jv-selected" in classes[dot.id]
    assert page.locator(".jv-canvas .edge.jv-flow").count() == 4  # W, x -> dot -> add -> result

    details.get_by_role("button", name="add").click()  # follow a link
    expect(details.locator("h3")).to_have_text("add")
    expect(node(page, add.id)).to_have_class(re.compile("jv-selected"))
    page.keyboard.press("Escape")
    expect(details).to_be_hidden()
    assert page.locator(".jv-canvas .jv-selected").count() == 0


# -- talking to Python -----------------------------------------------------------------------


def test_click_a_group_collapses_and_expands_it_in_place(guard, fori):
    widget = open_widget(guard, fori)
    page = guard.page
    cluster = page.locator('.jv-canvas g.cluster[data-node="g0"]')
    before = center(cluster.bounding_box())
    sent_before = len(updates(widget))
    cluster.locator("text").click()
    collapsed = page.locator('.jv-canvas g.node[data-node="g0"]')
    expect(collapsed).to_be_visible()
    assert widget.expanded == [] and "e2" not in drawn(page)
    # only the view travels (drawing, open groups, the index of what is drawn now), not the
    # findings, texts or header
    sent = updates(widget)[sent_before:]
    assert sent and all(set(state) <= {"svg", "expanded", "nodes", "hidden", "sources",
                                       "folded", "finding_nodes"} for state in sent)
    assert set(widget.nodes) == drawn(page) == {"i0", "e0", "g0", "o0"}
    assert [entry[0] for entry in widget.hidden] == ["g0", "g0"]  # the loop's two ops
    after = center(collapsed.bounding_box())
    assert after == pytest.approx(before, abs=2)  # the group stays where it was
    expect(page.locator(".jv-details h3")).to_contain_text("scan")

    collapsed.click()
    expect(page.locator('.jv-canvas g.cluster[data-node="g0"]')).to_be_visible()
    assert widget.expanded == ["g0"] and widget.svg == slim(fori.layout().svg)


def test_expand_all_collapse_all_and_depth(guard, nested_trace):
    widget = open_widget(guard, nested_trace)
    page = guard.page
    groups = {g.id for g in nested_trace.graph().groups}
    clusters = page.locator(".jv-canvas g.cluster")
    page.get_by_role("button", name="close every group").click()
    expect(clusters).to_have_count(0)
    assert widget.expanded == []
    page.get_by_label("open groups to depth").select_option("2")
    shallow = {g for g in groups if nested_trace.graph().depth(g) < 2}
    expect(clusters).to_have_count(len(shallow))
    assert set(widget.expanded) == shallow
    page.get_by_role("button", name="open every group").click()
    expect(clusters).to_have_count(len(groups))
    assert set(widget.expanded) == groups


def test_search_highlights_and_steps(guard, fori):
    widget = open_widget(guard, fori)
    page = guard.page
    box = page.get_by_role("searchbox")
    count = page.locator(".jv-count")
    box.fill("mul")
    expect(count).to_have_text("1 of 1")
    expect(node(page, "e2")).to_have_class(re.compile("jv-current"))

    page.get_by_role("button", name="close every group").click()
    expect(count).to_have_text("1 of 1 (1 in closed groups)")
    expect(node(page, "g0")).to_have_class(re.compile("jv-match"))
    page.get_by_role("button", name="show hidden").click()
    expect(node(page, "e2")).to_have_class(re.compile("jv-match"))
    assert widget.expanded == ["g0"]

    line = [i for i, n in widget.nodes.items() if "source" in n and widget.sources[n["source"]][1] == 25]
    box.fill(":25")
    expect(count).to_have_text(f"1 of {len(line)}")
    box.press("Enter")
    expect(count).to_have_text(f"2 of {len(line)}")
    expect(page.locator(".jv-details")).to_be_visible()
    box.press("Shift+Enter")
    expect(count).to_have_text(f"1 of {len(line)}")
    box.fill("no such thing")
    expect(count).to_have_text("no match")
    assert page.locator(".jv-canvas .jv-match").count() == 0


def many_layers(layers, x):
    for layer in layers:
        x = jnp.tanh(x * layer["w"] + layer["b"])
    return x


def test_search_finds_one_member_of_a_numbered_family(guard):
    """The 24 layers' inputs travel as a few numbered families; search still sees each one."""
    layers = [{"w": jnp.ones(3) * i, "b": jnp.zeros(3)} for i in range(24)]
    t = jaxviz.trace(many_layers, layers, jnp.ones(3))
    widget = open_widget(guard, t)
    assert any(len(entry) == 6 for entry in widget.hidden)
    page = guard.page
    count = page.locator(".jv-count")
    page.get_by_role("searchbox").fill("layers[17]['b']")
    expect(count).to_have_text("1 of 1 (1 in closed groups)")
    page.get_by_role("button", name="show hidden").click()  # opens "layers"; "layers[17]" next
    expect(count).to_have_text("1 of 1 (1 in closed groups)")
    page.get_by_role("button", name="show hidden").click()
    expect(count).to_have_text("1 of 1")
    (leaf,) = [n.id for n in t.graph("jaxpr", linked=False).nodes.values()
               if n.label == "layers[17]['b']"]
    expect(node(page, leaf)).to_have_class(re.compile("jv-match"))


def test_search_counts_a_step_in_each_closed_iteration(guard):
    """Opened, a loop's alike iterations hide the same steps each: one search entry names
    every iteration, and search still counts each, and opens them."""
    layers = [{"w": jnp.ones(3) * i, "b": jnp.zeros(3)} for i in range(8)]
    t = jaxviz.trace(many_layers, layers, jnp.ones(3))
    graph = t.graph("jaxpr", linked=False)
    (alike,) = [n.id for n in graph.nodes.values() if n.op == "alike"]
    widget = open_widget(guard, t, expand=expansion(graph) | {alike})
    assert any(isinstance(entry[0], list) and len(entry[0]) == 7 for entry in widget.hidden)
    page = guard.page
    count = page.locator(".jv-count")
    page.get_by_role("searchbox").fill("mul")  # the op (the line's code says "*")
    expect(count).to_have_text("1 of 8 (7 in closed groups)")
    page.get_by_role("button", name="show hidden").click()
    expect(count).to_have_text("1 of 8")
    muls = [n.id for n in graph.nodes.values() if n.op == "mul"]
    assert len(muls) == 8
    for leaf in muls:
        expect(node(page, leaf)).to_have_class(re.compile("jv-match"))


def test_downloads(guard, fori):
    widget = open_widget(guard, fori)
    page = guard.page
    with page.expect_download() as svg:
        page.get_by_role("button", name="download SVG").click()
    assert svg.value.suggested_filename == "fori_fn-jaxpr.svg"
    assert open(svg.value.path(), encoding="utf-8").read() == widget.svg  # the drawing shown

    with page.expect_download() as png:
        page.get_by_role("button", name="download PNG").click()
    data = open(png.value.path(), "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = struct.unpack(">I", data[16:20])[0]
    natural = page.evaluate("document.querySelector('.jv-canvas svg').width.baseVal.value")
    assert width == round(natural * 2)

    with page.expect_download() as pdf:
        page.get_by_role("button", name="download PDF").click()
    assert pdf.value.suggested_filename == "fori_fn-jaxpr.pdf"
    assert open(pdf.value.path(), "rb").read().startswith(b"%PDF-")


def test_keyboard(guard, fori):
    open_widget(guard, fori)
    page = guard.page
    viewport = page.locator(".jv-viewport").bounding_box()
    page.mouse.click(viewport["x"] + 5, viewport["y"] + 5)  # focus the widget
    fitted = transform(page)
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox")).to_be_focused()
    page.keyboard.type("mul")
    page.keyboard.press("Enter")
    expect(page.locator(".jv-details")).to_be_visible()
    page.keyboard.press("Escape")  # first Esc empties the search box
    expect(page.get_by_role("searchbox")).to_have_value("")
    page.keyboard.press("Escape")  # then clears the selection
    expect(page.locator(".jv-details")).to_be_hidden()
    page.get_by_role("button", name="zoom in").click()
    assert transform(page) != fitted
    page.keyboard.press("f")
    assert transform(page) == pytest.approx(fitted)
    # every control is reachable with Tab
    page.get_by_role("button", name="zoom in").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="fit to view (f)")).to_be_focused()


def test_follows_the_theme(guard, fori):
    open_widget(guard, fori)
    page = guard.page
    label = '.jv-canvas g.cluster[data-node="g0"] > text'
    style = "(el, prop) => getComputedStyle(el)[prop]"
    assert page.eval_on_selector(label, style, "fill") == "rgb(31, 41, 55)"
    page.evaluate("""() => {
        document.body.style.setProperty('--jp-ui-font-color1', 'rgb(230, 230, 230)');
        document.body.style.setProperty('--jp-layout-color0', 'rgb(17, 17, 17)');
    }""")
    assert page.eval_on_selector(label, style, "fill") == "rgb(230, 230, 230)"
    assert page.eval_on_selector(".jv-area", style, "backgroundColor") == "rgb(17, 17, 17)"
    assert page.eval_on_selector(".jv-fn", style, "color") == "rgb(230, 230, 230)"


def test_texts_with_copy(guard, fori):
    guard.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ORIGIN)
    open_widget(guard, fori)
    page = guard.page
    page.get_by_role("tab", name="text").click()
    text = page.locator(".jv-text:visible pre")
    expect(text).to_have_text(str(fori.jaxpr))
    page.locator(".jv-text:visible").get_by_role("button", name="copy").click()
    expect(page.locator(".jv-text:visible").get_by_role("button", name="copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == str(fori.jaxpr)
    page.get_by_role("tab", name="StableHLO").click()
    expect(text).to_contain_text("func.func public @main")
    page.get_by_role("tab", name="HLO (compiled)").click()
    expect(text).to_contain_text("HloModule")


def test_a_failed_trace_opens_on_its_finding(guard):
    t = jaxviz.trace(lambda v, n: jnp.full((n,), v), 2, 5)
    open_widget(guard, t)
    page = guard.page
    expect(page.get_by_role("tab", name="findings (1)")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".jv-finding")).to_contain_text("static_argnums=(1,)")
    expect(page.locator(".jv-error-line")).to_contain_text("trace failed")
    for tab, name in (("jaxpr graph", "jaxpr"), ("HLO graph", "HLO")):
        page.get_by_role("tab", name=tab).click()
        expect(page.locator(".jv-placeholder:visible")).to_have_text(
            f"No {name} graph: the trace stage failed (the findings tab says why).")
    page.get_by_role("tab", name="text").click()
    expect(page.locator(".jv-placeholder:visible")).to_contain_text("the trace stage failed")


@pytest.mark.parametrize("where", ["widget", "static page"])
def test_hostile_names_stay_text(guard, where):
    """A pytree key, a named scope (so HLO metadata too), the function's name and what it
    printed while tracing, all hostile: shown as text in every tab, and no script runs."""
    def f(inputs):
        print(HOSTILE)
        with jax.named_scope(HOSTILE):
            return jnp.sin(inputs[HOSTILE]) * 2.0

    f.__name__ = f.__qualname__ = HOSTILE
    t = jaxviz.trace(f, {HOSTILE: jnp.ones(2)})
    assert t.fn_name == HOSTILE and t.findings  # the print while tracing
    dialogs = []
    guard.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    if where == "widget":
        open_widget(guard, t)
    else:  # the app reads the name from the packed data, the static block shows it escaped
        text = open_page(guard, t)
        assert "<img" not in text and text.count("</script>") == 1
    page = guard.page
    expect(page.locator(".jv-fn")).to_have_text(HOSTILE)
    (inp,) = t.graph().find(kind="input")
    node(page, inp.id).click()
    expect(page.locator(".jv-details h3")).to_have_text(inp.label)
    page.get_by_role("searchbox").fill("onerror")
    expect(page.locator(".jv-count")).not_to_have_text("no match")
    page.get_by_role("tab", name=re.compile("^findings")).click()
    expect(page.locator(".jv-finding").first).to_be_visible()
    expect(page.locator(".jv-stdout pre")).to_have_text(HOSTILE + "\n")  # printed while tracing
    if where == "widget":  # the static page holds the jaxpr view only
        page.get_by_role("tab", name="HLO graph").click()
        expect(page.locator(".jv-canvas g.node").first).to_be_visible()
        page.locator(".jv-canvas g.node", has_text="sine").first.click()
        expect(page.locator(".jv-details")).to_contain_text("op_name")
    assert page.locator("img").count() == 0 and dialogs == []


# -- without a kernel ------------------------------------------------------------------------


def test_static_page_pans_hovers_and_says_expanding_needs_a_kernel(guard, fori):
    open_page(guard, fori)
    page = guard.page
    expect(page.locator(".jv-note")).to_contain_text("need a running kernel")
    for name in ("open every group", "close every group", "download PDF (needs a running kernel)"):
        expect(page.get_by_role("button", name=name)).to_be_disabled()
    viewport = page.locator(".jv-viewport").bounding_box()
    x0, y0, _ = transform(page)
    page.mouse.move(viewport["x"] + 10, viewport["y"] + 10)
    page.mouse.down()
    page.mouse.move(viewport["x"] + 60, viewport["y"] + 30, steps=4)
    page.mouse.up()
    assert transform(page)[:2] == pytest.approx((x0 + 50, y0 + 20))
    node(page, "e2").hover()
    expect(page.locator(".jv-tooltip")).to_contain_text("programs.py:25")
    node(page, "e0").click()
    expect(page.locator(".jv-details h3")).to_have_text("copy")
    page.locator('.jv-canvas g.cluster[data-node="g0"] > text').click()
    expect(page.locator(".jv-status")).to_contain_text("need a running kernel")
    expect(page.locator('.jv-canvas g.cluster[data-node="g0"]')).to_be_visible()  # unchanged
    with page.expect_download() as svg:
        page.get_by_role("button", name="download SVG").click()
    assert 'id="n-e0"' in open(svg.value.path(), encoding="utf-8").read()


def test_a_kernel_that_never_answers_is_reported(guard, fori):
    open_widget(guard, fori)
    page = guard.page
    page.evaluate("window.harnessSilent = true")  # a notebook reopened without its kernel
    page.get_by_role("button", name="close every group").click()
    expect(page.locator(".jv-status")).to_contain_text("No answer from the kernel yet", timeout=15_000)


def test_without_scripts_the_drawing_still_shows(guard, fori):
    """Where scripts do not run (a viewer that drops them), the static block stays readable."""
    text = re.sub(r"<script>.*?</script>", "", html.page(fori), flags=re.S)
    guard.serve(f"{ORIGIN}/noscript.html", lambda: (text.encode(), "text/html"))
    page = guard.page
    page.goto(f"{ORIGIN}/noscript.html")
    expect(page.get_by_text("needs JavaScript")).to_be_visible()
    expect(page.get_by_text(fori.findings[0].message, exact=False)).to_be_visible()
    drawing = page.locator(".jv-drawing svg").bounding_box()
    assert drawing["height"] > 100 and page.locator(".jv-drawing").bounding_box()["height"] >= drawing["height"]


def test_without_decompression_streams_the_static_block_stays(guard, fori):
    """A browser that runs scripts but cannot inflate the packed bundle keeps the static
    block, drawing unfolded, and reports no error."""
    page = guard.page
    page.add_init_script("delete window.DecompressionStream")
    text = html.page(fori)
    guard.serve(f"{ORIGIN}/old.html", lambda: (text.encode(), "text/html"))
    page.goto(f"{ORIGIN}/old.html")
    expect(page.get_by_text("needs JavaScript")).to_be_visible()
    assert page.locator(".jaxviz").count() == 0
    drawing = page.locator(".jv-drawing svg").bounding_box()
    assert drawing["height"] > 100 and page.locator(".jv-drawing").bounding_box()["height"] >= drawing["height"]


# -- the first picture -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def gpt():
    pytest.importorskip("flax", reason="the corpus needs jax >= 0.10")
    from real import load

    (program,) = load("gpt_train_step")
    return jaxviz.trace(program.fn, *program.args)


def test_the_first_picture_of_a_real_model_is_readable(guard, gpt):
    """A GPT train step's default view is some 200 boxes: the first picture does not shrink
    them to dots. Labels are readable, whole boxes are in view from the inputs on, an
    overview shows where the view is, and fit is one click away."""
    open_widget(guard, gpt)
    page = guard.page
    out = page.locator(".jaxviz")
    first = out.evaluate(FIRST_PICTURE)
    assert first["label"] >= 9 and first["whole"] >= 6, first
    assert first["boxes"] > 100 and first["overview"], first
    assert 300 <= first["height"] <= 600, first
    (tokens,) = [n.id for n in gpt.graph("jaxpr", linked=False).find(kind="input")
                 if n.label == "tokens"]
    assert inside(node(page, tokens).bounding_box(), page.locator(".jv-viewport").bounding_box())

    overview = out.locator(".jv-overview").bounding_box()
    before = transform(page)
    page.mouse.click(overview["x"] + overview["width"] / 2, overview["y"] + overview["height"] - 3)
    after = transform(page)
    assert after[2] == before[2] and after[1] < before[1] - 100  # looking near the end now

    out.get_by_role("button", name="fit to view (f)").click()
    fitted = out.evaluate(FIRST_PICTURE)
    assert fitted["whole"] == fitted["boxes"] and not fitted["overview"], fitted


@pytest.mark.parametrize("name", ["gpt_train_step", "flax_vae", "lm1b_linen"])
def test_the_first_picture_of_a_real_models_hlo_view_starts_where_its_work_does(guard, gpt,
                                                                                 name):
    """XLA's views of the GPT train step and the Flax VAE are wide, their inputs far from
    the forward pass (top right of it, top left): the first picture shows where the groups
    at the top begin, boxes to read, not the inputs' long edges and little else. In lm1b's
    the outer groups begin in empty space: it shows where its first layer begins."""
    from real import load

    if name == "gpt_train_step":
        trace = gpt
    else:
        (program,) = load(name)
        trace = jaxviz.trace(program.fn, *program.args)
    open_widget(guard, trace, view="hlo")
    first = guard.page.locator(".jaxviz").evaluate(FIRST_PICTURE)
    assert first["label"] >= 9 and first["whole"] >= 8, first


def test_a_small_graph_is_shown_whole(guard, fori):
    open_widget(guard, fori)
    first = guard.page.locator(".jaxviz").evaluate(FIRST_PICTURE)
    assert first["whole"] == first["boxes"] and first["label"] >= 9 and not first["overview"]


def test_a_static_page_opens_the_structure_without_a_kernel(guard):
    """The .html export of a Flax NNX train step carries the layouts of opening its
    structure groups one at a time: they open (and close) with no kernel; anything else says
    it needs one."""
    pytest.importorskip("flax", reason="the corpus needs jax >= 0.10")
    from real import load

    (program,) = load("nnx_mnist")
    t = jaxviz.trace(program.fn, *program.args)
    g = t.graph("jaxpr", linked=False)
    default = expansion(g)
    carried = html.static_output(t, layouts_limit=html.OUTPUT_BUDGET).layouts
    assert carried
    (group,) = set(carried[0][0]) - default
    assert g.nodes[group].op in ("scope", "unrolled", "alike", "iteration", "library", "parallel")
    open_page(guard, t)
    page = guard.page
    page.get_by_role("button", name="fit to view (f)").click()  # the group in view
    node(page, group).hover()
    expect(page.locator(".jv-tooltip")).to_contain_text("click to expand")
    node(page, group).click()
    expect(page.locator(f'.jv-canvas g.cluster[data-node="{group}"]')).to_be_visible()
    expect(page.locator(".jv-status")).to_have_text("")
    expect(page.get_by_role("button", name="Collapse group")).to_be_enabled()  # carried too
    page.keyboard.press("Escape")  # the details panel closes
    page.locator(f'.jv-canvas g.cluster[data-node="{group}"] > text').click()
    expect(page.locator(f'.jv-canvas g.node[data-node="{group}"]')).to_be_visible()  # closed again
    other = next(i for i in sorted(drawn(page)) if g.nodes[i].kind == "group"
                 and i not in default and not any(set(ids) - default == {i} for ids, _ in carried))
    page.keyboard.press("Escape")  # the details panel closes
    node(page, other).click()
    expect(page.locator(".jv-status")).to_contain_text("need a running kernel")
    expect(page.get_by_role("button", name="Expand group")).to_be_disabled()


# -- compiled in the background ----------------------------------------------------------------


def test_a_widget_shown_while_compiling_fills_in_and_a_redraw_keeps_its_tab_and_view(guard):
    """The widget of a trace still compiling (as %%jaxtrace shows it to someone watching)
    says so in its HLO and timing tabs, then fills in; drawn anew (JupyterLab does, when
    Python updates the output's static view), it keeps the tab and where the user panned."""
    from jaxviz import background

    gate = threading.Event()
    background.submit(lambda check: gate.wait(30))  # the worker is busy: compiling waits
    try:
        t = jaxviz.trace(P.fn, P.W, P.B, P.X, background=True)
        t.time_in_background(budget=0.05)
        widget = open_widget(guard, t)
    finally:
        gate.set()
    page = guard.page
    expect(page.locator(".jv-header")).to_contain_text("lowering and compiling…")
    page.get_by_role("tab", name="HLO graph").click()
    expect(page.locator(".jv-placeholder:visible")).to_contain_text("Lowering and compiling…")
    page.get_by_role("tab", name="timing").click()
    expect(page.locator(".jv-placeholder:visible").first).to_contain_text(
        "timing eager vs jit, while the kernel is idle…")
    expect(page.locator(".jv-panel:visible button").filter(has_text="measure")).to_have_count(0)

    assert background.wait_all(60)
    filled = {}
    for _, data, _ in widget.comm.outbox:  # what the background sent, from its thread
        filled.update(data.get("state", {}))
    widget.comm.outbox.clear()
    page.evaluate("(state) => receive(state)", filled)
    expect(page.locator(".jv-panel:visible")).to_contain_text("jit is")
    expect(page.locator(".jv-header")).to_contain_text("compile")
    page.get_by_role("tab", name="HLO graph").click()
    expect(page.locator('.jv-canvas g[data-node^="h"]').first).to_be_visible()

    page.get_by_role("tab", name="jaxpr graph").click()
    box = page.locator(".jv-viewport").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 90, box["y"] + 70, steps=5)
    page.mouse.up()
    panned = transform(page)
    page.get_by_role("tab", name="timing").click()
    page.get_by_role("tab", name="jaxpr graph").click()
    page.evaluate("redraw()")
    expect(page.get_by_role("tab", name="jaxpr graph")).to_have_attribute("aria-selected", "true")
    assert transform(page) == pytest.approx(panned)
    page.get_by_role("tab", name="timing").click()
    page.evaluate("redraw()")
    expect(page.get_by_role("tab", name="timing")).to_have_attribute("aria-selected", "true")
