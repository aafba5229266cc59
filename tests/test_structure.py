"""Groups that mirror the user's code: passes, JAX's wrappers, library calls (real Optax)."""

import jax
import jax.numpy as jnp
import pytest

import jaxviz
from jaxviz.model import expansion, project
from jaxviz.structure.names import library_function, scope_label


def test_transformations_read_in_user_words():
    assert scope_label("jvp()") == "forward · jvp"
    assert scope_label("transpose(jvp(loss))") == "backward · transpose(jvp(loss))"
    assert scope_label("vmap(f)") == "batched · vmap(f)"
    assert scope_label("decoder") == "decoder"


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
