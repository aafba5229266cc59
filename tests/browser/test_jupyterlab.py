"""End to end in real JupyterLab 4 and Notebook 7: a ``%%jaxtrace`` cell's widget, live with a
kernel; then the notebook as JupyterLab saved it, converted by nbconvert and shown with no
kernel at all."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from harness import FIRST_PICTURE, ORIGIN

pytestmark = pytest.mark.browser

#: The saved notebook (one seed trace) must stay light.
SAVED_NOTEBOOK_LIMIT = 100_000
KERNEL_TIMEOUT = 180_000  # ms: start a kernel, import jax, trace and lay out, on a slow machine

SETUP = "%load_ext jaxviz\nimport jax.numpy as jnp\nfrom jax import lax"
CELL = """%%jaxtrace
def fori_fn(x):
    y = jnp.copy(x)
    x = lax.fori_loop(0, 1000, lambda i, x: x * x, x)
    return y
fori_fn(jnp.array([1.1, -1.1]))"""

#: A real model: the corpus's GPT-style train step (a layer loop, grad, an SGD update).
REAL_MODEL = f"""%load_ext jaxviz
import sys
sys.path.insert(0, {str(Path(__file__).parents[1])!r})
from real import load
(program,) = load("gpt_train_step")
train_step, (params, tokens, lr) = program.fn, program.args"""
REAL_CELL = "%jaxtrace --no-time train_step(params, tokens, lr)"

SERVER_CONFIG = """
c.LabApp.news_url = None  # no announcements fetched from the internet
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
"""


class Server:
    def __init__(self, url: str, token: str, root: Path):
        self.url, self.token, self.root = url, token, root

    def notebook(self, name: str, cells: tuple[str, ...] = (SETUP, CELL)) -> Path:
        """Write a notebook with these cells (the setup cell and the %%jaxtrace cell)."""
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = self.root / name
        nbformat.write(nb, path)
        return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def jupyter(browser, tmp_path_factory):
    """JupyterLab (and Notebook 7, on the same server), from this venv, on a free port."""
    home = tmp_path_factory.mktemp("jupyter")
    root = home / "notebooks"
    root.mkdir()
    (home / "config").mkdir()
    (home / "config" / "jupyter_server_config.py").write_text(SERVER_CONFIG)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
    }
    port, token = _free_port(), secrets.token_hex(16)
    log = open(home / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         "--ServerApp.port_retries=0", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (home / "server.log").read_text()
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not start in 120 s"
                time.sleep(0.5)
        yield Server(url, token, root)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _open(guard, jupyter, path: str) -> None:
    """Open a page of the server; only errors from jaxviz's code (the widget module, which
    anywidget loads from a blob: URL) count, not those of JupyterLab itself."""
    guard.allow(jupyter.url)
    guard.ours = lambda error: "blob:" in error or "jaxviz" in error
    guard.page.goto(f"{jupyter.url}{path}{'&' if '?' in path else '?'}token={jupyter.token}")


def _run_all(page) -> None:
    """Run → Run All, once the notebook is the active panel (the menu item is enabled).

    Right after a page loads, JupyterLab sometimes drops a Run All while it connects to the
    kernel (no cell starts): then it is asked again, only if the first cell never started.
    """
    first_prompt = page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first
    run_all = page.locator(".lm-Menu-item:not(.lm-mod-disabled)").filter(
        has=page.locator(".lm-Menu-itemLabel").get_by_text(re.compile(r"^Run All( Cells)?$")))
    for attempt in range(2):
        first_prompt.click()
        page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click()
        run_all.click()
        try:
            expect(first_prompt).not_to_have_text(re.compile(r"\[ \]"), timeout=20_000)
            return
        except AssertionError:
            if attempt:
                raise


def _output(page):
    """The cell's jaxviz output, once drawn; it must be the live widget, not the static view."""
    out = page.locator(".jp-OutputArea-output .jaxviz")
    expect(out.locator(".jv-canvas g.node").first).to_be_visible(timeout=KERNEL_TIMEOUT)
    expect(out.locator(".jv-note"), "the output is the static view, not the widget: does "
           "Trace._repr_mimebundle_ return jaxviz.display.widget.mimebundle?").to_have_count(0)
    return out


def test_jupyterlab_end_to_end(guard, jupyter, artifacts):
    page = guard.page
    path = jupyter.notebook("lab.ipynb")
    _open(guard, jupyter, "/lab/tree/lab.ipynb?reset")
    _run_all(page)
    out = _output(page)

    # The picture showed once traced; compiling, timing and the HLO view went on in the
    # background (a person is watching), filling the same widget in.
    out.get_by_role("tab", name="timing").click()
    expect(out.locator(".jv-panel").filter(has_text="jit is")).to_be_visible(timeout=KERNEL_TIMEOUT)
    out.get_by_role("tab", name="HLO graph").click()
    expect(out.locator(".jv-canvas g.node").first).to_be_visible(timeout=60_000)
    expect(out.locator(".jv-header")).to_contain_text("compile")
    out.get_by_role("tab", name="jaxpr graph").click()
    expect(page.locator(".jp-OutputArea-output .jaxviz")).to_have_count(1)

    # expand a scan group: collapse everything, then open the scan (a message to the kernel)
    out.get_by_role("button", name="close every group").click()
    scan = out.locator('.jv-canvas g.node[data-node="g0"]')
    expect(scan).to_be_visible()
    scan.click()
    expect(out.locator('.jv-canvas g.cluster[data-node="g0"]')).to_be_visible()

    # search, from the keyboard: "/" is the widget's, not a notebook shortcut
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    out.locator(".jv-viewport").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    expect(out.get_by_role("searchbox")).to_be_focused()
    page.keyboard.type("mul")
    expect(out.locator(".jv-count")).to_have_text("1 of 1")
    expect(out.locator('.jv-canvas g[data-node="e2"]')).to_have_class(re.compile("jv-match"))
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells  # no notebook shortcut ran

    with page.expect_download() as svg:
        out.get_by_role("button", name="download SVG").click()
    ids = {el.get("id") for el in ET.parse(svg.value.path()).iter()}
    assert {"c-g0", "n-e2"} <= ids  # the drawing as shown: the scan open
    with page.expect_download() as pdf:
        out.get_by_role("button", name="download PDF").click()
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF-")

    # JupyterLab's dark theme: the widget follows
    page.locator(".lm-MenuBar-itemLabel").get_by_text("Settings", exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Theme", exact=True).hover()
    page.locator(".lm-Menu-itemLabel").get_by_text("JupyterLab Dark", exact=True).click()
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    expect(out.locator(".jv-area")).to_have_css("background-color", "rgb(17, 17, 17)")

    # Save, then look at the notebook on disk: light, with the static view beside the widget.
    page.locator(".jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 60
    while "application/vnd.jupyter.widget-view+json" not in path.read_text():
        assert time.monotonic() < deadline, "the notebook was not saved"
        page.wait_for_timeout(250)
    size = path.stat().st_size
    (artifacts / "saved-notebook-size.txt").write_text(f"{size} bytes: {path.name}, one %%jaxtrace\n")
    assert size < SAVED_NOTEBOOK_LIMIT, f"saved notebook is {size} bytes"
    nb = json.loads(path.read_text())
    (output,) = [o for o in nb["cells"][1]["outputs"] if o["output_type"] == "display_data"]
    assert {"application/vnd.jupyter.widget-view+json", "text/html", "text/plain"} <= set(output["data"])
    # What filled in is in what the notebook keeps, too (the static view was made anew).
    assert "speedup" in "".join(output["data"]["text/plain"])
    assert "widgets" not in nb["metadata"]  # JupyterLab does not save widget state by default

    # No kernel: nbconvert's HTML uses the text/html fallback (no widget state was saved).
    from nbconvert import HTMLExporter

    # nbconvert's page loads require.js and MathJax from a CDN for itself: local stand-ins for
    # those, so that any request the jaxviz output makes is caught by the guard.
    exporter = HTMLExporter(template_name="lab", require_js_url=f"{ORIGIN}/require.js",
                            mathjax_url=f"{ORIGIN}/mathjax.js")
    body, _ = exporter.from_filename(str(path))
    assert "unpkg.com" not in body  # no widget manager pulled from a CDN
    for name in ("require.js", "mathjax.js"):
        guard.serve(f"{ORIGIN}/{name}", lambda: (b"", "text/javascript"))
    guard.serve(f"{ORIGIN}/notebook.html", lambda: (body.encode(), "text/html"))
    page.goto(f"{ORIGIN}/notebook.html")
    out = page.locator(".jaxviz")
    expect(out.locator(".jv-note")).to_contain_text("need a running kernel")
    out.locator('.jv-canvas g[data-node="e2"]').hover()
    expect(out.locator(".jv-tooltip")).to_contain_text("mul")
    out.locator('.jv-canvas g[data-node="e0"]').click()
    expect(out.locator(".jv-details h3")).to_have_text("copy")
    expect(out.get_by_role("button", name="close every group")).to_be_disabled()


def test_a_real_models_first_picture_is_readable_in_jupyterlab(guard, jupyter):
    """A GPT train step opens on some 200 boxes: in JupyterLab, its first picture shows
    labels at least 9 px tall and whole boxes, not a graph shrunk to fit."""
    page = guard.page
    jupyter.notebook("model.ipynb", (REAL_MODEL, REAL_CELL))
    _open(guard, jupyter, "/lab/tree/model.ipynb?reset")
    _run_all(page)
    out = _output(page)
    first = out.evaluate(FIRST_PICTURE)
    assert first["label"] >= 9 and first["whole"] >= 6, first
    assert first["boxes"] > 100 and first["overview"], first


def test_notebook7(guard, jupyter):
    page = guard.page
    jupyter.notebook("nb7.ipynb")
    _open(guard, jupyter, "/notebooks/nb7.ipynb")
    _run_all(page)
    out = _output(page)
    out.locator('.jv-canvas g[data-node="e2"]').click()
    expect(out.locator(".jv-details")).to_contain_text("lax.fori_loop(0, 1000")
    out.get_by_role("button", name="close every group").click()
    expect(out.locator('.jv-canvas g.node[data-node="g0"]')).to_be_visible()
    out.locator('.jv-canvas g.node[data-node="g0"]').click()
    expect(out.locator('.jv-canvas g.cluster[data-node="g0"]')).to_be_visible()


def test_untrusted_notebook_shows_a_clean_fallback(guard, jupyter):
    """A notebook from elsewhere is untrusted: JupyterLab picks the text/html output and
    sanitizes it (no scripts, no SVG). What is left must still read well."""
    import jax.numpy as jnp

    import jaxviz
    import programs as P
    from jaxviz.display.widget import mimebundle

    trace = jaxviz.trace(P.fori_fn, jnp.array([1.1, -1.1]))
    data, _ = mimebundle(trace)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL, outputs=[nbformat.v4.new_output("display_data", data=data)])]
    nbformat.write(nb, jupyter.root / "untrusted.ipynb")  # not signed: untrusted
    page = guard.page
    _open(guard, jupyter, "/lab/tree/untrusted.ipynb?reset")
    output = page.locator(".jp-OutputArea-output")
    expect(output).to_contain_text("fori_fn on")
    expect(output).to_contain_text(trace.findings[0].message)
    expect(output).to_contain_text("trust the notebook, or run the cell")
    expect(output.get_by_text("cluster_g0")).to_be_hidden()  # what is left of the SVG is folded away


COMPARE_CELL = """%%jaxcompare --no-time
def stupid_fn(x):
    y = jnp.copy(x)
    for _ in range(10):
        x = x * x
    return y
def less_stupid_fn(x):
    y = jnp.copy(x)
    x = lax.fori_loop(0, 10, lambda i, x: x * x, x)
    return y
stupid_fn(jnp.array([1.1, -1.1]))
less_stupid_fn(jnp.array([1.1, -1.1]))"""


def test_a_comparison_in_jupyterlab(guard, jupyter):
    """A %%jaxcompare cell's live widget: both graphs, partners outlined on hover, and one
    switch that has the kernel lay out both HLO graphs."""
    page = guard.page
    jupyter.notebook("compare.ipynb", (SETUP, COMPARE_CELL))
    _open(guard, jupyter, "/lab/tree/compare.ipynb?reset")
    _run_all(page)
    out = page.locator(".jp-OutputArea-output .jaxviz.jv-compare")
    sides = out.locator(".jv-sides > div")
    for k in (0, 1):
        expect(sides.nth(k).locator(".jv-canvas g.node").first).to_be_visible(timeout=KERNEL_TIMEOUT)
    expect(out.locator(".jv-summary")).to_contain_text("XLA compiles them to identical programs.")
    copy = sides.nth(0).locator(".jv-canvas g.node", has_text="copy")
    copy.hover()
    expect(sides.nth(1).locator(".jv-canvas g.jv-partner", has_text="copy")).to_have_count(1)
    expect(sides.nth(1).locator(".jv-canvas g.jv-unmatched").first).to_be_visible()  # the counter
    out.get_by_role("button", name="HLO graphs", exact=True).click()
    for k in (0, 1):
        expect(sides.nth(k).locator(".jv-canvas g.node", has_text="copy")).to_have_count(1)
        expect(sides.nth(k).locator(".jv-canvas g.node", has_text="mul")).to_have_count(0)
