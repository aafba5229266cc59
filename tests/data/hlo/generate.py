"""Write the jax-generated HLO samples in this folder (README.md lists them).

    python tests/data/hlo/generate.py            # write <program>.jax<version>.hlo for each program
    python tests/data/hlo/generate.py sharded    # print one program's HLO to stdout instead

tests/test_hlo_parse.py checks that the source lines in the samples point at the lines
of this file, so regenerate the samples after editing it.
"""

import os
import sys

# Eight host devices for the sharded program; jax reads this when it is imported.
os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402


def matmul_bias(x, w, b):
    y = x @ w  # marker: dot
    return jnp.tanh(y + b)  # marker: tanh


def scan_loop(xs):
    def body(carry, x):
        carry = carry + jnp.sin(x)  # marker: body sin
        return carry, carry * 2.0

    return lax.scan(body, 0.0, xs)


def cond_switch(p, i, x):
    y = lax.cond(p, lambda v: v + 1.0, lambda v: v * 2.0, x)
    return lax.switch(i, [jnp.sin, jnp.cos, jnp.tanh], y)  # marker: switch


def gather_scatter(x, idx):
    return x[idx].sum() + x.at[idx].add(1.0)


def _sharded_body(a, w):
    s = jnp.sin(a) @ w  # marker: shard sin
    total = lax.psum(s, "y")  # marker: psum
    gathered = lax.all_gather(total, "x", tiled=True)
    return lax.ppermute(gathered, "y", perm=[(0, 1), (1, 2), (2, 3), (3, 0)])


def sharded(a, w):
    mesh = _mesh()
    shard_map = getattr(jax, "shard_map", None)
    if shard_map is None:  # jax < 0.7.1
        from jax.experimental.shard_map import shard_map
    body = shard_map(_sharded_body, mesh=mesh, in_specs=(P("x", "y"), P("y", None)), out_specs=P("x", "y"))
    return body(a, w).sum(axis=0)


def _mesh():
    return jax.make_mesh((2, 4), ("x", "y"))


def _sharded_args():
    mesh = _mesh()
    a = jax.device_put(jnp.ones((8, 16)), NamedSharding(mesh, P("x", "y")))
    w = jax.device_put(jnp.ones((16, 4)), NamedSharding(mesh, P("y", None)))
    return a, w


PROGRAMS = {
    "matmul_bias": (matmul_bias, lambda: (jnp.ones((2, 3)), jnp.ones((3, 4)), jnp.ones(4))),
    "scan_loop": (scan_loop, lambda: (jnp.ones(5),)),
    "cond_switch": (cond_switch, lambda: (True, 1, jnp.ones(3))),
    "gather_scatter": (gather_scatter, lambda: (jnp.ones(6), jnp.array([0, 2, 4]))),
    "sharded": (sharded, _sharded_args),
}


def hlo_text(name):
    fn, make_args = PROGRAMS[name]
    return jax.jit(fn).trace(*make_args()).lower().compile().as_text()


def main(argv):
    if argv:
        sys.stdout.write(hlo_text(argv[0]))
        return
    folder = os.path.dirname(os.path.abspath(__file__))
    for name in PROGRAMS:
        with open(os.path.join(folder, f"{name}.jax{jax.__version__}.hlo"), "w") as out:
            out.write(hlo_text(name))


if __name__ == "__main__":
    main(sys.argv[1:])
