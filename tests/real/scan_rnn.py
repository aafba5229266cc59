"""Equinox's RNN: a GRU cell driven by ``lax.scan``, a linear head, an Optax step.

Adapted from patrick-kidger/equinox examples/train_rnn.ipynb (class RNN with
``eqx.nn.GRUCell``, ``lax.scan`` over the sequence, ``jax.nn.sigmoid`` of a Linear head,
binary cross-entropy, ``make_step`` with ``eqx.filter_value_and_grad``)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from real import Program


class RNN(eqx.Module):
    hidden_size: int
    cell: eqx.Module
    linear: eqx.nn.Linear
    bias: jax.Array

    def __init__(self, in_size, out_size, hidden_size, *, key):
        ckey, lkey = jax.random.split(key)
        self.hidden_size = hidden_size
        self.cell = eqx.nn.GRUCell(in_size, hidden_size, key=ckey)
        self.linear = eqx.nn.Linear(hidden_size, out_size, use_bias=False, key=lkey)
        self.bias = jnp.zeros(out_size)

    def __call__(self, input):
        hidden = jnp.zeros((self.hidden_size,))

        def f(carry, inp):
            return self.cell(inp, carry), None

        out, _ = jax.lax.scan(f, hidden, input)
        return jax.nn.sigmoid(self.linear(out) + self.bias)


optim = optax.adam(3e-3)


@eqx.filter_value_and_grad
def compute_loss(model, x, y):
    pred_y = jax.vmap(model)(x)
    return -jnp.mean(y * jnp.log(pred_y) + (1 - y) * jnp.log(1 - pred_y))


@eqx.filter_jit
def make_step(model, x, y, opt_state):
    loss, grads = compute_loss(model, x, y)
    updates, opt_state = optim.update(grads, opt_state)
    return loss, eqx.apply_updates(model, updates), opt_state


def programs():
    model = RNN(2, 1, 8, key=jax.random.key(0))
    opt_state = optim.init(eqx.filter(model, eqx.is_inexact_array))
    x, y = jax.random.normal(jax.random.key(1), (4, 6, 2)), jnp.ones((4, 1))
    return [Program("scan_rnn", make_step, (model, x, y, opt_state),
                    groups=("forward", "backward", "cell · eqx.nn.GRUCell",
                            "linear · eqx.nn.Linear", "optax"))]
