"""Unrolled-loop detection on big jaxprs.  Run: ``python -m benchmarks.loops``.

For 10k, 30k and 100k equations, of a Python loop unrolled under jit (every equation in one
run) and of a straight-line program with nothing to fold (the search's worst case: every
period is tried and fails), it times what jaxviz's jaxpr builder does to find the runs: one
key per equation (primitive, params, shapes, source line) and ``find_runs``. Tracing (JAX's
own cost) and the source lines (which every node needs anyway) are not counted. Goal: well
under a second at 100k equations, growing linearly (microseconds per equation stay flat).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import jax
import jax.numpy as jnp

from benchmarks import workloads
from jaxviz import _compat, _gc
from jaxviz.structure import repeats

TARGET_S = 1.0


def unrolled(n_ops: int):
    """A Python loop of four equations a step, unrolled ``n_ops // 4`` times."""

    def program(x):
        for _ in range(n_ops // 4):
            x = jnp.sin(x) * 2.0 + 1.0 - x
        return x

    return program


def detect(eqns) -> tuple[float, int]:
    """Seconds to key the equations and find the runs, and how many equations the runs hold.

    Source lines are looked up first and not counted: the builder needs them for every node
    whether or not it looks for loops. Garbage collection is paused, as the builder pauses it.
    """
    lines = [(f.filename, f.line) if (f := _compat.user_frame(eqn)) else None for eqn in eqns]
    with _gc.paused():  # as in the builder
        start = time.perf_counter()
        keys = [repeats.equation_key(eqn, line) for eqn, line in zip(eqns, lines)]
        runs = repeats.find_runs(keys, eqns)
        seconds = time.perf_counter() - start
    return seconds, sum(run.block * run.repeats for run in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    sizes = (1_000, 3_000) if parser.parse_args(argv).quick else (10_000, 30_000, 100_000)

    print(f"jaxviz loop-detection benchmark · jax {jax.__version__} · {platform.machine()} · "
          f"{os.cpu_count()} cores")
    print(f"target: ≤ {TARGET_S:g} s at {sizes[-1]:,} equations, linear growth")
    header = f"{'program':<28}{'eqns':>9}{'folded':>9}{'detect s':>10}{'µs/eqn':>8}  check"
    print(header)
    print("-" * len(header))
    failed = False
    for name, make in (("unrolled Python loop", unrolled), ("straight line, no loop", workloads.synthetic)):
        for n in sizes:
            eqns = jax.make_jaxpr(make(n))(jnp.ones(8)).jaxpr.eqns
            seconds, folded = detect(eqns)
            check = ""
            if n == sizes[-1]:
                ok = seconds <= TARGET_S
                failed |= not ok
                check = "pass" if ok else "FAIL"
            print(f"{name:<28}{len(eqns):>9,}{folded:>9,}{seconds:>10.3f}"
                  f"{seconds / len(eqns) * 1e6:>8.1f}  {check}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
