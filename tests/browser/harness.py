"""The widget harness: the built bundle in a plain page, driven by a real TraceWidget.

The widget lives in the test process. Where a kernel would give it a comm, it gets a
``HarnessComm`` (through ``comm.create_comm``, the hook ipykernel itself sets), which keeps
what the widget sends; harness.html's stand-in model applies those messages the way
ipywidgets does, and sends the browser's messages back through ``window.toKernel``.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import comm
from comm.base_comm import BaseComm

import jaxviz
from jaxviz.display import html
from jaxviz.display.widget import TraceWidget, make_widget

#: On-screen measures of the first picture, in a jaxviz output element
#: (the harness's and JupyterLab's tests).
FIRST_PICTURE = """out => {
  const viewport = out.querySelector('.jv-viewport').getBoundingClientRect();
  const within = (r) => r.left >= viewport.left - 1 && r.right <= viewport.right + 1
    && r.top >= viewport.top - 1 && r.bottom <= viewport.bottom + 1;
  const boxes = [...out.querySelectorAll('.jv-canvas g.node')].map((g) => g.getBoundingClientRect());
  const labels = [...out.querySelectorAll('.jv-canvas g.node text')].map((t) => t.getBoundingClientRect())
    .filter(within);
  const overview = out.querySelector('.jv-overview');
  return {whole: boxes.filter(within).length, boxes: boxes.length,
          label: labels.length ? Math.min(...labels.map((r) => r.height)) : 0,
          height: viewport.height, overview: !!overview && overview.style.display !== 'none'};
}"""

#: A made-up origin the guard serves; *.localhost counts as a secure context (clipboard API).
ORIGIN = "http://jaxviz.localhost"
HERE = Path(__file__).parent
STATIC = Path(jaxviz.__file__).parent / "static"


class HarnessComm(BaseComm):
    """The widget's comm: what a kernel would publish on iopub is kept in ``outbox``."""

    def __init__(self, **kwargs: Any):
        self.outbox: list[tuple[str, dict, list]] = []
        self.history: list[tuple[str, dict, list]] = []  # everything ever sent
        super().__init__(**kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        message = (msg_type, data or {}, list(buffers or []))
        self.outbox.append(message)
        self.history.append(message)


def _file(path: Path, content_type: str):
    def body() -> tuple[bytes, str]:
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: build the bundle (npm --prefix js run build)")
        return path.read_bytes(), content_type
    return body


def open_widget(guard, trace: "jaxviz.Trace", live: bool = True,
                make: Callable[..., Any] = make_widget, **kwargs: Any) -> TraceWidget:
    """Show ``make(trace, **kwargs)`` (a trace's widget, or a comparison's with
    ``make=comparison.make_widget``) on the guard's page; ``live=False``: no kernel."""
    with mock.patch.object(comm, "create_comm", HarnessComm):
        widget = make(trace, **kwargs)
    channel = widget.comm
    (msg_type, opened, _), = channel.outbox
    assert msg_type == "comm_open"
    channel.outbox.clear()

    def to_kernel(content: Any) -> list[dict[str, Any]]:
        channel.handle_msg({"content": {"comm_id": channel.comm_id,
                                        "data": {"method": "custom", "content": content}},
                            "buffers": []})
        sent = [
            {**data, "buffers": [base64.b64encode(bytes(b)).decode() for b in buffers]}
            for _, data, buffers in channel.outbox
        ]
        channel.outbox.clear()
        return sent

    page = guard.page
    guard.serve(f"{ORIGIN}/harness.html", _file(HERE / "harness.html", "text/html"))
    guard.serve(f"{ORIGIN}/static/widget.js", _file(STATIC / "widget.js", "text/javascript"))
    page.expose_function("toKernel", to_kernel)
    page.goto(f"{ORIGIN}/harness.html")
    page.wait_for_function("window.harnessReady === true")
    page.evaluate("([state, live]) => boot(state, live)", [opened["state"], live])
    page.wait_for_selector(".jaxviz")
    return widget


def open_page(guard, trace: "jaxviz.Trace", **kwargs: Any) -> str:
    """Show ``html.page(trace, **kwargs)`` (the .html export) on the guard's page."""
    return open_html(guard, html.page(trace, **kwargs))


def open_html(guard, text: str) -> str:
    """Show a page of HTML text (an export) on the guard's page."""
    guard.serve(f"{ORIGIN}/page.html", lambda: (text.encode(), "text/html"))
    guard.page.goto(f"{ORIGIN}/page.html")
    guard.page.wait_for_selector(".jaxviz")
    return text
