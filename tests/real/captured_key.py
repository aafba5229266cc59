"""A sample step that reads a module-level PRNG key, as Flax's VAE example does.

Adapted from google/flax examples/vae/train.py (``eval_f``/``generate_images``: a global
``rng`` split into ``z`` draws for sampling images from the decoder); here the global keys
are a typed ``jax.random.key`` and a raw ``jax.random.PRNGKey``."""

import jax
import jax.numpy as jnp

from real import Program

test_rng = jax.random.key(1)
legacy_rng = jax.random.PRNGKey(2)


def decode(params, z):
    return jax.nn.sigmoid(jnp.tanh(z @ params["w1"]) @ params["w2"])


def sample_images(params, count):
    z = jax.random.normal(test_rng, (count.shape[0], 4))  # expect: captured-array
    noise = jax.random.uniform(legacy_rng, (count.shape[0], 16)) * 0.01  # expect: captured-array
    return decode(params, z) + noise


def programs():
    keys = jax.random.split(jax.random.key(0), 2)
    params = {"w1": jax.random.normal(keys[0], (4, 8)), "w2": jax.random.normal(keys[1], (8, 16))}
    return [Program("captured_key", sample_images, (params, jnp.zeros(3)))]
