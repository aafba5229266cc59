"""Unrolled Python loops: maximal runs of one block of equations repeated back to back.

A Python ``for`` loop under jit leaves no loop in the jaxpr: each iteration appends the same
equations again (same primitives, params, shapes, source line). This module finds those
runs in linear time, so that the graph builder can fold them into one "×N" group (and the
findings, in analysis/loops.py, can suggest ``lax.fori_loop`` / ``lax.scan``).

Threshold: a run needs ``MIN_REPEATS`` (4) iterations, each iteration must read a value the
previous one produced (a loop-carried value), and all iterations must come from the same
lines of code. Fewer iterations are cheap and often intended; independent look-alike ops on
different lines are not a loop.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from typing import Any, Hashable, Sequence

import numpy as np

from jaxviz import _compat

MIN_REPEATS = 4
#: Longest loop body (in equations) looked for.
MAX_BLOCK = 512
#: How many earlier occurrences of an equation's key are tried as the loop period.
PERIOD_TRIES = 6
#: Params that hold per-iteration static indices (``x[i]`` inside ``for i in range(n)``).
INDEX_PARAMS = frozenset({"start_indices", "limit_indices", "index", "indices", "axis_index"})

#: Param values that are their own key (the common case, kept off the slow path).
_PLAIN = frozenset({int, float, str, bool, type(None)})


@dataclass(frozen=True)
class Run:
    """``repeats`` back-to-back copies of ``eqns[start:start + block]``."""

    start: int
    block: int
    repeats: int

    @property
    def stop(self) -> int:
        return self.start + self.block * self.repeats


def equation_key(eqn: Any, line: Hashable) -> Hashable:
    """What must match for two equations to be the same step of a loop.

    Literal values and static indices are left out: ``x[i]`` changes its index each
    iteration, and the first iteration often adds a literal where later ones add a carry.
    """
    params = tuple([(name, value if type(value) in _PLAIN else _param_key(value))
                    for name, value in sorted(eqn.params.items()) if name not in INDEX_PARAMS])
    return (
        eqn.primitive.name,
        tuple([_aval_key(v.aval) for v in eqn.invars]),
        tuple([_aval_key(v.aval) for v in eqn.outvars]),
        params,
        line,
    )


def _aval_key(aval: Any) -> Hashable:
    return (getattr(aval, "shape", None), getattr(aval, "dtype", None))  # str(dtype) is slow


def _param_key(value: Any) -> Hashable:
    if isinstance(value, (_compat.ClosedJaxpr, _compat.Jaxpr)):
        jaxpr, _ = _compat.open_jaxpr(value)
        return ("jaxpr", tuple(e.primitive.name for e in jaxpr.eqns))
    if isinstance(value, (tuple, list)):
        if type(value) is tuple and all(type(v) in _PLAIN for v in value):
            return value  # axes, dimension numbers: their own key, as plain values are
        return tuple(_param_key(v) for v in value)
    if isinstance(value, (np.dtype, np.generic, enum.Enum, int, float, str, bytes, type(None))):
        return value
    # Anything else (a custom_jvp's rule, wrapped anew for each call; a sharding) is alike by
    # what it is: compared by value, no two iterations of a model's layer loop would match.
    return ("object", type(value).__qualname__)


def find_runs(keys: Sequence[Hashable], eqns: Sequence[Any] | None = None,
              min_repeats: int = MIN_REPEATS) -> list[Run]:
    """The outermost unrolled loops: maximal non-overlapping runs of a repeated block.

    ``keys[i]`` is :func:`equation_key` of equation ``i``. With ``eqns`` given, a run must
    also carry a value from each iteration to the next. Nested loops are found level by
    level: each run found is replaced by one token standing for "this block ×N", and the
    shorter sequence is searched again, so an outer loop's body may hold inner loops.
    """
    # Token i stands for equations starts[i]:stops[i], a whole loop when repeats[i] is set.
    # Plain lists (ranges at first), not an object per token: 100k small objects cost more
    # in garbage collection than the search itself.
    keys = list(keys)
    starts: Sequence[int] = range(len(keys))
    stops: Sequence[int] = range(1, len(keys) + 1)
    repeats: Sequence[int] = [0] * len(keys)
    while True:
        runs = _runs_of(keys, starts, stops, eqns, min_repeats)
        if not runs:
            break
        folded: tuple[list, list, list, list] = ([], [], [], [])
        i = 0
        for run in runs:
            for column, values in zip(folded, (keys, starts, stops, repeats)):
                column.extend(values[i:run.start])
            body = tuple(keys[run.start:run.start + run.block])
            for column, value in zip(folded, (("loop", body, run.repeats), starts[run.start],
                                              stops[run.stop - 1], run.repeats)):
                column.append(value)
            i = run.stop
        for column, values in zip(folded, (keys, starts, stops, repeats)):
            column.extend(values[i:])
        keys, starts, stops, repeats = folded
    return [Run(start, (stop - start) // count, count)
            for start, stop, count in zip(starts, stops, repeats) if count]


def _runs_of(keys, starts, stops, eqns, min_repeats) -> list[Run]:
    """Runs over one token sequence, left to right, smallest period first.

    Linear in ``len(keys)``: the periods tried at each position are the distances to the
    next few equal keys (found for all positions at once by :func:`_candidate_periods`),
    and blocks are compared as slices of integer codes, which stops at the first difference.
    """
    n = len(keys)
    if n < min_repeats:
        return []
    ids: dict[Hashable, int] = {}
    codes = [ids.setdefault(k, len(ids)) for k in keys]
    if max(Counter(codes).values()) < min_repeats:  # no key comes often enough for a loop
        return []
    candidates = _candidate_periods(np.array(codes), min_repeats)
    has_candidates = candidates.any(axis=1).tolist()

    def repeats_at(i: int, period: int) -> int:
        """How many times the block ``codes[i:i + period]`` occurs back to back from ``i``."""
        block, count = codes[i:i + period], 1
        while codes[i + count * period:i + (count + 1) * period] == block:
            count += 1
        return count

    def period_at(i: int) -> int | None:
        """Smallest period whose block at ``i`` repeats at least ``min_repeats`` times."""
        if not has_candidates[i]:
            return None
        for period in candidates[i].tolist():
            if not period:
                continue
            first = codes[i:i + period]
            if all(codes[k:k + period] == first
                   for k in range(i + period, i + period * min_repeats, period)):
                return period
        return None

    runs: list[Run] = []
    i = 0
    while i < n:
        period = period_at(i)
        if period is None:
            i += 1
            continue
        # A loop nested in this block's first iteration goes first; the outer loop is then
        # found at the next level, correctly aligned (not rotated by the inner loop).
        inner = next((p for p in range(i + 1, i + period)
                      if (q := period_at(p)) is not None and q < period), None)
        if inner is not None:
            i = inner
            continue
        repeats = repeats_at(i, period)
        if eqns is not None:
            start = starts[i]
            repeats = _carried_repeats(eqns, start, stops[i + period - 1] - start, repeats)
        if repeats >= min_repeats:
            runs.append(Run(i, period, repeats))
        i += period * repeats  # iterations that carry nothing to the next are no loop
    return runs


def _candidate_periods(codes: np.ndarray, min_repeats: int) -> np.ndarray:
    """``[i, t]``: the distance from ``i`` to the ``t+1``-th next equal code, where it could
    be a loop period (at most MAX_BLOCK, room for ``min_repeats`` iterations, and every
    iteration starting with the same code); 0 where not. The one step that looks at every
    position, so it is vectorized."""
    n = len(codes)
    positions = np.arange(n)
    order = np.argsort(codes, kind="stable")
    same = codes[order[:-1]] == codes[order[1:]]
    following = np.full(n + 1, n)  # the next position with the same code; n: none
    following[order[:-1][same]] = order[1:][same]
    candidates = np.zeros((n, PERIOD_TRIES), dtype=np.int64)
    possible = np.ones(n, dtype=bool)  # once a period is too long, longer ones are too
    j = following[:n]
    for t in range(PERIOD_TRIES):
        period = j - positions
        possible &= (j < n) & (period <= MAX_BLOCK) & (positions + period * min_repeats <= n)
        starts_match = possible.copy()
        for r in range(2, min_repeats):
            at = np.where(starts_match, positions + r * period, 0)
            starts_match &= codes[at] == codes
        candidates[:, t] = np.where(starts_match, period, 0)
        j = following[j]
    return candidates


def find_parallel_runs(keys: Sequence[Hashable], eqns: Sequence[Any],
                       min_repeats: int = MIN_REPEATS) -> list[Run]:
    """Runs of one block repeated back to back whose iterations share no values: the same
    steps applied to every leaf of a pytree (an update by ``tree_map``, per-leaf casts).

    ``keys`` as for :func:`find_runs`; the shapes in them are left out, since leaves differ
    in shape. A run whose iterations feed each other is a loop, not this.
    """
    loose = [(key[0], key[3], key[4]) for key in keys]
    return [run for run in find_runs(loose, None, min_repeats) if _independent(eqns, run)]


def _independent(eqns: Sequence[Any], run: Run) -> bool:
    produced: set[int] = set()
    for r in range(run.repeats):
        begin = run.start + r * run.block
        block = eqns[begin:begin + run.block]
        if any(id(v) in produced for e in block for v in e.invars
               if not isinstance(v, _compat.Literal)):
            return False
        produced |= _outputs(eqns, begin, run.block)
    return True


def _carried_repeats(eqns: Sequence[Any], start: int, block: int, repeats: int) -> int:
    """How many leading iterations each read a value the iteration before produced."""
    produced = _outputs(eqns, start, block)
    for r in range(1, repeats):
        begin = start + r * block
        reads = {id(v) for e in eqns[begin:begin + block] for v in e.invars
                 if not isinstance(v, _compat.Literal)}
        if not reads & produced:
            return r
        produced = _outputs(eqns, begin, block)
    return repeats


def _outputs(eqns: Sequence[Any], start: int, block: int) -> set[int]:
    return {id(v) for e in eqns[start:start + block] for v in e.outvars}
