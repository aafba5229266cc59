"""What fills memory at the peak: the buffers XLA's own buffer assignment has live there
(``Trace.peak_memory``), each with the instruction that made it, its line, and whether it
is an argument, an output, a constant or a temporary.

XLA writes its buffer assignment and the live ranges of the optimized program when asked to
dump (``_compat.buffer_reports``: the program compiled again, into a temporary folder removed
at once). The live ranges end with the buffers live at the peak::

    Live ranges at 5 (peak):
      a.1{}: 262144 bytes (cumulative: 262144 bytes)

and each buffer assignment's allocation says what kind its values are::

    allocation 0: size 262144, parameter 0, shape |f32[256,256]| at ShapeIndex {}:
     value: <27 a.1 @0> (size=262144,offset=0): f32[256,256]{1,0}
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

from jaxviz.formatting import format_bytes
from jaxviz.hlo.build import instruction_nodes, placed
from jaxviz.model import Graph, SourceLoc, rolled_up

_PEAK = re.compile(r"^\s*Live ranges at \d+ \(peak\):\s*$")
_LIVE = re.compile(r"^\s+(\S+?)\{[^}]*\}: (\d+) bytes")
_ALLOCATION = re.compile(r"^allocation \d+: size \d+, (.*)$")
_VALUE = re.compile(r"^\s+value: <\d+ (\S+) @")
#: What an allocation's description says about its values, in the order to look for it.
_KINDS = (("parameter", "argument"), ("output", "output"), ("maybe-live-out", "output"),
          ("constant", "constant"))
_PLURALS = {"argument": "arguments", "output": "outputs", "constant": "constants",
            "temporary": "temporaries"}
#: The peak may differ from XLA's memory analysis by this much before it is said.
SLACK = 0.01


@dataclass(frozen=True)
class Buffer:
    """One buffer live at the peak."""

    #: The HLO instruction that produced it, and how big it is.
    name: str
    bytes: int
    #: "argument", "output", "constant" or "temporary".
    kind: str
    hlo_node: str | None
    jaxpr_nodes: tuple[str, ...]
    source: SourceLoc | None


@dataclass
class PeakMemory:
    """The buffers live at the peak, biggest first (see :meth:`jaxviz.Trace.peak_memory`)."""

    device: str
    buffers: list[Buffer]
    #: What XLA's memory analysis says the program needs (arguments, outputs and temporaries,
    #: less what is aliased), for the check; None where it says nothing.
    expected: int | None
    _graphs: Callable[[str], Graph] | None = field(default=None, repr=False, compare=False)

    @property
    def total(self) -> int:
        return sum(buffer.bytes for buffer in self.buffers)

    @property
    def measured(self) -> bool:
        return bool(self.buffers)

    def by_kind(self) -> dict[str, int]:
        kinds: dict[str, int] = defaultdict(int)
        for buffer in self.buffers:
            kinds[buffer.kind] += buffer.bytes
        return dict(kinds)

    def by_node(self, view: str = "hlo") -> dict[str, int]:
        """Node id -> bytes live at the peak that it made; a group holds its members' sum
        (in the jaxpr view, a buffer's bytes are split over the equations it links to)."""
        if self._graphs is None:
            raise ValueError("this report has no graphs to map its buffers onto")
        sizes = rolled_up(self._graphs(view), (
            ([b.hlo_node] if view == "hlo" else b.jaxpr_nodes, b.bytes) for b in self.buffers))
        return {node: round(size) for node, size in sizes.items()}

    def sentence(self) -> str:
        if not self.measured:
            return f"XLA reports no buffer assignment on {self.device}: nothing to show."
        parts = ", ".join(f"{format_bytes(size)} {_PLURALS[kind]}" for kind, size in
                          sorted(self.by_kind().items(), key=lambda item: -item[1]))
        text = f"{format_bytes(self.total)} live at the peak ({parts})"
        if self.expected is None:
            return text + "."
        if abs(self.total - self.expected) <= SLACK * max(self.expected, 1):
            return text + ", as XLA's memory analysis says."
        return text + f"; XLA's memory analysis says {format_bytes(self.expected)}."

    def __str__(self) -> str:
        lines = ["memory at the peak", "  " + self.sentence()]
        for buffer in self.buffers[:10]:
            where = f"  {buffer.source}" if buffer.source else ""
            lines.append(f"  {format_bytes(buffer.bytes):>10}  {buffer.kind:<9}  {buffer.name}{where}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device, "total": self.total, "expected": self.expected,
            "measured": self.measured, "sentence": self.sentence(),
            "buffers": [{"name": b.name, "bytes": b.bytes, "kind": b.kind,
                         "hlo_node": b.hlo_node,
                         "jaxpr_node": b.jaxpr_nodes[0] if b.jaxpr_nodes else None,
                         "source": None if b.source is None else
                         {"place": str(b.source), "code": b.source.code}}
                        for b in self.buffers[:20]],
            "more": max(len(self.buffers) - 20, 0),
            "text": str(self),
        }


def peak_memory(report: str | None, hlo: Graph, memory: dict[str, int | None] | None,
                device: str, graphs: Callable[[str], Graph]) -> PeakMemory:
    """The buffers live at the peak in XLA's ``report`` (see the module docstring)."""
    nodes = instruction_nodes(hlo)
    kinds = _kinds(report or "")
    buffers = []
    for name, size in _live_at_peak(report or ""):
        hlo_node, jaxpr_nodes, source = placed(nodes.get(name))
        buffers.append(Buffer(name=name, bytes=size, kind=kinds.get(name, "temporary"),
                              hlo_node=hlo_node, jaxpr_nodes=jaxpr_nodes, source=source))
    buffers.sort(key=lambda buffer: -buffer.bytes)
    return PeakMemory(device=device, buffers=buffers, expected=_expected(memory),
                      _graphs=graphs)


def _live_at_peak(report: str) -> list[tuple[str, int]]:
    live: list[tuple[str, int]] = []
    lines = iter(report.splitlines())
    for line in lines:
        if _PEAK.match(line):
            for entry in lines:
                found = _LIVE.match(entry)
                if not found:
                    break
                live.append((found.group(1), int(found.group(2))))
            break
    return live


def _kinds(report: str) -> dict[str, str]:
    """Value name -> the kind of the allocation holding it."""
    kinds: dict[str, str] = {}
    kind = "temporary"
    for line in report.splitlines():
        allocation = _ALLOCATION.match(line)
        if allocation:
            text = allocation.group(1)
            kind = next((k for word, k in _KINDS if word in text), "temporary")
            continue
        value = _VALUE.match(line)
        if value:
            kinds.setdefault(value.group(1), kind)
    return kinds


def _expected(memory: dict[str, int | None] | None) -> int | None:
    if not memory:
        return None
    parts = [memory.get(key) for key in ("argument_size_in_bytes", "output_size_in_bytes",
                                         "temp_size_in_bytes")]
    if any(part is None for part in parts):
        return None
    return sum(parts) - (memory.get("alias_size_in_bytes") or 0)
