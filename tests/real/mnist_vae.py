"""JAX's MNIST VAE: an ELBO with a Monte-Carlo sample, the decoder's image grid, and the
module-level settings read inside.

Adapted from jax-ml/jax examples/mnist_vae.py (``gaussian_kl``, ``gaussian_sample``,
``bernoulli_logpdf``, ``elbo``, ``image_sample`` with the globals ``batch_size``,
``num_batches``, ``nrow``, ``ncol``); the stax encoder/decoder are rewritten in
jax.numpy and the data are random."""

import jax
import jax.numpy as jnp

from real import Program

step_size = 0.001
batch_size = 4
nrow, ncol = 2, 2
num_batches = 8


def gaussian_kl(mu, sigmasq):
    return -0.5 * jnp.sum(1. + jnp.log(sigmasq) - mu**2. - sigmasq)


def gaussian_sample(rng, mu, sigmasq):
    return mu + jnp.sqrt(sigmasq) * jax.random.normal(rng, mu.shape)


def bernoulli_logpdf(logits, x):
    return -jnp.sum(jnp.logaddexp(0., jnp.where(x, -1., 1.) * logits))


def encode(params, x):
    h = jnp.tanh(x @ params["enc"])
    return h[..., :4], jax.nn.softplus(h[..., 4:])


def decode(params, z):
    return z @ params["dec"]


def elbo(rng, params, images):
    mu_z, sigmasq_z = encode(params, images)
    logits_x = decode(params, gaussian_sample(rng, mu_z, sigmasq_z))
    return bernoulli_logpdf(logits_x, images) - gaussian_kl(mu_z, sigmasq_z)


def image_sample(rng, params, nrow, ncol):
    logits = decode(params, jax.random.normal(rng, (nrow * ncol, 4)))
    return jax.nn.sigmoid(logits).reshape(nrow, ncol, 16)


def run_epoch(rng, params, images):
    def body_fun(i, params):
        elbo_rng, data_rng = jax.random.split(jax.random.fold_in(rng, i))
        batch = jax.random.bernoulli(data_rng, images[:batch_size])  # expect: baked-constant
        loss = lambda params: -elbo(elbo_rng, params, batch) / batch_size  # noqa: E731
        grads = jax.grad(loss)(params)
        return jax.tree_util.tree_map(lambda p, g: p - step_size * g, params, grads)  # expect: baked-constant
    params = jax.lax.fori_loop(0, num_batches, body_fun, params)  # expect: trace-time-value
    return params, image_sample(rng, params, nrow, ncol)  # expect: baked-constant


def programs():
    keys = jax.random.split(jax.random.key(0), 3)
    params = {"enc": jax.random.normal(keys[0], (16, 8)) * 0.1,
              "dec": jax.random.normal(keys[1], (4, 16)) * 0.1}
    images = jax.random.uniform(keys[2], (8, 16))
    return [Program("mnist_vae", run_epoch, (jax.random.key(1), params, images),
                    groups=("forward", "backward"))]
