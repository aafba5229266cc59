"""Equinox: an MLP trained by an ``eqx.filter_jit`` step with Optax, and a module given to a
plain function.

Adapted from patrick-kidger/equinox examples/mnist.ipynb (``make_step`` with
``eqx.filter_value_and_grad``, ``optax.adamw``, ``eqx.filter`` of the arrays for the
optimizer state) with the CNN swapped for ``eqx.nn.MLP``."""

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from real import Program

optim = optax.adamw(1e-3)


def loss(model, x, y):
    pred = jax.vmap(model)(x)
    return jnp.mean((pred - y) ** 2)


@eqx.filter_jit
def make_step(model, opt_state, x, y):
    loss_value, grads = eqx.filter_value_and_grad(loss)(model, x, y)
    updates, opt_state = optim.update(grads, opt_state, eqx.filter(model, eqx.is_array))
    model = eqx.apply_updates(model, updates)
    return model, opt_state, loss_value


def programs():
    model = eqx.nn.MLP(4, 2, 16, 2, key=jax.random.key(0))
    opt_state = optim.init(eqx.filter(model, eqx.is_inexact_array))
    x, y = jnp.ones((8, 4)), jnp.zeros((8, 2))
    return [Program("equinox_filter_jit", make_step, (model, opt_state, x, y),
                    groups=("forward", "backward", "eqx.nn.MLP", "layers[0] · eqx.nn.Linear",
                            "layers[1] · eqx.nn.Linear", "layers[2] · eqx.nn.Linear", "optax"),
                    opens="eqx.nn.MLP"),
            Program("equinox_module_argument", lambda m, x: jax.vmap(m)(x), (model, x),
                    groups=("batched", "eqx.nn.MLP", "layers[0] · eqx.nn.Linear",
                            "layers[1] · eqx.nn.Linear", "layers[2] · eqx.nn.Linear"),
                    opens="eqx.nn.MLP")]
