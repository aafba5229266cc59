"""Differentially private SGD: per-example gradients by ``vmap(grad)``, clipping, Gaussian
noise from a key, the update.

Adapted from jax-ml/jax examples/differentially_private_sgd.py (``loss``, ``clipped_grad``,
``private_grad`` with ``vmap(partial(clipped_grad, ...), (None, 0, None))``, noise by
``tree_map`` over split keys); the stax model is rewritten in jax.numpy."""

from functools import partial

import jax
import jax.numpy as jnp

from real import Program


def predict(params, inputs):
    for w, b in params[:-1]:
        inputs = jnp.tanh(inputs @ w + b)
    w, b = params[-1]
    return jax.nn.log_softmax(inputs @ w + b)


def loss(params, batch):
    inputs, targets = batch
    logits = predict(params, inputs)
    return -jnp.mean(jnp.sum(logits * targets, axis=-1))


def clipped_grad(params, l2_norm_clip, single_example_batch):
    grads = jax.grad(loss)(params, single_example_batch)
    nonempty_grads, tree_def = jax.tree_util.tree_flatten(grads)
    total_grad_norm = jnp.linalg.norm(jnp.array([jnp.linalg.norm(g.ravel()) for g in nonempty_grads]))
    divisor = jnp.maximum(total_grad_norm / l2_norm_clip, 1.0)
    normalized = [g / divisor for g in nonempty_grads]
    return jax.tree_util.tree_unflatten(tree_def, normalized)


def private_grad(params, batch, rng, l2_norm_clip, noise_multiplier, batch_size):
    clipped_grads = jax.vmap(clipped_grad, (None, None, 0))(params, l2_norm_clip, batch)
    clipped_grads_flat, grads_treedef = jax.tree_util.tree_flatten(clipped_grads)
    aggregated = [g.sum(0) for g in clipped_grads_flat]
    rngs = jax.random.split(rng, len(aggregated))
    noised = [(g + l2_norm_clip * noise_multiplier * jax.random.normal(r, g.shape)) / batch_size
              for r, g in zip(rngs, aggregated)]
    return jax.tree_util.tree_unflatten(grads_treedef, noised)


def update(params, batch, rng, step_size=0.1):
    grads = private_grad(params, batch, rng, 1.0, 1.1, 4)
    return [(w - step_size * dw, b - step_size * db) for (w, b), (dw, db) in zip(params, grads)]


def programs():
    keys = jax.random.split(jax.random.key(0), 4)
    params = [(jax.random.normal(keys[0], (6, 8)) * 0.1, jnp.zeros(8)),
              (jax.random.normal(keys[1], (8, 3)) * 0.1, jnp.zeros(3))]
    batch = (jax.random.normal(keys[2], (4, 6)), jax.nn.one_hot(jnp.arange(4) % 3, 3))
    return [Program("dp_sgd", partial(update, step_size=0.05), (params, batch, keys[3]),
                    groups=("batched", "forward", "backward"))]
