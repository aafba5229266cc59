"""Unrolled Python loops: maximal runs of one block of equations repeated back to back.

A Python ``for`` loop under jit leaves no loop in the jaxpr: each iteration appends the same
equations again (same primitives, params, shapes, source line). This module finds those
runs in linear time, so that the graph can fold them into one "×N" group and the findings
can suggest ``lax.fori_loop`` / ``lax.scan``.

Threshold: a run needs ``MIN_REPEATS`` (4) iterations, each iteration must read a value the
previous one produced (a loop-carried value), and all iterations must come from the same
lines of code. Fewer iterations are cheap and often intended; independent look-alike ops on
different lines are not a loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable, Sequence

from jaxviz import _compat
from jaxviz.display.text import format_seconds
from jaxviz.findings import Finding
from jaxviz.model import Graph, Node

MIN_REPEATS = 4
#: Longest loop body (in equations) looked for.
MAX_BLOCK = 512
#: How many earlier occurrences of an equation's key are tried as the loop period.
PERIOD_TRIES = 6
#: Params that hold per-iteration static indices (``x[i]`` inside ``for i in range(n)``).
INDEX_PARAMS = frozenset({"start_indices", "limit_indices", "index", "indices", "axis_index"})

_MOD = (1 << 61) - 1
_BASE = 1_000_003


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
    params = []
    for name, value in sorted(eqn.params.items()):
        if name in INDEX_PARAMS:
            continue
        params.append((name, _param_key(value)))
    return (
        eqn.primitive.name,
        tuple(_aval_key(v.aval) for v in eqn.invars),
        tuple(_aval_key(v.aval) for v in eqn.outvars),
        tuple(params),
        line,
    )


def _aval_key(aval: Any) -> Hashable:
    return (getattr(aval, "shape", None), str(getattr(aval, "dtype", "")))


def _param_key(value: Any) -> Hashable:
    if isinstance(value, (_compat.ClosedJaxpr, _compat.Jaxpr)):
        jaxpr, _ = _compat.open_jaxpr(value)
        return ("jaxpr", tuple(e.primitive.name for e in jaxpr.eqns))
    if isinstance(value, (tuple, list)):
        return tuple(_param_key(v) for v in value)
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def find_runs(keys: Sequence[Hashable], eqns: Sequence[Any] | None = None,
              min_repeats: int = MIN_REPEATS) -> list[Run]:
    """The outermost unrolled loops: maximal non-overlapping runs of a repeated block.

    ``keys[i]`` is :func:`equation_key` of equation ``i``. With ``eqns`` given, a run must
    also carry a value from each iteration to the next. Nested loops are found level by
    level: each run found is replaced by one token standing for "this block ×N", and the
    shorter sequence is searched again, so an outer loop's body may hold inner loops.
    """
    tokens = [_Token(key, i, i + 1) for i, key in enumerate(keys)]
    while True:
        runs = _runs_of([t.key for t in tokens], tokens, eqns, min_repeats)
        if not runs:
            break
        folded, i = [], 0
        for run in runs:
            folded.extend(tokens[i:run.start])
            body = tuple(t.key for t in tokens[run.start:run.start + run.block])
            first, last = tokens[run.start], tokens[run.stop - 1]
            folded.append(_Token(("loop", body, run.repeats), first.start, last.stop,
                                 run.repeats))
            i = run.stop
        folded.extend(tokens[i:])
        tokens = folded
    return [Run(t.start, (t.stop - t.start) // t.repeats, t.repeats)
            for t in tokens if t.repeats]


@dataclass(frozen=True)
class _Token:
    """A key standing for equations ``start:stop`` (a whole loop when ``repeats`` is set)."""

    key: Hashable
    start: int
    stop: int
    repeats: int = 0


def _runs_of(keys, tokens, eqns, min_repeats) -> list[Run]:
    """Runs over one token sequence, left to right, smallest period first.

    Linear in ``len(keys)``: candidate periods come from the distance to the next equal
    key, and blocks are compared by prefix hashes.
    """
    n = len(keys)
    if n < min_repeats:
        return []
    ids: dict[Hashable, int] = {}
    codes = [ids.setdefault(k, len(ids) + 1) for k in keys]
    prefix = [0] * (n + 1)
    power = [1] * (n + 1)
    for i, code in enumerate(codes):
        prefix[i + 1] = (prefix[i] * _BASE + code) % _MOD
        power[i + 1] = (power[i] * _BASE) % _MOD

    def block_hash(start: int, length: int) -> int:
        return (prefix[start + length] - prefix[start] * power[length]) % _MOD

    following = [0] * n  # index of the next token with the same key, or n
    last: dict[int, int] = {}
    for i in range(n - 1, -1, -1):
        following[i] = last.get(codes[i], n)
        last[codes[i]] = i

    def period_at(i: int) -> int | None:
        """Smallest period whose block at ``i`` repeats at least ``min_repeats`` times."""
        j = following[i]
        for _ in range(PERIOD_TRIES):
            period = j - i
            if j >= n or period > MAX_BLOCK or i + period * min_repeats > n:
                return None
            first = block_hash(i, period)
            if all(block_hash(i + r * period, period) == first for r in range(1, min_repeats)):
                return period
            j = following[j]
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
        first, repeats = block_hash(i, period), min_repeats
        while i + (repeats + 1) * period <= n and block_hash(i + repeats * period, period) == first:
            repeats += 1
        if eqns is not None:
            start = tokens[i].start
            repeats = _carried_repeats(eqns, start, tokens[i + period - 1].stop - start, repeats)
        if repeats >= min_repeats:
            runs.append(Run(i, period, repeats))
        i += period * repeats  # iterations that carry nothing to the next are no loop
    return runs


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


# -- findings ------------------------------------------------------------------------------

def loop_findings(graph: Graph, jit_seconds: float | None = None) -> list[Finding]:
    """One finding per outermost unrolled loop, with the line and the rewrite."""
    findings = []
    for group in graph.groups:
        if group.op != "unrolled" or _inside_unrolled(graph, group):
            continue
        repeats, block = int(group.params["repeats"]), int(group.params["block"])
        equations = graph.leaf_counts.get(group.id, 0)
        message = (f"Python loop unrolled {repeats}× ({equations} equations; body: "
                   f"{group.params['body']}): JAX traces and XLA compiles every iteration "
                   "separately")
        if jit_seconds is not None:
            message += (f"; tracing and compiling this program took "
                        f"{format_seconds(jit_seconds)}")
        if _reads_own_inputs(graph, group):
            hint = ("stack the per-iteration parameters (jax.tree.map(lambda *p: jnp.stack(p), "
                    "*layers)) and run the body once with lax.scan over them")
        else:
            hint = (f"write it as lax.fori_loop(0, {repeats}, body, carry) or lax.scan: the body "
                    "is traced once and compile time stops growing with the trip count")
        findings.append(Finding(
            "unrolled-loop", "warning", message, hint,
            line=group.source.line if group.source else None,
            filename=group.source.filename if group.source else None,
            node_ids=[group.id],
        ))
    return findings


def _inside_unrolled(graph: Graph, node: Node) -> bool:
    parent = node.group
    while parent is not None:
        if graph.nodes[parent].op == "unrolled":
            return True
        parent = graph.nodes[parent].group
    return False


def _reads_own_inputs(graph: Graph, loop: Node) -> bool:
    """True when each iteration reads function inputs no other iteration reads (layers)."""
    iterations = [m.id for m in graph.children(loop.id) if m.op == "iteration"]
    if len(iterations) < 2:
        return False
    owner: dict[str, str] = {}
    for node_id in graph.nodes:
        group = graph.nodes[node_id].group
        while group is not None and group not in iterations:
            group = graph.nodes[group].group
        if group is not None:
            owner[node_id] = group
    readers: dict[str, set[str]] = {}
    for edge in graph.edges:
        if graph.nodes[edge.src].kind in ("input", "const") and edge.dst in owner:
            readers.setdefault(edge.src, set()).add(owner[edge.dst])
    own = {next(iter(r)) for r in readers.values() if len(r) == 1}
    return own == set(iterations)
