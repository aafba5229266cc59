"""Regenerate the README's pictures with jaxviz itself: ``python docs/make_images.py``."""

from pathlib import Path

import jax
import jax.numpy as jnp
from jax import lax

import jaxviz

HERE = Path(__file__).parent / "images"


def fn(W, b, x):
    return x @ W + b


def mlp_loss(params, x):
    for p in params:
        x = jnp.tanh(p["W"] @ x + p["b"])
    return x.sum()


def less_stupid_fn(x):
    y = jnp.copy(x)
    x = lax.fori_loop(0, 1000, lambda i, x: x * x, x)
    return y


def main() -> None:
    HERE.mkdir(exist_ok=True)
    key = jax.random.key(0)
    W, b, x = jax.random.normal(key, (4, 2)), jnp.zeros(2), jnp.ones(4)
    jaxviz.trace(fn, W, b, x).export(HERE / "fn.png")
    params = [{"W": jnp.ones((6, 8)), "b": jnp.zeros(6)}, {"W": jnp.ones((3, 6)), "b": jnp.zeros(3)}]
    jaxviz.trace(jax.grad(mlp_loss), params, jnp.ones(8)).export(HERE / "mlp_grad.png")
    jaxviz.trace(less_stupid_fn, jnp.array([1.1, -1.1])).export(HERE / "fori_loop.png")


if __name__ == "__main__":
    main()
