"""Profile benchmark: is ``Trace.profile``'s split of a call right?  Run:
``python -m benchmarks.profile``.

Each program is a few independent steps, one per line, all returned (so XLA fuses nothing
across steps). Each step's share of the profile (its line's seconds over all attributed) is
set against its share when each step is jitted and timed alone (best of several runs): for
every step above 10% of the call, the two should agree within ±30%. Shares, not seconds: in
the whole program XLA:CPU runs independent steps at once on the cores, so each takes longer
than alone. The table also gives the coverage (what the ops account for) and the profiler's
overhead: profiled calls against unprofiled ones, and the wall time of profiling.
Figures are measured side by side in one run; the machine may be shared and noisy.
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax

import jaxviz
from jaxviz.timing import run_calls

SHARE = 0.10        # steps above this share of the call are checked
AGREEMENT = 0.30    # profiled / alone within 1 ± this
ALONE_RUNS = 7


@dataclass
class Program:
    name: str
    steps: list[tuple[str, Callable]]
    args: tuple

    def fn(self, *args):
        return tuple(step(*args) for _, step in self.steps)


def programs() -> list[Program]:
    key = jax.random.key(0)
    a = jax.random.normal(key, (512, 512))
    images = jax.random.normal(key, (8, 32, 32, 16))
    kernel = jax.random.normal(key, (3, 3, 16, 32))
    return [
        Program("matmul and sine", [
            ("a @ b", lambda a, b: a @ b),
            ("sin(a)", lambda a, b: jnp.sin(a)),
            ("sum(b)", lambda a, b: b.sum()),
        ], (a, a)),
        Program("attention scores", [
            ("q @ k.T", lambda q, k: q @ k.T),
            ("softmax(q)", lambda q, k: jax.nn.softmax(q, axis=-1)),
            ("tanh(k) * 2", lambda q, k: jnp.tanh(k) * 2.0),
        ], (a, a)),
        Program("convolution", [
            ("conv 3x3", lambda x, w: lax.conv_general_dilated(
                x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))),
            ("relu(x)", lambda x, w: jax.nn.relu(x)),
            ("mean(x)", lambda x, w: x.mean(axis=(1, 2))),
        ], (images, kernel)),
    ]


def alone(step: Callable, args: tuple) -> float:
    """Best seconds per call of one step jitted on its own."""
    jitted = jax.jit(step)
    call = lambda: jitted(*args)  # noqa: E731
    run_calls(call, 3)
    loops = max(1, int(0.05 / max(run_calls(call, 3) / 3, 1e-7)))
    return min(run_calls(call, loops) / loops for _ in range(ALONE_RUNS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of profiled calls")
    budget = parser.parse_args().budget
    print(f"jaxviz profile benchmark · jax {jax.__version__} · {platform.machine()} · "
          f"{jax.devices()[0].platform}")
    print(f"targets: each step above {SHARE:.0%} of the call: its share within ±{AGREEMENT:.0%} "
          "of its share timed alone")
    header = (f"{'program':<18} {'coverage':>8} {'overhead':>8} {'profiling s':>11}  "
              f"{'step':<12} {'share':>6} {'profiled':>10} {'alone':>10} {'share':>6} {'ratio':>6}"
              "  check")
    print(header)
    print("-" * len(header))
    for program in programs():
        t = jaxviz.trace(program.fn, *program.args)
        started = time.perf_counter()
        profile = t.profile(budget=budget)
        wall = time.perf_counter() - started
        lines = {line.code: seconds for line, (seconds, _) in profile.by_line().items() if line}
        overhead = profile.per_call / profile.unprofiled_per_call - 1
        first = f"{program.name:<18} {profile.coverage:>8.0%} {overhead:>+8.0%} {wall:>11.2f}"
        rows = 0
        alone_times = {name: alone(step, program.args) for name, step in program.steps}
        for name, _ in program.steps:
            profiled = next((s for code, s in lines.items() if f'("{name}"' in code), 0.0)
            if profiled / profile.per_call < SHARE:
                continue
            share = profiled / profile.attributed
            alone_share = alone_times[name] / sum(alone_times.values())
            ratio = share / alone_share
            check = "pass" if abs(ratio - 1) <= AGREEMENT else "FAIL"
            lead = first if rows == 0 else " " * len(first)
            print(f"{lead}  {name:<12} {share:>6.0%} {profiled * 1e6:>8.0f}µs "
                  f"{alone_times[name] * 1e6:>8.0f}µs {alone_share:>6.0%} {ratio:>6.2f}  {check}")
            rows += 1
        if not rows:
            print(f"{first}  (no step above {SHARE:.0%}: {profile.sentence()})")


if __name__ == "__main__":
    main()
