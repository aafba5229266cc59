"""Unrolled Python loops are found, folded into one group, and only where they are."""

import os

import jax
import jax.numpy as jnp
from jax import lax

import jaxviz
import programs as P
from jaxviz.structure.loops import iterations_of
from jaxviz.structure.repeats import MIN_REPEATS, find_runs
from jaxviz.model import expansion, project
from test_jaxpr_graph import line_of


def unrolled_groups(graph):
    return [n for n in graph.groups if n.op == "unrolled"]


def test_stupid_fn_folds_into_one_group():
    g = jaxviz.trace(P.stupid_fn, jnp.array([1.1, -1.1])).graph()
    (loop,) = unrolled_groups(g)
    assert loop.label == "unrolled loop ×1000 · 1 op each"
    assert loop.source.line == line_of(P.stupid_fn, "for _ in range(1000)")
    chunks = g.children(loop.id)  # 1000 members are too many for one level: 40 chunks
    assert [c.op for c in chunks] == ["chunk"] * 40
    assert chunks[0].label == f"25 ops · line {line_of(P.stupid_fn, 'x = x * x')}"
    muls = [n for n in g.find(kind="op") if n.group and g.nodes[n.group].group == loop.id]
    assert len(muls) == 1000 and {m.op for m in muls} == {"mul"}
    assert len(g.find(kind="op")) == 1001  # folded, not dropped
    view = project(g, expansion(g))
    assert len(view.nodes) <= 10  # input, copy, the loop, output
    assert loop.id in view.nodes


def test_layers_loop_has_one_group_per_iteration():
    params = P.make_params(dims=(4,) * 7)  # six layers
    g = jaxviz.trace(P.feed_forward, params, jnp.ones(4)).graph()
    (loop,) = unrolled_groups(g)
    iterations = iterations_of(g, loop)
    assert len(iterations) == 6
    # the first stands for them all; the other five wait, alike, in one closed group
    assert [m.label for m in g.children(loop.id)] == [iterations[0].label,
                                                       "iterations 1–5 · alike"]
    # named after the layer each reads
    assert [i.label for i in iterations] == [f"iteration {k} · params[{k}]" for k in range(6)]
    ops = [m.op for m in g.children(iterations[0].id)]
    assert "dot_general" in ops and "tanh" in ops
    # each iteration reads its own layer's weights
    w = {n.label: n.id for n in g.find(kind="input")}
    dots = [next(m for m in g.children(it.id) if m.op == "dot_general") for it in iterations]
    for k, dot in enumerate(dots):
        assert any(e.src == w[f"params[{k}]['W']"] and e.dst == dot.id for e in g.edges)


def test_static_index_changing_per_iteration_is_still_one_loop():
    def f(x):
        s = 0.0
        for i in range(8):
            s = s + x[i] * 2.0
        return s

    g = jaxviz.trace(f, jnp.ones(8)).graph()
    (loop,) = unrolled_groups(g)
    assert loop.label.startswith("unrolled loop ×8 ")


def test_nested_python_loops():
    def f(x):
        for _ in range(5):
            for _ in range(6):
                x = jnp.sin(x)
            x = x * 2.0
        return x

    g = jaxviz.trace(f, jnp.ones(2)).graph()
    loops = unrolled_groups(g)
    outer = next(l for l in loops if "×5" in l.label)
    inner = [l for l in loops if "×6" in l.label]
    assert len(inner) == 5
    assert all(outer.id in g.ancestors(l.id) and g.nodes[l.group].op == "iteration"
               for l in inner)


def test_no_false_positives():
    def independent(a, b, c, d, e):
        return a * 2.0, b * 2.0, c * 2.0, d * 2.0, e * 2.0  # same line, no carried value

    def short(x):
        for _ in range(MIN_REPEATS - 1):
            x = x * x
        return x

    def look_alikes(x):
        x = x * 2.0
        x = x * 2.0
        x = x * 2.0
        x = x * 2.0
        return x

    cases = [
        (P.fori_fn, (jnp.ones(2),)),
        (P.while_fn, (jnp.ones(2),)),
        (lambda x: lax.scan(lambda c, a: (c * a, c), 1.0, x), (jnp.ones(5),)),
        (independent, tuple(jnp.ones(2) for _ in range(5))),
        (short, (jnp.ones(2),)),
        (look_alikes, (jnp.ones(2),)),
    ]
    for fn, args in cases:
        assert unrolled_groups(jaxviz.trace(fn, *args).graph()) == [], fn


def test_find_runs_is_maximal_and_handles_repeated_keys_in_a_block():
    keys = ["a", "x", "x", "y"] * 5 + ["b"]
    (run,) = find_runs(keys)
    assert (run.start, run.block, run.repeats) == (0, 4, 5)
    assert find_runs(["a", "b", "c"] * 3) == []  # below the threshold
    (run,) = find_runs(["p"] + ["m"] * 10 + ["q"])
    assert (run.start, run.block, run.repeats, run.stop) == (1, 1, 10, 11)


def test_grad_of_unrolled_loop_has_forward_and_backward_runs():
    def f(x):
        for _ in range(6):
            x = jnp.sin(x) * 1.5
        return x.sum()

    t = jaxviz.trace(jax.grad(f), jnp.ones(3))
    assert len(unrolled_groups(t.graph())) >= 2
    (finding,) = [f for f in t.findings if f.kind == "unrolled-loop"]  # one loop, one finding
    assert finding.line == line_of(f, "for _ in range(6)")
    assert "forward pass and again in its gradient" in finding.message
    assert len(finding.node_ids) == 2


def norm(x):
    return x / jnp.sqrt(jnp.mean(x * x) + 1e-6)


def block(p, x):
    return jnp.tanh(norm(x) @ p["w"]) + x


def test_layer_loop_through_helpers_points_at_the_for_line():
    def loss(params, x):
        for p in params["layers"]:
            x = block(p, x)
        return (x ** 2).sum()

    params = {"layers": [{"w": jnp.eye(3) * (i + 1)} for i in range(6)]}
    t = jaxviz.trace(jax.value_and_grad(loss, argnums=(0, 1)), params, jnp.ones((2, 3)))
    (finding,) = [f for f in t.findings if f.kind == "unrolled-loop"]
    assert (finding.filename, finding.line) == (__file__, line_of(loss, "for p in"))
    assert str(finding).startswith(f"warning: tests{os.sep}test_loops.py:{finding.line}: ")


def test_summary_says_when_the_view_is_folded():
    text = repr(jaxviz.trace(P.stupid_fn, jnp.ones(2)))
    assert "view: 4 boxes drawn, the rest inside closed groups" in text
    assert "view:" not in repr(jaxviz.trace(P.fn, P.W, P.B, P.X))


def test_iterations_alike_though_their_keys_and_rules_differ():
    """Each layer folds in its own dropout key, and each relu call carries its own
    custom_jvp rule object: the iterations are still alike, in both passes."""
    def dropout_loss(params, x, key):
        for i, p in enumerate(params):
            keep = jax.random.bernoulli(jax.random.fold_in(key, i), 0.9, x.shape)
            x = jnp.where(keep, jax.nn.relu(x @ p), 0.0)
        return x.sum()

    params = [jnp.eye(3)] * 5
    t = jaxviz.trace(jax.grad(dropout_loss), params, jnp.ones((2, 3)), jax.random.key(0))
    (finding,) = [f for f in t.findings if f.kind == "unrolled-loop"]
    assert "unrolled 5× in the forward pass and again in its gradient" in finding.message
    assert finding.line == line_of(dropout_loss, "for i, p in")


def test_a_step_per_leaf_folds_into_one_group_and_is_no_finding():
    params = {"embed": jnp.ones((5, 3)), "layers": [{"w": jnp.ones((3, 3)), "b": jnp.ones(3)}
                                                   for _ in range(3)]}

    def sgd(params, grads):
        return jax.tree_util.tree_map(lambda p, g: p - 0.01 * g, params, grads)

    t = jaxviz.trace(sgd, params, params)
    (group,) = [g for g in t.graph().groups if g.op == "parallel"]
    assert group.label == "×7 per leaf · 2 ops each"
    assert group.source.line == line_of(sgd, "tree_map")
    leaves = [m.label for m in t.graph().children(group.id)]
    assert leaves[0] == "leaf 0 · params['embed']" and "params['layers'][2]['w']" in leaves[-1]
    assert not [f for f in t.findings if f.kind == "unrolled-loop"]
    assert len(project(t.graph(), expansion(t.graph())).nodes) < 25  # one closed box
