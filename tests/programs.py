"""The seed programs the tests trace: each a small, real JAX program from the learning story."""

import jax
import jax.numpy as jnp
from jax import lax

W = jax.random.normal(jax.random.key(1), (4, 2))
B = jax.random.uniform(jax.random.key(2), (2,))
X = jax.random.normal(jax.random.key(3), (4,))


def fn(W, b, x):
    return x @ W + b


def stupid_fn(x):
    y = jnp.copy(x)
    for _ in range(1000):
        x = x * x
    return y


def fori_fn(x):
    y = jnp.copy(x)
    x = lax.fori_loop(0, 1000, lambda i, x: x * x, x)
    return y


def while_fn(x):
    y = jnp.copy(x)
    x = lax.while_loop(lambda ix: ix[0] < 1000, lambda ix: (ix[0] + 1, ix[1] * ix[1]), (0, x))
    return y


def cond_fn(x):
    pred = jnp.abs(x.max() - x.min()) <= 1.0
    return lax.cond(pred, lambda x: x, lambda x: x / 2, x)


def is_even_fast(x):
    return lax.switch(x, [lambda: True, lambda: False] * 5)


def feed_forward(params, x):
    for p in params:
        x = jax.nn.tanh(p["W"] @ x + p["b"])
    return x


def make_params(dims=(8, 6, 3)):
    keys = jax.random.split(jax.random.key(0), len(dims) - 1)
    return [
        {"W": jax.random.normal(k, (out_dim, in_dim)), "b": jnp.zeros((out_dim,))}
        for k, in_dim, out_dim in zip(keys, dims[:-1], dims[1:])
    ]


def dummy_loss_fn(params, x):
    y = feed_forward(params, x)
    return y.sum(), y


# The vmap thread's model (demo 07): one input, and a batch three ways.
PW = jax.random.normal(jax.random.key(4), (3, 5))
PB = jax.random.normal(jax.random.key(5), (3,))
XS = jax.random.normal(jax.random.key(6), (10, 5))


def predict(x):
    return jnp.tanh(jnp.dot(PW, x) + PB).sum()


def predict_manual(xs):
    return jnp.tanh(jnp.einsum("ij,kj->ki", PW, xs) + PB).sum(axis=-1)


predict_vmap = jax.vmap(predict)


def predict_list(xs):
    return jnp.stack([predict(x) for x in xs])
