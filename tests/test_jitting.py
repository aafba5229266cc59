"""Library-jitted functions and module arguments, traced by their own rules (real Flax,
Equinox and Optax)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxviz

eqx = pytest.importorskip("equinox", reason="Equinox does not support the oldest jax")
optax = pytest.importorskip("optax")
nnx = pytest.importorskip("flax.nnx", reason="Flax needs jax >= 0.10")
linen = pytest.importorskip("flax.linen")

X = jnp.ones((2, 3))


class Net(nnx.Module):
    def __init__(self, rngs):
        self.l1 = nnx.Linear(3, 4, rngs=rngs)
        self.bn = nnx.BatchNorm(4, rngs=rngs)

    def __call__(self, x):
        return self.bn(self.l1(x))


def nnx_step(model, optimizer, x):
    loss, grads = nnx.value_and_grad(lambda m: m(x).sum())(model)
    optimizer.update(model, grads)
    return loss


def labels(t, kind):
    return [n.label for n in t.graph("jaxpr", linked=False).find(kind=kind)]


def weights(module):
    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(nnx.state(module))]


@pytest.mark.parametrize("jitted", [True, False], ids=["nnx.jit", "plain"])
def test_nnx_step_keeps_its_state_updates_as_outputs(jitted):
    model = Net(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adamw(1e-3), wrt=nnx.Param)
    before = weights(model) + weights(optimizer)
    t = jaxviz.trace(nnx.jit(nnx_step) if jitted else nnx_step, model, optimizer, X)
    assert t.errors == {}
    inputs, outputs = labels(t, "input"), labels(t, "output")
    assert "model.l1.kernel" in inputs and "optimizer.opt_state[0].mu.l1.kernel" in inputs
    # The updated parameters, batch statistics and optimizer state come out, then the loss.
    assert {"model.l1.kernel", "model.bn.mean", "optimizer.step"} <= set(outputs)
    assert outputs[-1] == "result"
    assert not any("states[" in name for name in inputs + outputs)
    t.time(budget=0.05)
    after = weights(model) + weights(optimizer)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))  # the user's modules


def test_filter_jit_traces_arrays_and_keeps_the_rest_static():
    model = eqx.nn.MLP(2, 2, 4, 2, key=jax.random.key(0))

    @eqx.filter_jit
    def make_step(model, x):
        return eqx.filter_grad(lambda m: m(x).sum())(model)

    t = jaxviz.trace(make_step, model, jnp.ones(2))
    assert t.errors == {} and t.fn_name == "make_step"
    assert len(t.jaxpr.jaxpr.eqns) > 1  # the function itself, not Equinox's jit around it
    assert labels(t, "input")[:2] == ["model.layers[0].weight", "model.layers[0].bias"]
    assert [leaf.path for leaf in t.static_inputs] == ["model.activation",
                                                       "model.final_activation"]
    assert t.static_inputs[0].value == "relu"
    assert t.time(budget=0.05).jit.best > 0


def test_equinox_module_as_an_argument_and_as_the_function():
    model = eqx.nn.MLP(2, 2, 4, 2, key=jax.random.key(0))
    for fn, args, root in [(lambda m, x: m(x), (model, jnp.ones(2)), "m"),
                           (model, (jnp.ones(2),), "self"),
                           (model.__call__, (jnp.ones(2),), "self")]:
        t = jaxviz.trace(fn, *args)
        assert t.errors == {}
        assert labels(t, "input")[0] == f"{root}.layers[0].weight"  # an input, not a constant
        assert not labels(t, "const")
        assert not any(f.kind == "trace-error" for f in t.findings)


def test_stateful_batchnorm_string_axis_name_is_static():
    model, state = eqx.nn.make_with_state(eqx.nn.BatchNorm)(3, axis_name="batch", mode="batch")

    def forward(model, state, x):
        return jax.vmap(model, axis_name="batch", in_axes=(0, None), out_axes=(0, None))(x, state)

    t = jaxviz.trace(forward, model, state, jnp.ones((4, 3)))
    assert t.errors == {}
    assert any(leaf.path == "model.axis_name" and leaf.value == "'batch'"
               for leaf in t.static_inputs)


def test_partial_bound_method_and_linen_apply():
    t = jaxviz.trace(functools.partial(lambda a, x: a * x, 2.0), jnp.ones(2))
    assert t.errors == {}

    class Block(linen.Module):
        @linen.compact
        def __call__(self, x, train):
            x = linen.BatchNorm(use_running_average=not train)(linen.Dense(3)(x))
            return linen.Dropout(0.5, deterministic=not train)(x)

    block = Block()
    variables = block.init({"params": jax.random.key(0)}, X, False)
    t = jaxviz.trace(block.apply, variables, X, True, rngs={"dropout": jax.random.key(1)},
                     mutable=["batch_stats"])
    assert t.errors == {} and t.fn_name == "apply"
    assert {(leaf.path, leaf.value) for leaf in t.static_inputs} == {
        ("args[1]", "True"), ("mutable[0]", "'batch_stats'")}
    assert "variables['params']['Dense_0']['kernel']" in labels(t, "input")


class Stack(nnx.Module):
    def __init__(self, rngs):
        self.l1 = nnx.Linear(3, 4, rngs=rngs)
        self.blocks = nnx.List([nnx.Linear(4, 4, rngs=rngs) for _ in range(2)])

    def __call__(self, x):
        x = jax.nn.relu(self.l1(x))
        for block in self.blocks:
            x = block(x)
        return x


@pytest.mark.parametrize("jitted", [True, False], ids=["nnx.jit", "plain"])
def test_nnx_submodules_are_groups_named_by_attribute(jitted):
    model = Stack(nnx.Rngs(0))
    calls = (Stack.__dict__["__call__"], nnx.Linear.__dict__["__call__"])
    fn = lambda m, x: m(x)  # noqa: E731
    t = jaxviz.trace(nnx.jit(fn) if jitted else fn, model, X)
    scopes = [g.label for g in t.graph().groups if g.op == "scope"]
    assert scopes == ["l1 · 3 ops", "blocks[0] · 3 ops", "blocks[1] · 3 ops"]
    assert (Stack.__dict__["__call__"], nnx.Linear.__dict__["__call__"]) == calls  # restored
    assert t.links.hlo_coverage >= 0.9
