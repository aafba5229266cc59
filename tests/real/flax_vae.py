"""Flax Linen VAE: encoder, reparameterization with a key, decoder, ELBO, an Adam step.

Adapted from google/flax examples/vae/models.py (Encoder, Decoder, VAE, reparameterize) and
train.py (binary cross-entropy with logits, KL divergence, train_step). 64 pixels, 8
latents."""

import jax
import jax.numpy as jnp
import flax.linen as nn
import optax

from real import Program


class Encoder(nn.Module):
    latents: int

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(32, name="fc1")(x))
        return nn.Dense(self.latents, name="fc2_mean")(x), nn.Dense(self.latents, name="fc2_logvar")(x)


class Decoder(nn.Module):
    @nn.compact
    def __call__(self, z):
        z = nn.relu(nn.Dense(32, name="fc1")(z))
        return nn.Dense(64, name="fc2")(z)


def reparameterize(rng, mean, logvar):
    std = jnp.exp(0.5 * logvar)
    return mean + std * jax.random.normal(rng, logvar.shape)


class VAE(nn.Module):
    latents: int = 8

    def setup(self):
        self.encoder = Encoder(self.latents)
        self.decoder = Decoder()

    def __call__(self, x, z_rng):
        mean, logvar = self.encoder(x)
        z = reparameterize(z_rng, mean, logvar)
        return self.decoder(z), mean, logvar


model = VAE()
tx = optax.adam(1e-3)


def binary_cross_entropy_with_logits(logits, labels):
    logits = nn.log_sigmoid(logits)
    return -jnp.sum(labels * logits + (1.0 - labels) * jnp.log(-jnp.expm1(logits)))


def kl_divergence(mean, logvar):
    return -0.5 * jnp.sum(1 + logvar - jnp.square(mean) - jnp.exp(logvar))


def train_step(params, opt_state, batch, z_rng):
    def loss_fn(params):
        recon_x, mean, logvar = model.apply({"params": params}, batch, z_rng)
        bce = binary_cross_entropy_with_logits(recon_x, batch).mean()
        return bce + kl_divergence(mean, logvar).mean()

    grads = jax.grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def programs():
    batch = jax.random.uniform(jax.random.key(0), (4, 64))
    params = model.init(jax.random.key(1), batch, jax.random.key(2))["params"]
    return [Program("flax_vae", train_step, (params, tx.init(params), batch, jax.random.key(3)),
                    groups=("forward", "backward", "VAE", "encoder", "decoder", "optax"),
                    opens="encoder")]
