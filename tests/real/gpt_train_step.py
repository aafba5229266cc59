"""A GPT-style language model's train step in plain JAX: a Python loop over the layers,
``jax.value_and_grad`` of the cross-entropy, an SGD update by ``tree_map``.

Adapted from karpathy/nanoGPT model.py (Block = attention + MLP with pre-norm, causal mask,
tied embedding) as ported to JAX in functional style: params are a dict with a list of
per-layer dicts; 4 layers of width 16."""

import jax
import jax.numpy as jnp

from real import Program


def norm(x):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / jnp.sqrt(jnp.var(x, -1, keepdims=True) + 1e-5)


def attention(p, x):
    q, k, v = x @ p["wq"], x @ p["wk"], x @ p["wv"]
    scores = q @ k.T / jnp.sqrt(q.shape[-1])
    mask = jnp.tril(jnp.ones(scores.shape, bool))
    scores = jnp.where(mask, scores, -1e9)
    return jax.nn.softmax(scores) @ v @ p["wo"]


def block(p, x):
    x = x + attention(p, norm(x))
    return x + jax.nn.gelu(norm(x) @ p["w1"]) @ p["w2"]


def loss_fn(params, tokens):
    x = params["embed"][tokens]
    for p in params["layers"]:  # expect: unrolled-loop
        x = block(p, x)
    logits = norm(x) @ params["embed"].T
    return -jnp.take_along_axis(jax.nn.log_softmax(logits), tokens[:, None], -1).mean()


def train_step(params, tokens, lr):
    loss, grads = jax.value_and_grad(loss_fn)(params, tokens)
    params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return params, loss


def init(key, vocab=32, d=16, layers=4):
    keys = iter(jax.random.split(key, 64))
    shapes = {"wq": (d, d), "wk": (d, d), "wv": (d, d), "wo": (d, d), "w1": (d, 4 * d),
              "w2": (4 * d, d)}
    layer = lambda: {n: jax.random.normal(next(keys), s) * 0.1 for n, s in shapes.items()}  # noqa: E731
    return {"embed": jax.random.normal(next(keys), (vocab, d)) * 0.1,
            "layers": [layer() for _ in range(layers)]}


def programs():
    tokens = jnp.arange(8) % 32
    return [Program("gpt_train_step", train_step, (init(jax.random.key(0)), tokens, 1e-3),
                    groups=("forward", "backward", "iteration 0 · params['layers'][0]",
                            "iteration 3 · params['layers'][3]", "×25 per leaf"),
                    opens="iteration 0 · params['layers'][0]")]
