"""The per-op profile in the widget, in Chromium: the timing tab's top-ops and per-line
tables, "show in graph", the profile button, and colouring both graphs by time."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import pytest
from playwright.sync_api import expect

import jaxviz

from harness import open_widget

pytestmark = pytest.mark.browser


def heavy(a, b, c):
    product = a @ b
    return product, jnp.sin(c).sum()


@pytest.fixture(scope="module")
def args():
    a = jax.random.normal(jax.random.key(0), (256, 256))
    return a, a, jnp.ones(64)


def fills(page):
    return page.eval_on_selector_all(
        ".jv-canvas g.node > :is(rect, path, polygon)",
        "els => els.map(e => getComputedStyle(e).fill)")


def test_the_timing_tab_lists_the_hottest_ops_and_shows_them_in_the_graph(guard, args):
    t = jaxviz.trace(heavy, *args)
    profile = t.profile(budget=0.2)
    open_widget(guard, t)
    page = guard.page
    page.get_by_role("tab", name="timing").click()
    table = page.locator(".jv-top-ops")
    expect(table).to_be_visible()
    expect(page.locator(".jv-profile")).to_contain_text("is attributed to ops")
    hottest = profile.ops[0]
    expect(table.locator("tr").nth(1)).to_contain_text(hottest.name)
    expect(page.locator(".jv-top-lines")).to_contain_text("product = a @ b")
    table.locator("tr").nth(1).get_by_role("button", name="show in graph").click()
    # The widget starts on the jaxpr view: the op's equation is selected there.
    expect(page.get_by_role("tab", name="jaxpr graph")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".jv-details h3")).to_contain_text("dot_general")
    expect(page.locator(".jv-details .jv-time")).to_contain_text(re.compile(r"\d+% of the run · .+ per call · .+ GFLOP/s · .+B/s"))


def test_colour_by_time_recolours_the_boxes_and_shows_the_scale(guard, args):
    t = jaxviz.trace(heavy, *args)
    t.profile(budget=0.2)
    open_widget(guard, t)
    page = guard.page
    before = fills(page)
    toggle = page.get_by_role("button", name="colour by time")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".jv-legend .jv-heat-scale")).to_be_visible()
    expect(page.locator(".jv-legend")).to_contain_text("per call (the slowest op drawn")
    heated = fills(page)
    assert heated != before
    (dot,) = t.graph("jaxpr").find(op="dot_general")
    hot = page.locator(f'.jv-canvas g[data-node="{dot.id}"] > rect').evaluate("e => getComputedStyle(e).fill")
    assert hot == "rgb(215, 48, 31)"  # the slowest op drawn: the top of the scale
    page.locator(f'.jv-canvas g[data-node="{dot.id}"]').hover()
    expect(page.locator(".jv-tooltip .jv-time")).to_contain_text("of the run")
    toggle.click()
    assert fills(page) == before
    # Both views: the HLO graph colours by time too.
    page.get_by_role("tab", name="HLO graph").click()
    expect(page.locator(".jv-canvas g.node").first).to_be_visible()
    page.get_by_role("button", name="colour by time").click()
    expect(page.locator(".jv-legend .jv-heat-scale")).to_be_visible()


def test_the_profile_button_profiles_from_the_widget(guard, args):
    t = jaxviz.trace(heavy, *args)
    widget = open_widget(guard, t)
    page = guard.page
    expect(page.get_by_role("button", name="colour by time")).to_be_hidden()  # no profile yet
    page.get_by_role("tab", name="timing").click()
    expect(page.locator(".jv-profile")).to_contain_text("Ops not profiled")
    page.get_by_role("button", name="profile the ops").click()
    expect(page.locator(".jv-top-ops")).to_be_visible(timeout=60_000)
    assert widget.profile["measured"] and t.profiled is not None
    page.get_by_role("tab", name="jaxpr graph").click()
    expect(page.get_by_role("button", name="colour by time")).to_be_visible()


def test_memory_at_the_peak_lists_the_buffers_and_colours_the_graph(guard, args):
    t = jaxviz.trace(heavy, *args)
    widget = open_widget(guard, t)
    page = guard.page
    page.get_by_role("tab", name="timing").click()
    expect(page.locator(".jv-memory")).to_contain_text("not looked into")
    page.get_by_role("button", name="find what is live at the peak").click()
    table = page.locator(".jv-peak-buffers")
    expect(table).to_be_visible(timeout=60_000)
    expect(page.locator(".jv-memory")).to_contain_text("live at the peak")
    assert widget.memory_peak["measured"]
    expect(table).to_contain_text("argument")
    output = next(b for b in widget.memory_peak["buffers"] if b["jaxpr_node"])
    table.locator("tr", has_text=output["name"]).first.get_by_role("button", name="show in graph").click()
    expect(page.locator(".jv-details .jv-time")).to_contain_text("live at the memory peak")
    toggle = page.get_by_role("button", name="colour by memory")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".jv-legend")).to_contain_text("live at the peak (the biggest op drawn")
    expect(page.get_by_role("button", name="colour by time")).to_be_hidden()  # not profiled
