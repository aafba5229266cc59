"""Trace.peak_memory on real JAX: the buffers XLA's buffer assignment has live at the peak,
checked against its memory analysis, and mapped onto both graphs."""

from __future__ import annotations

import os
import tempfile

import jax
import jax.numpy as jnp
import pytest

import jaxviz
from jaxviz import memory


def two_matmuls(a, b):
    hidden = jnp.tanh(a @ b)                   # a temporary, live at the peak
    return (jnp.sin(hidden) @ a).sum() + hidden.mean()


@pytest.fixture(scope="module")
def traced():
    a = jnp.ones((256, 256))
    t = jaxviz.trace(two_matmuls, a, a)
    return t, t.peak_memory()


def test_the_buffers_at_the_peak_add_up_to_what_xla_says(traced):
    t, peak = traced
    assert peak.measured
    expected = (t.memory["argument_size_in_bytes"] + t.memory["output_size_in_bytes"]
                + t.memory["temp_size_in_bytes"] - t.memory["alias_size_in_bytes"])
    assert peak.expected == expected
    assert abs(peak.total - expected) <= 0.01 * expected
    assert "as XLA's memory analysis says" in peak.sentence()
    assert [b.bytes for b in peak.buffers] == sorted((b.bytes for b in peak.buffers), reverse=True)


def test_each_buffer_says_what_it_is_and_where_it_came_from(traced):
    t, peak = traced
    kinds = peak.by_kind()
    assert kinds["argument"] == 2 * 256 * 256 * 4  # both inputs are live throughout
    temporaries = [b for b in peak.buffers if b.kind == "temporary" and b.bytes == 256 * 256 * 4]
    assert temporaries and all(b.hlo_node in t.graph("hlo").nodes for b in temporaries)
    lines = {b.source.line for b in temporaries}
    first = two_matmuls.__code__.co_firstlineno
    assert lines <= {first + 1, first + 2} and lines
    for buffer in temporaries:
        assert buffer.jaxpr_nodes and all(i in t.graph("jaxpr").nodes for i in buffer.jaxpr_nodes)


def test_by_node_puts_the_bytes_on_both_graphs(traced):
    t, peak = traced
    for view in ("hlo", "jaxpr"):
        sizes = peak.by_node(view)
        graph = t.graph(view)
        top = sum(size for node, size in sizes.items() if graph.nodes[node].group is None)
        placed = [b for b in peak.buffers if (b.hlo_node if view == "hlo" else b.jaxpr_nodes)]
        assert placed and abs(top - sum(b.bytes for b in placed)) <= len(peak.buffers)


def test_looking_leaves_no_file_and_runs_nothing(tmp_path, monkeypatch, capsys):
    ran = []

    def watched(x):
        print("traced")  # while tracing: captured the first time, dropped the second
        jax.debug.callback(lambda: ran.append(1))  # only when the program runs
        return x * 2

    t = jaxviz.trace(watched, jnp.ones(8))
    assert t.trace_stdout == "traced\n"
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None
    try:
        before = dict(jax.config.values)
        t.peak_memory()
        assert os.listdir(tmp_path) == [] and dict(jax.config.values) == before
    finally:
        tempfile.tempdir = None
    assert ran == [] and t.memory_at_peak is not None
    assert capsys.readouterr().out == ""


def test_a_program_that_did_not_compile_has_no_peak():
    t = jaxviz.trace(lambda x: x @ jnp.ones((3, 3)), jnp.ones(2))
    with pytest.raises(ValueError, match="the trace stage failed"):
        t.peak_memory()


REPORT = """BufferAssignment:
allocation 0: size 64, parameter 0, shape |f32[16]| at ShapeIndex {}:
 value: <3 x.1 @0> (size=64,offset=0): f32[16]{0}
allocation 1: size 64, output shape is |f32[16]|, maybe-live-out:
 value: <5 add.2 @0> (size=64,offset=0): f32[16]{0}
allocation 2: size 128, preallocated-temp:
 value: <4 mul.1 @0> (size=128,offset=0): f32[32]{0}
HloLiveRange (max 3):
  Live ranges at 2 (peak):
    x.1{}: 64 bytes (cumulative: 64 bytes)
    mul.1{}: 128 bytes (cumulative: 192 bytes)
    add.2{}: 64 bytes (cumulative: 256 bytes)
  Stack trace breakdown for peak usage: 256 bytes
"""


def test_the_report_is_read_as_xla_writes_it():
    from jaxviz.model import Graph

    peak = memory.peak_memory(REPORT, Graph("hlo"), None, "cpu", lambda view: Graph(view))
    assert [(b.name, b.bytes, b.kind) for b in peak.buffers] == [
        ("mul.1", 128, "temporary"), ("x.1", 64, "argument"), ("add.2", 64, "output")]
    assert peak.total == 256 and peak.expected is None
    nothing = memory.peak_memory(None, Graph("hlo"), None, "cpu", lambda view: Graph(view))
    assert not nothing.measured and "no buffer assignment" in nothing.sentence()
