"""A DDPM sampler: a small time-conditioned denoiser and the reverse process, as a Python
loop over the timesteps and as ``lax.fori_loop``.

Adapted from the reverse process (Algorithm 2) of hojonathanho/diffusion (DDPM) as written
in JAX tutorials: linear beta schedule, sinusoidal time embedding, ``x_{t-1} = (x_t - beta_t
/ sqrt(1 - alpha_bar_t) * eps) / sqrt(alpha_t) + sigma_t z``. Eight steps, 2-d data."""

import jax
import jax.numpy as jnp

from real import Program

T = 8
betas = jnp.linspace(1e-4, 0.02, T)
alphas = 1.0 - betas
alpha_bars = jnp.cumprod(alphas)


def time_embedding(t, dim=8):
    freqs = jnp.exp(-jnp.arange(dim // 2) * jnp.log(10000.0) / (dim // 2))
    angles = t * freqs
    return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)])


def denoiser(params, x, t):
    h = jnp.concatenate([x, jnp.broadcast_to(time_embedding(t), (x.shape[0], 8))], -1)
    h = jax.nn.silu(h @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def step(params, x, t, key):
    eps = denoiser(params, x, t)
    mean = (x - betas[t] / jnp.sqrt(1 - alpha_bars[t]) * eps) / jnp.sqrt(alphas[t])
    return mean + jnp.sqrt(betas[t]) * jax.random.normal(key, x.shape)


def sample(params, x, key):
    for t in reversed(range(T)):  # expect: unrolled-loop
        x = step(params, x, t, jax.random.fold_in(key, t))
    return x


def sample_fori(params, x, key):
    def body(i, x):
        t = T - 1 - i
        return step(params, x, t, jax.random.fold_in(key, t))
    return jax.lax.fori_loop(0, T, body, x)


def programs():
    keys = jax.random.split(jax.random.key(0), 3)
    params = {"w1": jax.random.normal(keys[0], (10, 16)) * 0.1, "b1": jnp.zeros(16),
              "w2": jax.random.normal(keys[1], (16, 2)) * 0.1, "b2": jnp.zeros(2)}
    x = jax.random.normal(keys[2], (4, 2))
    return [Program("diffusion_python_loop", sample, (params, x, jax.random.key(1)),
                    expects=("unrolled-loop",), groups=("unrolled loop ×8", "iteration 7"),
                    opens="iteration 0"),
            Program("diffusion_fori_loop", sample_fori, (params, x, jax.random.key(1)),
                    expects=())]
