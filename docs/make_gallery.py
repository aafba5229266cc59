"""Regenerate the README's pictures with jaxviz itself: ``python docs/make_gallery.py``.

Each picture is a program from one of the demo notebooks (named in its entry), traced and
exported by jaxviz exactly as a user would: ``jaxviz.trace(fn, *args).export(path)``.
Pictures are written to ``docs/images/gallery/`` (the README's first picture, the grad of
an MLP, to ``docs/images/``); each should stay well under 150 KB. Then a real model's jaxpr
and HLO side by side (``model_gallery.py``).
"""

from __future__ import annotations

import jax

# The sharding picture needs 8 devices: emulate them on the CPU before JAX starts its backend.
jax.config.update("jax_platforms", "cpu")
jax.config.update("jax_num_cpu_devices", 8)

from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402
from jax.sharding import NamedSharding, PartitionSpec as P  # noqa: E402

import jaxviz  # noqa: E402
import model_gallery  # noqa: E402  (beside this script)

OUT = Path(__file__).resolve().parent / "images" / "gallery"
#: Warn about pictures bigger than this: the README should stay light.
MAX_BYTES = 150_000


# -- 02_what_xla_does ------------------------------------------------------------------------

def stupid_fn(x):
    y = jnp.copy(x)
    for _ in range(1000):
        x = x * x
    return y


def less_stupid_while(x):
    y = jnp.copy(x)
    x = lax.while_loop(lambda ix: ix[0] < 1000, lambda ix: (ix[0] + 1, ix[1] * ix[1]), (0, x))
    return y


# -- 05_control_flow -------------------------------------------------------------------------

def capped_sum(xs, cap=10.0):
    def step(total, x):
        total = lax.cond(total + x <= cap, lambda: total + x, lambda: total)
        return total, total
    return lax.scan(step, 0.0, xs)


# -- 06_pytrees_and_grad ---------------------------------------------------------------------

def f(x):
    return 2 * x**3


def mlp_loss(params, x):
    for p in params:
        x = jnp.tanh(p["W"] @ x + p["b"])
    return x.sum()


# -- 07_vmap ---------------------------------------------------------------------------------

_rng = np.random.default_rng(0)
W = jnp.asarray(_rng.normal(size=(3, 5)), dtype=jnp.float32)
b = jnp.asarray(_rng.normal(size=3), dtype=jnp.float32)


def predict(x):
    return jnp.tanh(jnp.dot(W, x) + b).sum()


# -- 08_sharding -----------------------------------------------------------------------------

def sharded_loss():
    """The shard_map loss of 08_sharding and its sharded arguments."""
    mesh = jax.make_mesh((8,), ("data",))
    x = jax.device_put(jnp.arange(32.0).reshape(8, 4), NamedSharding(mesh, P("data")))
    w = jax.device_put(jnp.ones((4, 3)), NamedSharding(mesh, P()))

    @partial(jax.shard_map, mesh=mesh, in_specs=(P(), P("data")), out_specs=P())
    def loss_sm(W, x):
        local = jnp.tanh(x @ W).sum()
        return jax.lax.psum(local, "data")

    return loss_sm, (w, x)


def pictures():
    """(file name, function, arguments, export options) for every picture of the gallery."""
    x2 = jnp.array([1.1, -1.1])
    xs = jnp.asarray(_rng.normal(size=(10, 5)), dtype=jnp.float32)
    loss_sm, sharded_args = sharded_loss()
    params = [{"W": jnp.ones((6, 8)), "b": jnp.zeros(6)}, {"W": jnp.ones((3, 6)), "b": jnp.zeros(3)}]
    return [
        ("../mlp_grad.png", jax.grad(mlp_loss), (params, jnp.ones(8)), {}),
        ("unrolled_loop.png", stupid_fn, (x2,), {"expand": "none"}),
        ("while_loop.png", less_stupid_while, (x2,), {}),
        ("scan_cond.png", capped_sum, (jnp.arange(6.0),), {}),
        ("grad_of_grad.png", jax.grad(jax.grad(f)), (1.0,), {}),
        ("vmap.png", jax.vmap(predict), (xs,), {}),
        ("shard_map.png", loss_sm, sharded_args, {}),
    ]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, fn, args, options in pictures():
        path = jaxviz.trace(fn, *args).export(OUT / name, **options)
        size = path.stat().st_size
        note = "  <- over the gallery's size limit" if size > MAX_BYTES else ""
        print(f"{path.resolve().relative_to(OUT.parent.parent.parent)}  {size / 1000:.0f} KB{note}")
    model_gallery.make_pictures()


if __name__ == "__main__":
    main()
