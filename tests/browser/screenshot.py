"""The README's picture of the widget, taken with the browser tests' machinery:

    .venv/bin/python tests/browser/screenshot.py [docs/images/widget.png]

A small recurrent network (a ``scan`` over a named scope) in the harness page, one node
selected (details panel, data flow highlighted), the search box used.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
from jax import lax

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import jaxviz  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, Guard  # noqa: E402
from harness import open_widget  # noqa: E402


def rnn(params, xs):
    def step(h, x):
        with jax.named_scope("cell"):
            h = jnp.tanh(params["W"] @ h + params["U"] @ x + params["b"])
        return h, h.sum()

    h, ys = lax.scan(step, jnp.zeros(4), xs)
    return h, ys


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    params = {"W": jnp.eye(4), "U": jnp.ones((4, 3)), "b": jnp.zeros(4)}
    trace = jaxviz.trace(rnn, params, jnp.ones((5, 3)))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=2)
        guard = Guard(page)
        open_widget(guard, trace)
        (tanh,) = trace.graph().find(op="tanh")
        page.get_by_role("searchbox").fill("add")
        page.get_by_role("button", name="fit to view (f)").click()
        page.locator(f'.jv-canvas g[data-node="{tanh.id}"]').click()
        page.locator(f'.jv-canvas g[data-node="{tanh.id}"]').hover()
        box = page.locator(".jaxviz").bounding_box()
        margin = 8
        page.screenshot(path=str(out), clip={"x": box["x"] - margin, "y": box["y"] - margin,
                                             "width": box["width"] + 2 * margin,
                                             "height": box["height"] + 2 * margin})
        browser.close()
        guard.check()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "widget.png")
