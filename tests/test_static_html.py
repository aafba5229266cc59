"""The notebook's static ``text/html`` output: light, and its script holds no user text."""

import base64
import dataclasses
import json
import re
import zlib

import jax.numpy as jnp

import jaxviz
import programs as P
from jaxviz.display import html, state, widget

HOSTILE = "</script><img src=x onerror=alert(1)>"

#: The whole script: the loader called on its block with two base64 strings.
SCRIPT = re.compile(
    "<script>" + re.escape(html.LOADER)
    + r"\(document\.currentScript\.previousElementSibling, "
    + r'"([A-Za-z0-9+/=]+)", "([A-Za-z0-9+/=]+)"\);</script>$'
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
    assert len(script.group(0)) < 0.6 * len(bundle)  # with the state, which the bundle lacks
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
    broken = jaxviz.Trace(dataclasses.replace(good._cap, hlo_text="HloModule m\n\nENTRY %e { ? }"))
    assert broken.findings == [] and broken.graph("jaxpr").nodes and broken.links is None
    live = widget.make_widget(broken)
    assert live.views == {"jaxpr": None, "hlo": None}  # nothing parsed yet
    live._show("hlo", None)
    assert live.views["hlo"].startswith("No HLO graph: HloParseError: line 3") and live.svg == ""
    state = json.loads(unpack(script_of(html.fragment(broken, view="hlo")).group(2)))
    assert state["views"]["hlo"] == live.views["hlo"] and state["svg"] == ""
