"""What the DOT draws for a view (sheaves of edges bundled) and what the SVG keeps."""

import html
import re
import xml.etree.ElementTree as ET

import jax
import jax.numpy as jnp
from jax import lax
import pygraphviz
import pytest

import jaxviz
from jaxviz.layout import FANOUT_LIMIT, Layouter
from jaxviz.model import expansion, project


#: The terms cycle through these, so that they are not alike steps (which fold into one
#: "×N alike" group): the layout of many different boxes is what is tested here.
CYCLE = (jnp.sin, jnp.cos, jnp.exp, jnp.abs)


def spreading(uses):
    """tanh feeds ``uses`` boxes inside a named scope; every one of them feeds the stack
    (a concatenate)."""

    def spread(x):
        h = jnp.tanh(x)
        with jax.named_scope("terms"):  # primitives spelled out: jnp.stack differs by version
            terms = [lax.broadcast_in_dim(CYCLE[i % 4](h * float(i)), (1, *x.shape), (1,))
                     for i in range(uses)]
        return lax.concatenate(terms, 0).sum(0)

    return spread


def drawn_edges(dot):
    """(tail, head) -> attributes, as Graphviz reads the DOT."""
    graph = pygraphviz.AGraph(string=dot)
    return {(str(e[0]), str(e[1])): dict(e.attr) for e in graph.edges()}


@pytest.fixture(scope="module")
def spread_trace():
    return jaxviz.trace(spreading(12), jnp.ones(3))


def ids(trace):
    graph = trace.graph()
    ((tanh,), (stack,)) = graph.find(op="tanh"), graph.find(op="concatenate")
    (terms,) = graph.groups
    return graph, tanh.id, stack.id, terms.id


def test_a_node_feeding_many_boxes_of_a_group_draws_one_edge_to_the_group(spread_trace):
    graph, tanh, _, terms = ids(spread_trace)
    layout = spread_trace.layout()
    assert terms in layout.expanded  # the scope is open: twelve boxes inside
    edges = drawn_edges(layout.dot)
    out_of_tanh = {head: attrs for (tail, head), attrs in edges.items() if tail == tanh}
    assert list(out_of_tanh) == [f"anchor_{terms}"]
    assert out_of_tanh[f"anchor_{terms}"]["lhead"] == f"cluster_{terms}"
    assert "×12" in out_of_tanh[f"anchor_{terms}"]["label"]
    # the projection, which the details list, keeps every use
    uses = [dst for src, dst in project(graph, layout.expanded).edges if src == tanh]
    assert len(uses) == 12


def test_many_boxes_of_a_group_feeding_one_node_draw_one_edge_out_of_the_group(spread_trace):
    graph, _, stack, terms = ids(spread_trace)
    layout = spread_trace.layout()
    edges = drawn_edges(layout.dot)
    into_stack = {tail: attrs for (tail, head), attrs in edges.items() if head == stack}
    bundle = into_stack.pop(f"anchor_{terms}")
    assert bundle["ltail"] == f"cluster_{terms}"
    # and one invisible tie from the member built last keeps the stack below the group
    ((tie, attrs),) = into_stack.items()
    assert attrs["style"] == "invis" and graph.nodes[tie].group == terms
    assert tie == [n.id for n in graph.children(terms)][-1]
    placed = pygraphviz.AGraph(string=layout.dot)
    placed.layout(prog="dot")

    def y(node_id):  # Graphviz's y grows upwards
        return float(placed.get_node(node_id).attr["pos"].split(",")[1])

    assert all(y(stack) < y(n.id) for n in graph.children(terms))


@pytest.mark.parametrize("uses", [FANOUT_LIMIT, FANOUT_LIMIT + 1])
def test_up_to_the_limit_every_edge_is_drawn(uses):
    graph = jaxviz.trace(spreading(uses), jnp.ones(3)).graph()
    (tanh,) = graph.find(op="tanh")
    (terms,) = graph.groups
    layout = Layouter(graph).layout(expansion(graph, "all"))
    heads = [head for tail, head in drawn_edges(layout.dot) if tail == tanh.id]
    assert heads == ([f"anchor_{terms.id}"] if uses > FANOUT_LIMIT else
                     [n.id for n in graph.children(terms.id) if n.op == "mul"])


@pytest.fixture(scope="module")
def grad_trace():
    return jaxviz.trace(jax.grad(lambda x: spreading(12)(x).sum()), jnp.ones(3))


def test_the_svg_keeps_every_drawn_id_and_edges_name_drawn_ends(grad_trace):
    graph = grad_trace.graph()
    states = [expansion(graph), expansion(graph, "all"), expansion(graph, "none")]
    states += [frozenset({g.id}) for g in graph.groups if g.group is None]
    bundles = set()
    for expanded in states:
        layout = Layouter(graph).layout(expanded)
        view = project(graph, expanded)
        root = ET.fromstring(layout.svg)
        svg_ids = {el.get("id") for el in root.iter() if el.get("id")}
        assert {f"n-{n}" for n in view.nodes} | {f"c-{c}" for c in view.clusters} <= svg_ids
        drawn = set(view.nodes) | set(view.clusters)
        titles = re.findall(r'class="edge">\s*<title>([^<]*)</title>', layout.svg)
        for title in titles:
            ends = html.unescape(title).split("->")
            assert {end.removeprefix("anchor_") for end in ends} <= drawn, title
        bare = {(t.removeprefix("anchor_"), h.removeprefix("anchor_"))
                for t, h in drawn_edges(layout.dot)}
        bundles |= bare - set(view.edges)
    assert bundles  # the grad program has sheaves to bundle


def test_what_the_forward_pass_hands_the_backward_pass_is_one_edge_and_comes_first():
    """The residuals: one edge from the forward pass into the backward pass, not one per
    value (each spans the drawing: dot took a second placing a grad step's), and the
    backward pass starts below every box that hands it one."""
    def loss(w):  # a two-layer MLP: the backward pass reads the forward's values
        return jnp.tanh(jnp.tanh(w @ jnp.ones((3, 3))) @ w).sum()

    trace = jaxviz.trace(jax.grad(loss), jnp.ones((3, 3)))
    for view in ("jaxpr", "hlo"):
        graph = trace.graph(view)
        passes = {g.params["pass"]: g.id for g in graph.groups if "pass" in g.params}
        forward, backward = passes["forward"], passes["backward"]
        expanded = expansion(graph, "all")
        handing = {src for src, dst in project(graph, expanded).edges
                   if forward in graph.ancestors(src) and backward in graph.ancestors(dst)}
        assert len(handing) > 1, view
        dot = Layouter(graph).layout(expanded).dot
        drawn = drawn_edges(dot)
        into_backward = {(tail, head): attrs for (tail, head), attrs in drawn.items()
                         if head == f"anchor_{backward}" or backward in graph.ancestors(head)}
        assert not any(tail in handing for tail, _ in into_backward
                       if into_backward[tail, _].get("style") != "invis"), view
        bundle = into_backward[f"anchor_{forward}", f"anchor_{backward}"]
        assert bundle["ltail"] == f"cluster_{forward}" and bundle["lhead"] == f"cluster_{backward}"
        assert re.fullmatch(r"residuals ×\d+", bundle["label"]), (view, bundle["label"])
        placed = pygraphviz.AGraph(string=dot)
        placed.layout(prog="dot")

        def y(node_id):  # Graphviz's y grows upwards
            return float(placed.get_node(node_id).attr["pos"].split(",")[1])

        assert all(y(src) > y(f"anchor_{backward}") for src in handing), view


def test_a_gpt_train_steps_backward_pass_is_drawn_below_its_forward_layers():
    """In XLA's view of the nanoGPT step the forward pass's boxes come in no order of depth:
    the tie that holds the backward pass down leaves the lowest of them (from the one built
    last, the backward pass sat beside the layers' forward pass)."""
    from real import load

    (program,) = load("gpt_train_step")
    trace = jaxviz.trace(program.fn, *program.args)
    graph = trace.graph("hlo")
    passes = {g.params["pass"]: g.id for g in graph.groups if "pass" in g.params}
    forward, backward = passes["forward"], passes["backward"]
    (layers,) = [g.id for g in graph.groups if g.op == "unrolled" and g.group == forward]
    expanded = expansion(graph)
    shown = project(graph, expanded)
    handing = {src for src, dst in shown.edges if src in shown.nodes
               and layers in graph.ancestors(src) and backward in graph.ancestors(dst)}
    assert len(handing) > 10
    placed = pygraphviz.AGraph(string=Layouter(graph).layout(expanded).dot)
    placed.layout(prog="dot")

    def y(node_id):  # Graphviz's y grows upwards
        return float(placed.get_node(node_id).attr["pos"].split(",")[1])

    assert all(y(src) > y(f"anchor_{backward}") for src in handing)
