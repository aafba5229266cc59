"""Equinox with state: BatchNorm under ``vmap(axis_name="batch")`` and ``eqx.nn.State``.

Adapted from patrick-kidger/equinox examples/stateful.ipynb (Model with Linear, BatchNorm,
Linear; ``eqx.nn.make_with_state``; ``compute_loss`` vmapped with in_axes=(None, 0, None),
out_axes=(0, None); ``make_step`` with ``eqx.filter_grad(has_aux=True)`` and Optax)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from real import Program


class Model(eqx.Module):
    norm1: eqx.nn.BatchNorm
    linear1: eqx.nn.Linear
    linear2: eqx.nn.Linear

    def __init__(self, key):
        key1, key2 = jax.random.split(key)
        self.linear1 = eqx.nn.Linear(3, 8, key=key1)
        self.norm1 = eqx.nn.BatchNorm(input_size=8, axis_name="batch", mode="batch")
        self.linear2 = eqx.nn.Linear(8, 1, key=key2)

    def __call__(self, x, state):
        x = self.linear1(x)
        x, state = self.norm1(x, state)
        x = jax.nn.relu(x)
        return self.linear2(x), state


def compute_loss(model, state, xs, ys):
    batch_model = jax.vmap(model, axis_name="batch", in_axes=(0, None), out_axes=(0, None))
    pred_ys, state = batch_model(xs, state)
    return jnp.mean((pred_ys - ys) ** 2), state


optim = optax.adam(1e-2)


@eqx.filter_jit
def make_step(model, state, opt_state, xs, ys):
    grads, state = eqx.filter_grad(compute_loss, has_aux=True)(model, state, xs, ys)
    updates, opt_state = optim.update(grads, opt_state)
    return eqx.apply_updates(model, updates), state, opt_state


def programs():
    model, state = eqx.nn.make_with_state(Model)(jax.random.key(0))
    opt_state = optim.init(eqx.filter(model, eqx.is_inexact_array))
    xs, ys = jax.random.normal(jax.random.key(1), (8, 3)), jnp.zeros((8, 1))
    return [Program("equinox_stateful", make_step, (model, state, opt_state, xs, ys),
                    groups=("forward", "backward", "norm1 · eqx.nn.BatchNorm",
                            "linear1 · eqx.nn.Linear", "linear2 · eqx.nn.Linear", "optax"),
                    opens="norm1")]
