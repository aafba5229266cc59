"""Property test: random JAX programs (chains of primitives, nested scan/cond/while, random
pytree inputs) always build a graph, with every equation in it exactly once."""

import jax
import jax.numpy as jnp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jax import lax

import jaxviz
from jaxviz import _compat
from jaxviz.model import expansion, project

#: Group kinds jaxviz adds on its own (everything else that is a group is an equation).
SYNTHETIC_GROUPS = {"scope", "unrolled", "iteration", "chunk", "inputs", "outputs", "part"}

UNARY = [jnp.sin, jnp.tanh, jnp.exp, jnp.abs, lambda v: v * 2.0, lambda v: v - 1.0,
         lambda v: jnp.cumsum(v), lambda v: v[::-1], lambda v: jnp.sort(v)]


def step(kind, inner):
    """One operation on a length-4 vector; ``inner`` is a nested step list."""
    if kind == "scan":
        return lambda v: lax.scan(lambda c, x: (run(inner, c) + x, c.sum()), v, jnp.ones((3, 4)))[0]
    if kind == "cond":
        return lambda v: lax.cond(v.sum() > 0, lambda a: run(inner, a), lambda a: -a, v)
    if kind == "while":
        return lambda v: lax.while_loop(lambda c: c[0] < 3,
                                        lambda c: (c[0] + 1, run(inner, c[1])), (0, v))[1]
    if kind == "scope":
        def scoped(v):
            with jax.named_scope("block"):
                return run(inner, v)
        return scoped
    if kind == "jit":
        return jax.jit(lambda v: run(inner, v))
    if kind == "checkpoint":
        return jax.checkpoint(lambda v: run(inner, v))
    return UNARY[kind]


def run(steps, v):
    for s in steps:
        v = s(v)
    return v


steps = st.recursive(
    st.lists(st.integers(0, len(UNARY) - 1).map(lambda k: step(k, [])), min_size=1, max_size=4),
    lambda inner: st.lists(
        st.one_of(
            st.integers(0, len(UNARY) - 1).map(lambda k: step(k, [])),
            st.tuples(st.sampled_from(["scan", "cond", "while", "scope", "jit", "checkpoint"]),
                      inner).map(lambda t: step(*t)),
        ),
        min_size=1, max_size=5),
    max_leaves=12,
)

pytrees = st.recursive(
    st.just(jnp.ones(4)),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(st.text(min_size=1, max_size=6), inner, min_size=1, max_size=3)),
    max_leaves=6,
)


def count_equations(jaxpr):
    total = 0
    for eqn in jaxpr.eqns:
        total += 1
        for _, sub in _compat.sub_jaxprs(eqn.params):
            total += count_equations(_compat.open_jaxpr(sub)[0])
    return total


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=steps, inputs=pytrees)
def test_random_programs_build_with_every_equation_once(program, inputs):
    def fn(tree):
        total = sum(jax.tree_util.tree_leaves(tree))
        return run(program, total)

    trace = jaxviz.trace(fn, inputs)
    assert trace.errors == {}
    graph = trace.graph("jaxpr")
    drawn = [n for n in graph.nodes.values()
             if n.kind == "op" or (n.kind == "group" and n.op not in SYNTHETIC_GROUPS)]
    assert len(drawn) == count_equations(trace.jaxpr.jaxpr)
    assert len(graph.find(kind="input")) == len(jax.tree_util.tree_leaves(inputs))
    for edge in graph.edges:
        assert edge.src in graph.nodes and edge.dst in graph.nodes
    view = project(graph, expansion(graph))
    assert len(view.nodes) <= 300
    trace.layout()  # Graphviz accepts what we generate
