"""Library-jitted functions and module arguments, traced by their own rules (real Flax,
Equinox and Optax)."""

import functools
import re

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


def scope_labels(t, view="jaxpr"):
    """The named-scope groups, without their op counts, transformations left out."""
    return [re.sub(r" · \d+ ops?$", "", g.label) for g in t.graph(view, linked=False).groups
            if g.op == "scope" and not g.label.startswith(("forward", "backward", "batched"))]


@pytest.mark.parametrize("jitted", [True, False], ids=["eqx.filter_jit", "plain"])
def test_equinox_submodules_are_groups_named_by_attribute(jitted):
    """``layers[0]`` and Equinox's own ``eqx.nn.Linear`` scope inside it are one group;
    under ``eqx.filter_jit`` the modules called are copies, rebuilt from the leaves."""
    model = eqx.nn.MLP(2, 2, 4, 2, key=jax.random.key(0))
    calls = (eqx.nn.MLP.__dict__["__call__"], eqx.nn.Linear.__dict__["__call__"])
    fn = lambda m, x: m(x)  # noqa: E731
    t = jaxviz.trace(eqx.filter_jit(fn) if jitted else fn, model, jnp.ones(2))
    assert t.errors == {}
    layers = [f"layers[{i}] · eqx.nn.Linear" for i in range(3)]
    for view in ("jaxpr", "hlo"):
        assert scope_labels(t, view) == ["eqx.nn.MLP", *layers], view
    assert (eqx.nn.MLP.__dict__["__call__"], eqx.nn.Linear.__dict__["__call__"]) == calls
    assert t.links.hlo_coverage >= 0.9


class Base(eqx.Module):
    inner: eqx.nn.Linear

    def __call__(self, x):
        made_here = eqx.nn.Linear(2, 2, key=jax.random.key(1))  # no attribute of self
        return made_here(self.inner(x))


class Child(Base):  # Base's __call__
    pass


def test_equinox_modules_not_held_by_the_caller_keep_their_class_name():
    """A module the function calls itself, or one its caller made, has no attribute path;
    a subclass's inherited ``__call__`` is patched (and restored) on the class defining it."""
    own = Base.__dict__["__call__"]
    model = Child(eqx.nn.Linear(2, 2, key=jax.random.key(0)))
    head = eqx.nn.Linear(2, 1, key=jax.random.key(2))
    t = jaxviz.trace(lambda m, head, x: head(jnp.sin(m(x))), model, head, jnp.ones(2))
    assert t.errors == {}
    assert scope_labels(t) == ["inner · eqx.nn.Linear", "eqx.nn.Linear", "eqx.nn.Linear"]
    assert Base.__dict__["__call__"] is own and "__call__" not in Child.__dict__


def test_equinox_classes_are_restored_when_tracing_fails():
    model = eqx.nn.MLP(2, 2, 4, 2, key=jax.random.key(0))
    calls = (eqx.nn.MLP.__dict__["__call__"], eqx.nn.Linear.__dict__["__call__"])

    def broken(m, x):
        return m(x) @ jnp.ones(3)  # shapes (2,) and (3,)

    t = jaxviz.trace(broken, model, jnp.ones(2))
    assert "trace" in t.errors
    assert (eqx.nn.MLP.__dict__["__call__"], eqx.nn.Linear.__dict__["__call__"]) == calls


def test_no_modules_in_the_arguments_patches_nothing():
    from jaxviz.modules import scoped_modules

    call = eqx.nn.Linear.__dict__["__call__"]
    with scoped_modules(((jnp.ones(2), {"a": 1.0}), {})):
        assert eqx.nn.Linear.__dict__["__call__"] is call
    with scoped_modules(((eqx.nn.Linear(2, 2, key=jax.random.key(0)),), {})):
        assert eqx.nn.Linear.__dict__["__call__"] is not call
    assert eqx.nn.Linear.__dict__["__call__"] is call


def test_an_attribute_and_the_class_scope_inside_it_are_one_level():
    """Keyed by both segments, as HLO op_names have them, so links still match."""
    from jaxviz.structure.names import stack_levels

    assert stack_levels(("jvp(vmap(linear1))", "eqx.nn.Linear")) == [
        ("jvp()", "forward · jvp"), ("jvp(vmap())", "batched · vmap"),
        ("jvp(vmap(linear1))/eqx.nn.Linear", "linear1 · eqx.nn.Linear")]
    assert stack_levels(("eqx.nn.MLP", "layers[0]", "eqx.nn.Linear")) == [
        ("eqx.nn.MLP", "eqx.nn.MLP"), ("layers[0]/eqx.nn.Linear", "layers[0] · eqx.nn.Linear")]
    assert stack_levels(("eqx.nn.Sequential", "eqx.nn.Linear")) == [  # no attribute path
        ("eqx.nn.Sequential", "eqx.nn.Sequential"), ("eqx.nn.Linear", "eqx.nn.Linear")]
    assert stack_levels(("jvp()", "eqx.nn.Linear"))[-1] == ("eqx.nn.Linear", "eqx.nn.Linear")
