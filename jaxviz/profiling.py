"""Where a call's time goes: each compiled instruction's share, from JAX's profiler, rolled
up to the jaxpr's equations and the user's lines (``Trace.profile``).

Under ``jax.profiler.trace`` XLA records one event per instruction it runs (XLA:CPU: per
thunk; GPU: per kernel), named after the HLO instruction. An instruction inside a called
computation (a while loop's body, a call) counts for the ENTRY instruction that runs it: an
ENTRY instruction's time is the wall time that its own events and those of what it runs
cover (XLA:CPU's event for a while loop covers less than its body's, which run on other
threads). Instructions on different threads may overlap in time; where they do, the overlap
is shared out, so that what is attributed never exceeds the wall time the events cover. Time reaches jaxpr equations through the links, split evenly over the equations an
instruction links to.

Profiling runs the user's function (a fresh jit, as timing does), so it runs only when asked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

from jaxviz import _compat
from jaxviz._stderr import silenced_stderr
from jaxviz.formatting import format_rate, format_seconds
from jaxviz.hlo.build import instruction_nodes, placed
from jaxviz.hlo.cost import op_cost
from jaxviz.hlo.parse import HloModule
from jaxviz.model import Graph, SourceLoc, rolled_up
from jaxviz.timing import run_calls

#: Seconds of profiled calls when the caller gives no budget (the warm-up comes on top).
DEFAULT_BUDGET = 1.0
#: Most calls profiled: the trace holds an event per instruction per call.
MAX_CALLS = 200
#: Least calls profiled, whatever the budget.
MIN_CALLS = 3
#: Rows the displays list (hottest ops, hottest lines).
TOP = 10
#: The unprofiled figure and the profiled one may differ this much before a warning.
CROSS_CHECK = 0.3


@dataclass(frozen=True)
class OpTime:
    """One ENTRY instruction's share of a call."""

    #: The HLO instruction and its opcode (``fusion``, ``while``, ``dot``, ...).
    name: str
    opcode: str
    #: Seconds per call, and the part of the call that is.
    seconds: float
    fraction: float
    #: Its box in the HLO view (None: drawn as no box, e.g. a tuple), and the jaxpr view's
    #: boxes it links to.
    hlo_node: str | None
    jaxpr_nodes: tuple[str, ...]
    source: SourceLoc | None
    #: Its FLOPs and the bytes it reads and writes, estimated from shapes (hlo/cost.py: XLA's
    #: cost analysis gives whole programs only); None where it cannot tell.
    flops: float | None = None
    bytes: float | None = None

    @property
    def rates(self) -> str:
        """"12.3 GFLOP/s · 3.1 GB/s", as far as the figures go ("" without time)."""
        if not self.seconds:
            return ""
        return " · ".join(format_rate(amount / self.seconds, unit) for amount, unit in
                          ((self.flops, "FLOP"), (self.bytes, "B")) if amount)


@dataclass
class Profile:
    """A call's time, op by op (see :meth:`jaxviz.Trace.profile`)."""

    device: str
    #: Wall seconds per call while profiled, and per call of the same calls unprofiled
    #: (the cross-check of the steady-state figure).
    per_call: float
    unprofiled_per_call: float
    #: Seconds per call attributed to ops, hottest first.
    attributed: float
    ops: list[OpTime]
    calls: int
    #: Wall seconds the profiling took, warm-up included.
    elapsed: float
    warnings: list[str] = field(default_factory=list)
    _graphs: Callable[[str], Graph] | None = field(default=None, repr=False, compare=False)

    @property
    def coverage(self) -> float:
        """``attributed / per_call``: what the ops account for; the rest is dispatch and
        transfers."""
        return self.attributed / self.per_call if self.per_call else 0.0

    @property
    def measured(self) -> bool:
        """Whether the profiler gave per-op events (not every backend does)."""
        return bool(self.ops)

    def by_line(self) -> dict[SourceLoc | None, tuple[float, float]]:
        """Source line -> (seconds per call, fraction of the call), hottest first; None
        holds what came from no line."""
        lines: dict[SourceLoc | None, float] = defaultdict(float)
        for op in self.ops:
            lines[op.source] += op.seconds
        ordered = sorted(lines.items(), key=lambda item: -item[1])
        return {line: (seconds, seconds / self.per_call) for line, seconds in ordered}

    def by_node(self, view: str = "hlo", measure: str = "seconds") -> dict[str, float]:
        """Node id -> seconds per call in ``view`` ("hlo" or "jaxpr"); a group holds the sum
        of its members'. A fusion's members hold nothing: its time is the fusion's.
        ``measure``: "flops" or "bytes" instead (the ops' estimates)."""
        if self._graphs is None:
            raise ValueError("this profile has no graphs to map its ops onto")
        return rolled_up(self._graphs(view), (
            ([op.hlo_node] if view == "hlo" else op.jaxpr_nodes, getattr(op, measure) or 0.0)
            for op in self.ops))

    def sentence(self) -> str:
        """What the figures cover, in one sentence."""
        if not self.measured:
            return (f"The profiler recorded no per-op events on {self.device}: nothing is "
                    "attributed (the whole call took "
                    f"{format_seconds(self.per_call)}).")
        return (f"{self.coverage:.0%} of the measured call ({format_seconds(self.per_call)}) "
                "is attributed to ops; the rest is dispatch and transfers.")

    def __str__(self) -> str:
        lines = [f"profile on {self.device}: {self.calls} calls", "  " + self.sentence()]
        width = max((len(op.name) for op in self.ops[:TOP]), default=0)
        for op in self.ops[:TOP]:
            where = f"  {op.source}" if op.source else ""
            rates = f"  ({op.rates})" if op.rates else ""
            lines.append(f"  {op.fraction:>4.0%}  {format_seconds(op.seconds):>9}  "
                         f"{op.name:<{width}}  {op.opcode}{rates}{where}")
        lines += [f"  ! {warning}" for warning in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready) for the widget and the static page: the hottest ops and
        lines, and the sentence."""
        def place(source: SourceLoc | None) -> dict[str, Any] | None:
            return None if source is None else {"place": str(source), "code": source.code}

        return {
            "device": self.device, "per_call": self.per_call, "attributed": self.attributed,
            "coverage": self.coverage, "calls": self.calls, "measured": self.measured,
            "sentence": self.sentence(), "warnings": list(self.warnings),
            "ops": [{"name": op.name, "opcode": op.opcode, "seconds": op.seconds,
                     "fraction": op.fraction, "rates": op.rates, "hlo_node": op.hlo_node,
                     "jaxpr_node": op.jaxpr_nodes[0] if op.jaxpr_nodes else None,
                     "source": place(op.source)} for op in self.ops[:TOP]],
            "lines": [{"source": place(line), "seconds": seconds, "fraction": fraction}
                      for line, (seconds, fraction) in list(self.by_line().items())[:TOP]],
            "text": str(self),
        }


def measure(call: Callable[[], Any], module: HloModule, hlo: Graph, device: str,
            graphs: Callable[[str], Graph], budget: float | None = None) -> Profile:
    """Profile ``call`` (a fresh jit of the user's call, see timing.jitted_call): warm up,
    time a few calls unprofiled, then profile as many as fit ``budget`` seconds."""
    budget = DEFAULT_BUDGET if budget is None else float(budget)
    if budget < 0:
        raise ValueError(f"budget must be at least 0 seconds, not {budget}")
    elapsed = run_calls(call, 2)  # the first call compiles
    probe = run_calls(call, MIN_CALLS) / MIN_CALLS
    elapsed += probe * MIN_CALLS
    calls = max(MIN_CALLS, min(MAX_CALLS, int(budget / 2 / max(probe, 1e-9))))
    unprofiled = run_calls(call, calls) / calls
    with silenced_stderr():  # older jaxlib says it cannot import TensorFlow's profiler
        wall, events = _compat.profiled_events(lambda: run_calls(call, calls))
    per_call = wall / calls
    elapsed += unprofiled * calls + wall
    ops = _attributed(events, module, hlo, calls, per_call)
    warnings = []
    if abs(per_call - unprofiled) > CROSS_CHECK * unprofiled:
        warnings.append(f"profiled calls took {format_seconds(per_call)} each, unprofiled "
                        f"{format_seconds(unprofiled)}: the profiler's overhead shows")
    return Profile(device=device, per_call=per_call, unprofiled_per_call=unprofiled,
                   attributed=sum(op.seconds for op in ops), ops=ops, calls=calls,
                   elapsed=elapsed, warnings=warnings, _graphs=graphs)


def _attributed(events: list[_compat.ProfiledEvent], module: HloModule, hlo: Graph,
                calls: int, per_call: float) -> list[OpTime]:
    """Seconds per call of each ENTRY instruction (see the module docstring)."""
    top = _entry_instructions(module)
    timed: dict[str, list[_compat.ProfiledEvent]] = defaultdict(list)
    for event in events:
        runner = top.get(event.name)
        if runner is not None:
            timed[runner].append(event)
    spans = {name: _covered(mine) for name, mine in timed.items()}
    total = sum(spans.values())
    covered = _covered([e for mine in timed.values() for e in mine])
    share = covered / total if total > covered > 0 else 1.0  # overlapping threads
    nodes = instruction_nodes(hlo)
    entry = {inst.name: inst for inst in module.entry.instructions}
    ops = []
    for name, span in spans.items():
        seconds = span * share / calls
        hlo_node, jaxpr_nodes, source = placed(nodes.get(name))
        flops, moved = op_cost(module, entry[name])
        ops.append(OpTime(
            name=name, opcode=entry[name].opcode, seconds=seconds,
            fraction=seconds / per_call if per_call else 0.0, hlo_node=hlo_node,
            jaxpr_nodes=jaxpr_nodes, source=source, flops=flops or None, bytes=moved or None))
    ops.sort(key=lambda op: -op.seconds)
    return ops


def _entry_instructions(module: HloModule) -> dict[str, str]:
    """Every instruction's name -> the ENTRY instruction that runs it (itself, in ENTRY)."""
    caller: dict[str, str] = {}  # computation -> the instruction calling it
    for computation in module.computations:
        for inst in computation.instructions:
            for callee in inst.called_computations:
                caller.setdefault(callee.removeprefix("%"), inst.name)
    home = {inst.name: computation.name for computation in module.computations
            for inst in computation.instructions}
    runner: dict[str, str] = {}
    for name in home:
        current, seen = name, set()
        while home.get(current) != module.entry.name and current not in seen:
            seen.add(current)
            current = caller.get(home.get(current, ""), "")
        if home.get(current) == module.entry.name:
            runner[name] = current
    return runner


def _covered(events: list[_compat.ProfiledEvent]) -> float:
    """Seconds of wall time that at least one of ``events`` covers."""
    covered, end = 0.0, float("-inf")
    for event in sorted(events, key=lambda e: e.start):
        stop = event.start + event.seconds
        if stop > end:
            covered += stop - max(event.start, end)
            end = stop
    return covered
