"""Programs the benchmarks trace: the seeds, a pure-JAX transformer block, synthetic chains."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp


@dataclass
class Workload:
    name: str
    fn: Callable
    args: tuple


def fn(W, b, x):
    return x @ W + b


def stupid_fn(x):
    y = jnp.copy(x)
    for _ in range(1000):
        x = x * x
    return y


def layer_norm(x, scale, bias):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / jnp.sqrt(var + 1e-5) * scale + bias


def block(p, x):
    """One pre-norm transformer block: causal self-attention and an MLP."""
    h = layer_norm(x, p["ln1_s"], p["ln1_b"])
    q, k, v = h @ p["wq"], h @ p["wk"], h @ p["wv"]
    t, d = q.shape
    heads = 4
    q, k, v = (a.reshape(t, heads, d // heads).transpose(1, 0, 2) for a in (q, k, v))
    scores = q @ k.transpose(0, 2, 1) / jnp.sqrt(d // heads)
    scores = jnp.where(jnp.tril(jnp.ones((t, t), bool)), scores, -1e9)
    attn = jax.nn.softmax(scores, axis=-1) @ v
    x = x + attn.transpose(1, 0, 2).reshape(t, d) @ p["wo"]
    h = layer_norm(x, p["ln2_s"], p["ln2_b"])
    return x + jax.nn.gelu(h @ p["w1"]) @ p["w2"]


def transformer(layers, x):
    for p in layers:
        x = block(p, x)
    return x


def transformer_loss(layers, x):
    return transformer(layers, x).sum()


def make_layers(n: int, d: int = 32) -> list[dict[str, Any]]:
    key = jax.random.key(0)
    shapes = {"wq": (d, d), "wk": (d, d), "wv": (d, d), "wo": (d, d), "w1": (d, 4 * d),
              "w2": (4 * d, d), "ln1_s": (d,), "ln1_b": (d,), "ln2_s": (d,), "ln2_b": (d,)}
    layers = []
    for i in range(n):
        layer = {}
        for j, (name, shape) in enumerate(sorted(shapes.items())):
            layer[name] = 0.02 * jax.random.normal(jax.random.fold_in(key, i * 100 + j), shape)
        layers.append(layer)
    return layers


def synthetic(n_ops: int) -> Callable:
    """A straight-line program of ``n_ops`` equations with no repeated block to fold.

    Each step applies a cheap elementwise op picked at random (seeded), so no run of
    equations repeats. (Transcendental ops would make XLA:CPU's compile take minutes.)
    """
    ops = [jnp.negative, jnp.abs, lambda v: v + 1.0, lambda v: v * 0.5, lambda v: v - 2.0,
           lambda v: jnp.maximum(v, 0.0), lambda v: jnp.minimum(v, 3.0), jnp.floor]

    def program(x):
        rng = random.Random(n_ops)
        for _ in range(n_ops):
            x = rng.choice(ops)(x)
        return x

    program.__name__ = f"synthetic_{n_ops}"
    return program


def seed_workloads() -> list[Workload]:
    key = jax.random.key(1)
    return [
        Workload("x @ W + b", fn, (jax.random.normal(key, (4, 2)), jnp.zeros(2), jnp.ones(4))),
        Workload("stupid_fn", stupid_fn, (jnp.array([1.1, -1.1]),)),
    ]
