"""How close jaxviz's jit steady-state figure is to a hand-written timeit reference.

For three workloads, jaxviz's ``Timing.jit.best`` and a reference (``timeit.repeat`` of
``jax.block_until_ready(jitted(*args))`` with the same loops and runs, after warm-up) are
measured in the same process as pairs, one pair a round, which of the two goes first
alternating. The goal (within ±10%) is checked on the ratio of the two sides' best over all
rounds: each side's best estimates the same floor, the call's cost with nothing else in the
way, and noise on a shared machine only ever adds time, so the best over rounds filters it
out, as %timeit's best does within one measurement. The table also shows the median of the
rounds' paired ratios and their range, which say how noisy the machine was: single rounds
of a dispatch-bound call of a few microseconds can disagree by tens of percent.

    python -m benchmarks.timing_accuracy        (or: python benchmarks/timing_accuracy.py)
"""

from __future__ import annotations

import statistics
import time
import timeit
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp

from jaxviz.timing import format_time, measure

ROUNDS = 9
BUDGET = 0.8
TOLERANCE = 0.10


def tiny_elementwise(x):
    return x * 2.0 + 1.0


def matmul(a, b):
    return a @ b


def stupid_fn(x):
    """The seed from the learning-JAX blog: 1000 dead multiplications XLA removes."""
    y = jnp.copy(x)
    for _ in range(1000):
        x = x * x
    return y


def workloads() -> list[tuple[str, Callable, tuple[Any, ...]]]:
    key = jax.random.key(0)
    medium = jax.random.normal(key, (256, 256))
    return [
        ("tiny elementwise f32[4]", tiny_elementwise, (jnp.arange(4.0),)),
        ("matmul f32[256,256]", matmul, (medium, medium)),
        ("stupid_fn f32[4]", stupid_fn, (jnp.arange(4.0) / 10,)),
    ]


@dataclass
class Row:
    name: str
    #: Each round's best, seconds per call.
    ours: list[float]
    theirs: list[float]

    @property
    def ratio(self) -> float:
        """jaxviz's best over all rounds / the reference's."""
        return min(self.ours) / min(self.theirs)

    @property
    def ratios(self) -> list[float]:
        """jaxviz / reference, one per round."""
        return [a / b for a, b in zip(self.ours, self.theirs)]

    @property
    def within(self) -> bool:
        return abs(self.ratio - 1.0) <= TOLERANCE


def reference_best(jitted: Callable, args: tuple[Any, ...], loops: int, runs: int) -> float:
    """Seconds per call, best of ``runs`` timeit runs of ``loops`` calls."""
    totals = timeit.repeat(lambda: jax.block_until_ready(jitted(*args)), number=loops, repeat=runs)
    return min(totals) / loops


def compare(name: str, fn: Callable, args: tuple[Any, ...]) -> Row:
    jitted = jax.jit(fn)
    jax.block_until_ready(jitted(*args))  # compile and warm up the reference
    ours, theirs = [], []
    loops, runs = 0, 0
    for i in range(ROUNDS):
        # Odd rounds time the reference first, with the loops jaxviz chose the round before.
        reference_first = i % 2 == 1
        if reference_first:
            theirs.append(reference_best(jitted, args, loops, runs))
        steady = measure(fn, args, budget=BUDGET).jit
        ours.append(steady.best)
        loops, runs = steady.loops, steady.runs
        if not reference_first:
            theirs.append(reference_best(jitted, args, loops, runs))
    return Row(name, ours, theirs)


def table(rows: list[Row]) -> str:
    header = ("workload", "jaxviz best", "reference best", "ratio", "paired median",
              "rounds' range", "within ±10%")
    cells = [header] + [
        (r.name, format_time(min(r.ours)), format_time(min(r.theirs)), f"{r.ratio:.3f}",
         f"{statistics.median(r.ratios):.3f}", f"{min(r.ratios):.2f}–{max(r.ratios):.2f}",
         "yes" if r.within else "no")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    start = time.perf_counter()
    rows = [compare(name, fn, args) for name, fn, args in workloads()]
    device = jax.devices()[0]
    print(f"jaxviz timing accuracy: jit steady-state best vs timeit reference "
          f"({device.platform}, {device.device_kind}, jax {jax.__version__}; {ROUNDS} paired rounds)")
    print(table(rows))
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
