"""What keeps big programs quick and light, checked structurally (figures: benchmarks/scale.py)."""

import json

import jax
import jax.numpy as jnp
import pytest

import jaxviz
from benchmarks import workloads
from jaxviz.display import html, widget
from jaxviz.model import expansion, project

LAYERS = 8


@pytest.fixture(scope="module")
def block():
    """The benchmark's transformer block, unrolled over LAYERS layers by a Python loop."""
    return jaxviz.trace(workloads.transformer, workloads.make_layers(LAYERS), jnp.ones((16, 32)))


def test_the_default_view_shows_one_layer_and_folds_the_others(block):
    graph = block.graph("jaxpr", linked=False)
    expanded = expansion(graph)
    drawn = project(graph, expanded).nodes
    assert len(drawn) <= 300 < len(graph.find(kind="op"))
    (loop,) = [n for n in graph.groups if n.op == "unrolled"]
    assert loop.label.startswith(f"unrolled loop ×{LAYERS} ")
    first, rest = graph.children(loop.id)
    assert {loop.id, first.id} <= expanded and rest.id in drawn  # one layer open
    assert rest.label == f"iterations 1–{LAYERS - 1} · alike"
    assert block.layout().node_count == len(drawn)


def test_the_default_output_builds_no_hlo_side(block):
    trace = jaxviz.Trace(block._cap)  # the same capture, nothing built yet
    html.fragment(trace)
    state = widget.make_widget(trace).get_state()
    assert not trace.linked and not state["linked"]
    assert set(trace._graphs) == {"jaxpr"}


def test_expanding_lays_out_only_the_new_state(block):
    graph = block.graph("jaxpr", linked=False)
    default = block.layout()
    (rest,) = [n for n in graph.groups if n.op == "alike"]
    opened = block.layout(expand=default.expanded | {rest.id})
    assert opened is not default and opened.node_count > default.node_count
    assert block.layout(expand=default.expanded) is default  # going back is free
    assert f'id="c&#45;{rest.id}"' in opened.svg  # drawn open, as a cluster


def test_the_payload_does_not_grow_with_the_layers():
    """Inputs and iterations of a folded loop travel as numbered families, not one by one."""
    sizes = []
    for layers in (8, 32):
        trace = jaxviz.trace(workloads.transformer, workloads.make_layers(layers),
                             jnp.ones((16, 32)))
        state = widget.make_widget(trace).get_state()
        sizes.append(len(json.dumps(state["hidden"])) + len(json.dumps(state["nodes"])))
    assert sizes[1] < 1.2 * sizes[0]


def test_a_gradient_default_view_stays_within_bounds():
    trace = jaxviz.trace(jax.grad(workloads.transformer_loss), workloads.make_layers(2),
                         jnp.ones((16, 32)))
    assert trace.layout().node_count <= 300
