"""JAX's SPMD MNIST classifier: a data-parallel update over 8 devices with a ``psum`` of the
gradients, and the global ``step_size`` read inside.

Adapted from jax-ml/jax examples/spmd_mnist_classifier_fromscratch.py (``predict``, ``loss``,
``spmd_update`` with ``lax.psum(grads, 'batch')``), written with ``jax.shard_map`` over a
mesh of 8 CPU devices instead of ``pmap``."""

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec as P

from real import Program

step_size = 0.001


def predict(params, inputs):
    activations = inputs
    for w, b in params[:-1]:
        activations = jnp.tanh(jnp.dot(activations, w) + b)
    final_w, final_b = params[-1]
    logits = jnp.dot(activations, final_w) + final_b
    return logits - jax.nn.logsumexp(logits, axis=1, keepdims=True)


def loss(params, batch):
    inputs, targets = batch
    return -jnp.mean(jnp.sum(predict(params, inputs) * targets, axis=1))


def spmd_update(params, batch):
    grads = jax.grad(loss)(params, batch)
    grads = jax.tree_util.tree_map(lambda g: jax.lax.psum(g, "batch"), grads)
    return [(w - step_size * dw, b - step_size * db)  # expect: baked-constant
            for (w, b), (dw, db) in zip(params, grads)]


def programs():
    mesh = jax.make_mesh((8,), ("batch",))
    shard_map = getattr(jax, "shard_map", None)
    if shard_map is None:  # jax < 0.7.1
        from jax.experimental.shard_map import shard_map
    update = shard_map(spmd_update, mesh=mesh, in_specs=(P(), P("batch")), out_specs=P())
    keys = jax.random.split(jax.random.key(0), 3)
    params = [(jax.random.normal(keys[0], (6, 8)) * 0.1, jnp.zeros(8)),
              (jax.random.normal(keys[1], (8, 3)) * 0.1, jnp.zeros(3))]
    batch = (jax.random.normal(keys[2], (16, 6)), jax.nn.one_hot(jnp.arange(16) % 3, 3))
    batch = jax.device_put(batch, NamedSharding(mesh, P("batch")))  # split over the devices
    params = jax.device_put(params, NamedSharding(mesh, P()))
    return [Program("spmd_mnist", jax.jit(update), (params, batch),
                    groups=("forward", "backward"))]
