"""Groups that mirror the user's code: passes, JAX's wrappers, library calls (real Optax)."""

import jax
import jax.numpy as jnp
import pytest

import jaxviz
from jaxviz.model import expansion, project
from jaxviz.structure.names import library_function, scope_label, scope_levels, within_passes


def test_transformations_read_in_user_words():
    assert scope_label("jvp()") == "forward · jvp"
    assert scope_label("transpose(jvp(loss))") == "backward · transpose(jvp(loss))"
    assert scope_label("vmap(f)") == "batched · vmap(f)"
    assert scope_label("decoder") == "decoder"


def test_scopes_hoisted_out_of_a_pass_stay_in_it():
    """JAX hoists a scan's loop invariants out under the module's scopes alone."""
    stacks = [("jvp(vmap())",), ("cell", "eqx.nn.GRUCell"), ("jvp(vmap(linear))", "eqx.nn.Linear"),
              ("jvp()",), ("cell",), ("transpose(jvp())",), (), ("opt",), ("model", "jvp(f)")]
    assert within_passes(stacks) == [
        ("jvp(vmap())",), ("jvp(vmap(cell))", "eqx.nn.GRUCell"),
        ("jvp(vmap(linear))", "eqx.nn.Linear"), ("jvp()",), ("cell",),  # between two passes
        ("transpose(jvp())",), (), ("opt",), ("model", "jvp(f)")]


def test_an_rnns_forward_pass_is_one_group():
    forward = [n for n in _real("scan_rnn").graph("jaxpr", linked=False).children(None)
               if n.label.startswith("forward")]
    assert len(forward) == 1


def test_a_transformation_around_a_module_is_two_groups():
    """JAX writes ``jvp(conv1)`` for the module conv1 inside the forward pass, and ``jvp()``
    for the pass itself: one pass with the module in it, not two passes."""
    assert scope_levels("jvp(conv1)") == [("jvp()", "forward · jvp"), ("jvp(conv1)", "conv1")]
    assert scope_levels("transpose(jvp(vmap(eqx.nn.Linear)))") == [
        ("transpose(jvp())", "backward · transpose(jvp)"),
        ("transpose(jvp(vmap()))", "batched · vmap"),
        ("transpose(jvp(vmap(eqx.nn.Linear)))", "eqx.nn.Linear")]
    assert scope_levels("vmap(jvp())") == [("vmap()", "batched · vmap"),
                                           ("vmap(jvp())", "forward · jvp")]
    assert scope_levels("decoder") == [("decoder", "decoder")]
    assert scope_levels("vmap(f)(g)") == [("vmap(f)(g)", "vmap(f)(g)")]

    def net(x):
        with jax.named_scope("conv1"):
            x = jnp.sin(x) * 2
        x = jnp.tanh(x)
        with jax.named_scope("conv2"):
            x = jnp.cos(x) * 3
        return x.sum()

    g = jaxviz.trace(jax.grad(net), jnp.ones(3)).graph("jaxpr", linked=False)
    passes = [n for n in g.children(None) if n.op == "scope"]
    assert [p.label.split(" · ")[0] for p in passes] == ["forward", "backward"]
    assert [m.label.split(" · ")[0] for m in g.children(passes[0].id)
            if m.op == "scope"] == ["conv1", "conv2"]


def test_jax_wrappers_are_one_closed_box_named_as_called():
    t = jaxviz.trace(lambda x: jnp.var(x) + jax.nn.log_softmax(x).sum(), jnp.ones(3))
    wrappers = {g.label.split(" · ")[0]: g for g in t.graph().groups if g.op == "jit"}
    assert {"jnp.var", "jax.nn.log_softmax"} <= set(wrappers)
    assert not any(g.opens_by_default for g in wrappers.values())
    assert library_function("helper", __file__) is None  # the user's own jit keeps its name


def test_an_optimizer_update_is_one_group_at_the_line_that_called_it():
    optax = pytest.importorskip("optax")
    params = {"w": [jnp.ones((3, 3)) for _ in range(6)], "b": jnp.ones(3)}
    tx = optax.adamw(1e-3)
    state = tx.init(params)

    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    t = jaxviz.trace(step, params, state, params)
    g = t.graph()
    (update,) = [n for n in g.groups if n.op == "library"
                 and "tx.update(grads, state, params)" in n.label]
    assert update.label.startswith("optax · ") and update.group is None
    assert update.source.line == step.__code__.co_firstlineno + 1
    assert g.leaf_counts[update.id] > 50
    # the top level is the update, not its hundreds of ops
    assert len([n for n in g.children(None) if n.kind == "op"]) < 20
    assert len(project(g, expansion(g)).nodes) < 60


def _real(name):
    real = pytest.importorskip("real")
    pytest.importorskip("flax", reason="the corpus needs jax >= 0.10")
    program = next(p for module, n, _ in real.CORPUS if n == name
                   for p in real.load(module) if p.name == name)
    return jaxviz.trace(program.fn, *program.args, **program.kwargs)


def _tree(graph, group=None):
    """(label head, children) of every structure group, as nested lists."""
    return [(n.label.split(" · ")[0] if n.op == "scope" else n.label, _tree(graph, n.id))
            for n in graph.children(group)
            if n.kind == "group" and n.op in ("scope", "unrolled", "alike", "iteration")]


def test_the_hlo_view_has_the_jaxpr_views_structure():
    """A GPT-style train step: forward layers 0-3, backward layers 3-0, in both views; XLA's
    flat ENTRY computation takes the structure through the links."""
    t = _real("gpt_train_step")
    for view in ("jaxpr", "hlo"):
        tree = _tree(t.graph(view, linked=False))
        (forward, forward_loop), (backward, backward_loop) = \
            [(head, children[0]) for head, children in tree]
        assert (forward, backward) == ("forward", "backward"), view
        for loop, layers in ((forward_loop, [0, 1, 2, 3]), (backward_loop, [3, 2, 1, 0])):
            assert loop[0].startswith("unrolled loop ×4"), view
            first, (alike, rest) = loop[1]
            assert first[0] == f"iteration 0 · params['layers'][{layers[0]}]", view
            assert alike == "iterations 1–3 · alike"
            assert [label for label, _ in rest] == [
                f"iteration {i} · params['layers'][{layer}]" for i, layer in
                zip((1, 2, 3), layers[1:])], view


def test_each_hlo_box_sits_in_the_group_of_what_it_computes():
    """An ENTRY instruction inside a copy of a jaxpr group links to equations of that group
    (a fusion by what it hands on); each copy links to the group it mirrors, both ways."""
    t = _real("gpt_train_step")
    jaxpr, hlo = t.graph("jaxpr", linked=False), t.graph("hlo", linked=False)
    copies = {n.id: n.params["mirrors"] for n in hlo.groups if "mirrors" in n.params}
    assert len(copies) >= 12
    for copy, group in copies.items():
        assert hlo.nodes[copy].links == [group] and copy in jaxpr.nodes[group].links
        assert hlo.nodes[copy].label.split(" · ")[0] == jaxpr.nodes[group].label.split(" · ")[0]
    placed = 0
    for node in hlo.nodes.values():
        if node.kind != "op" or any(hlo.nodes[g].op == "fusion" for g in hlo.ancestors(node.id)):
            continue  # (a fusion goes by its results: XLA copies producers into it)
        inner = next((copies[g] for g in hlo.ancestors(node.id) if g in copies), None)
        for link in node.links:
            if inner is not None and jaxpr.nodes[link].kind == "op":
                assert inner in jaxpr.ancestors(link), (node.label, jaxpr.nodes[link].label)
                placed += 1
    assert placed >= 20
    assert not [n for n in hlo.children(None) if n.op == "chunk"]


def test_the_copies_xla_makes_of_a_loops_initial_state_go_with_the_loop():
    """They link to no equation and are read inside the loop's body and condition only."""
    def noisy(x, key):
        def body(i, carry):
            value, key = carry
            return value * 2.0 + jax.random.normal(key, value.shape), jax.random.split(key)[0]

        with jax.named_scope("noise"):
            y = jax.lax.fori_loop(0, 5, body, (x, key))[0]
        return y.sum()

    hlo = jaxviz.trace(noisy, jnp.ones(3), jax.random.key(0)).graph("hlo")
    top = [n for n in hlo.children(None) if n.kind not in ("input", "output")]
    assert [n.op for n in top][0] == "scope" and len(top) == 2, [n.label for n in top]
    assert top[1].op in ("fusion", "reduce")  # the sum (older XLA leaves it unfused)
    scope = top[0]
    inside = [n for n in hlo.nodes.values() if scope.id in hlo.ancestors(n.id)]
    assert sum(n.op == "copy" for n in inside if hlo.nodes[n.group].op != "part") >= 2


def test_a_module_trains_with_its_submodules_named_in_both_views():
    """Flax NNX: the forward pass holds conv1, conv2, linear1, linear2 in order, the backward
    pass the same in reverse, in both views."""
    t = _real("nnx_mnist")
    for view in ("jaxpr", "hlo"):
        tree = dict(_tree(t.graph(view, linked=False)))
        assert [m for m, _ in tree["forward"]] == ["conv1", "conv2", "linear1", "linear2"], view
        assert [m for m, _ in tree["backward"]] == ["linear2", "linear1", "conv2", "conv1"], view


def test_an_update_through_two_libraries_is_one_group_in_both_views():
    """``nnx.Optimizer.update`` runs Optax's Adam: one group at the user's line, named after
    both libraries; XLA's fusions of it land there too, not at the top of the HLO view."""
    t = _real("nnx_mnist")
    for view in ("jaxpr", "hlo"):
        g = t.graph(view, linked=False)
        (update,) = [n for n in g.children(None) if n.op == "library"
                     and "optimizer.update(model, grads)" in n.label]
        assert update.label.startswith(("optax, flax · ", "flax, optax · ")), view
        loose = [n for n in g.children(None) if n.kind == "op" or n.op == "fusion"]
        assert len(loose) <= 4, (view, [n.label for n in loose])


def test_random_bits_are_one_closed_group_named_as_such_in_both_views():
    """A draw is JAX's wrappers around a few equations, and XLA's loops of threefry rounds:
    one closed box each, the outermost named ``random bits``, in both views."""
    def noisy(x, key):
        with jax.named_scope("noise"):
            key = jax.random.fold_in(key, 3)
            return x + jax.random.normal(key, x.shape)

    t = jaxviz.trace(noisy, jnp.ones(4), jax.random.key(0))
    for view in ("jaxpr", "hlo"):
        g = t.graph(view, linked=False)
        (draw,) = [n for n in g.groups if n.label.startswith("random bits · jax.random.normal")]
        assert not draw.opens_by_default and g.nodes[draw.group].label.startswith("noise"), view
        inner = [n for n in g.groups if draw.id in g.ancestors(n.id) and "random" in n.label]
        assert inner and not any(n.label.startswith("random bits") for n in inner), view
    hlo = t.graph("hlo", linked=False)
    folds = [n for n in hlo.groups if n.label.startswith("random bits · random_fold_in")]
    assert folds or jax.default_backend() != "cpu"  # XLA:CPU loops over threefry rounds
    assert all(not n.opens_by_default for n in folds)
    assert expansion(hlo).isdisjoint(n.id for n in folds)
