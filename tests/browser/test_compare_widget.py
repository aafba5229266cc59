"""A comparison's widget in Chromium: both graphs side by side, partners outlined on hover and
click, boxes with no partner marked, one switch for both views, downloads of both graphs in
one picture; and its static page, without a kernel."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

import jaxviz
from jaxviz.display import comparison as comparison_display
from jaxviz.display import html

import programs as P
from harness import open_html, open_widget

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)></script>\"'{}"


@pytest.fixture(scope="module")
def vmap_vs_manual():
    return jaxviz.compare(jaxviz.trace(P.predict_vmap, P.XS), jaxviz.trace(P.predict_manual, P.XS),
                          names=("by_vmap", "by_hand"))


def side(page, k):
    return page.locator(".jv-sides > div").nth(k)


def box(page, k, node_id):
    return side(page, k).locator(f'.jv-canvas g[data-node="{node_id}"]')


def classes(page, k, cls):
    return set(side(page, k).locator(f".jv-canvas g.{cls}").evaluate_all(
        "els => els.map(e => e.dataset.node)"))


def op_box(comparison, k, op):
    trace = (comparison.left, comparison.right)[k]
    (node,) = trace.graph("jaxpr", linked=False).find(op=op)
    return node.id


def test_partners_are_outlined_on_hover_and_click(guard, vmap_vs_manual):
    c = vmap_vs_manual
    open_widget(guard, c, make=comparison_display.make_widget)
    page = guard.page
    expect(page.locator(".jv-summary")).to_contain_text("by_vmap adds 1 transpose.")
    expect(page.locator(".jv-summary code").first).to_have_text("by_vmap")  # names as code
    expect(page.locator(".jv-summary")).to_contain_text("identical programs")
    expect(page.locator(".jv-figures")).to_contain_text("FLOPs")
    expect(side(page, 0).locator(".jv-side-name")).to_have_text("by_vmap")
    # The transpose has no partner: dashed red on the left; every right box has one.
    assert classes(page, 0, "jv-unmatched") == {op_box(c, 0, "transpose")}
    assert classes(page, 1, "jv-unmatched") == set()
    tanh = [op_box(c, k, "tanh") for k in (0, 1)]
    box(page, 0, tanh[0]).hover()
    expect(box(page, 1, tanh[1])).to_have_class(lambda_class("jv-partner"))
    assert classes(page, 1, "jv-partner") == {tanh[1]}
    page.mouse.move(1, 1)
    expect(side(page, 1).locator(".jv-partner")).to_have_count(0)
    # Clicking keeps the outline, both ways.
    dot = [op_box(c, k, "dot_general") for k in (0, 1)]
    box(page, 1, dot[1]).click()
    expect(side(page, 1).locator(".jv-details h3")).to_contain_text("dot_general")
    page.mouse.move(1, 1)
    assert classes(page, 0, "jv-partner") == {dot[0]}


def lambda_class(name):
    import re

    return re.compile(rf"(^|\s){name}(\s|$)")


def test_one_switch_shows_both_hlo_graphs(guard, vmap_vs_manual):
    widget = open_widget(guard, vmap_vs_manual, make=comparison_display.make_widget)
    page = guard.page
    page.get_by_role("button", name="HLO graphs", exact=True).click()
    expect(page.get_by_role("button", name="HLO graphs", exact=True)).to_have_attribute("aria-pressed", "true")
    for k in (0, 1):
        expect(side(page, k).locator(".jv-canvas g.node", has_text="fusion").first).to_be_visible()
    assert widget.left["view"] == widget.right["view"] == "hlo"
    assert widget.pairs and widget.unmatched == [[], []]  # XLA made the same program
    left, right = widget.pairs[0]
    box(page, 0, left).hover()
    assert right in classes(page, 1, "jv-partner")


def test_downloads_hold_both_graphs(guard, vmap_vs_manual):
    open_widget(guard, vmap_vs_manual, make=comparison_display.make_widget)
    page = guard.page
    with page.expect_download() as svg:
        page.get_by_role("button", name="download both graphs as SVG").click()
    assert svg.value.suggested_filename == "by_vmap-vs-by_hand-jaxpr.svg"
    text = open(svg.value.path(), encoding="utf-8").read()
    assert "by_vmap" in text and "by_hand" in text and text.count("transpose") >= 1
    with page.expect_download() as png:
        page.get_by_role("button", name="download both graphs as PNG").click()
    assert open(png.value.path(), "rb").read()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as pdf:
        page.get_by_role("button", name="download both graphs as PDF").click()
    assert open(pdf.value.path(), "rb").read().startswith(b"%PDF-")
    with page.expect_download() as one:  # each side's own downloads still work
        side(page, 1).get_by_role("button", name="download SVG").click()
    assert one.value.suggested_filename == "predict_manual-jaxpr.svg"


def test_static_page_links_partners_without_a_kernel(guard, vmap_vs_manual):
    c = vmap_vs_manual
    open_html(guard, html.comparison_page(c))
    page = guard.page
    expect(page.locator(".jv-note").first).to_contain_text("need a running kernel")
    expect(page.get_by_role("button", name="download both graphs as PNG")).to_be_disabled()
    assert classes(page, 0, "jv-unmatched") == {op_box(c, 0, "transpose")}
    add = [op_box(c, k, "add") for k in (0, 1)]
    box(page, 1, add[1]).hover()
    assert classes(page, 0, "jv-partner") == {add[0]}


@pytest.mark.parametrize("where", ["widget", "static page"])
def test_hostile_names_stay_text(guard, vmap_vs_manual, where):
    c = jaxviz.compare(vmap_vs_manual.left, vmap_vs_manual.right, names=(HOSTILE, HOSTILE + "2"))
    dialogs = []
    guard.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    if where == "widget":
        open_widget(guard, c, make=comparison_display.make_widget)
    else:
        text = html.comparison_page(c)
        assert "<img" not in text and text.count("</script>") == 1
        open_html(guard, text)
    page = guard.page
    expect(side(guard.page, 0).locator(".jv-side-name")).to_have_text(HOSTILE)
    expect(page.locator(".jv-summary")).to_contain_text(HOSTILE)
    assert page.locator("img").count() == 0 and dialogs == []
