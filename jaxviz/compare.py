"""Two traces side by side: which operations both run, which box is which, and whether XLA
compiles them to the same program (``jaxviz.compare``).

The seeds make their point by comparing programs by eye: ``vmap`` "will produce virtually
identical operations as the manual implementation", ``stupid_fn`` and its ``fori_loop``
rewrite compile to the same single ``copy``. A :class:`Comparison` computes it: counts of
primitives, an alignment of the graphs by data flow (``align.py``), the compiled programs'
digests (``hlo/fingerprint.py``), and the figures of both (cost, compile and run time).
Everything is computed on first use and kept.
"""

from __future__ import annotations

import os
from collections import Counter
from functools import cached_property
from typing import TYPE_CHECKING, Any

from jaxviz import _compat
from jaxviz.formatting import format_bytes, format_count, format_seconds

if TYPE_CHECKING:
    from jaxviz.trace import Trace

#: Primitives that only call a jaxpr (``jnp`` functions are jitted, ``jax.nn.relu`` has a
#: custom derivative): what is counted is what they call, as if written inline.
CALL_WRAPPERS = frozenset({"pjit", "jit", "closed_call", "core_call", "custom_jvp_call",
                           "custom_vjp_call", "custom_vjp_call_jaxpr", "remat", "checkpoint"})
#: Kinds of operations listed by name in the summary; more are counted.
LISTED_KINDS = 8


def primitive_counts(closed_jaxpr: Any) -> Counter:
    """How many equations of each primitive, those in nested jaxprs included."""
    counts: Counter = Counter()
    for eqn in _compat.all_equations(closed_jaxpr):
        if eqn.primitive.name not in CALL_WRAPPERS:
            counts[eqn.primitive.name] += 1
    return counts


class Comparison:
    """Two traces compared (see :func:`compare`). Shows itself as both graphs side by side,
    matched boxes linked; prints as its summary."""

    def __init__(self, left: "Trace", right: "Trace", names: tuple[str, str] | None = None):
        self.left = left
        self.right = right
        if names is None:
            names = (left.fn_name, right.fn_name)
            if names[0] == names[1]:
                names = (f"{names[0]} #1", f"{names[1]} #2")
        #: What the summary and the widget call the two programs.
        self.names: tuple[str, str] = names
        self._alignments: dict[str, dict[str, str]] = {}

    # -- operations ----------------------------------------------------------------------

    @cached_property
    def _counts(self) -> tuple[Counter, Counter]:
        return tuple(Counter() if t.jaxpr is None else primitive_counts(t.jaxpr)
                     for t in (self.left, self.right))

    @property
    def common(self) -> Counter:
        """Equations both run, by primitive (the smaller count of the two)."""
        left, right = self._counts
        return left & right

    @property
    def only_left(self) -> Counter:
        """Equations the left program runs beyond the right's, by primitive."""
        left, right = self._counts
        return left - right

    @property
    def only_right(self) -> Counter:
        left, right = self._counts
        return right - left

    # -- boxes ---------------------------------------------------------------------------

    @property
    def matches(self) -> dict[str, str]:
        """Left jaxpr box id -> right jaxpr box id, aligned by data flow and op."""
        return self.alignment("jaxpr")

    def alignment(self, view: str = "jaxpr") -> dict[str, str]:
        """Left box id -> right box id in ``view`` ("jaxpr" or "hlo")."""
        if view not in self._alignments:
            from jaxviz.align import align

            self._alignments[view] = align(self.left.graph(view, linked=False),
                                           self.right.graph(view, linked=False))
        return self._alignments[view]

    # -- compiled programs ---------------------------------------------------------------

    @cached_property
    def compiled_same(self) -> bool | None:
        """Whether the optimized HLO programs are equal, ignoring instruction names,
        metadata, layouts and the order of independent instructions; None when one did
        not compile. XLA's text leaves big constants' values out (see ``elided_constants``)."""
        modules = self._modules
        if modules is None:
            return None
        from jaxviz.hlo.fingerprint import fingerprint

        return fingerprint(modules[0]) == fingerprint(modules[1])

    @cached_property
    def elided_constants(self) -> int:
        """Constants whose values the HLO texts leave out, so cannot be compared."""
        from jaxviz.hlo.fingerprint import elided_constants

        return 0 if self._modules is None else max(map(elided_constants, self._modules))

    @cached_property
    def _modules(self) -> tuple[Any, Any] | None:
        if self.left.hlo_text is None or self.right.hlo_text is None:
            return None
        from jaxviz import _gc
        from jaxviz.hlo import parse_hlo

        with _gc.paused():
            return parse_hlo(self.left.hlo_text), parse_hlo(self.right.hlo_text)

    # -- in words ------------------------------------------------------------------------

    @cached_property
    def summary(self) -> str:
        """A few lines: what both run, what each adds, whether XLA compiles them alike,
        then their figures side by side."""
        return "\n".join([*self.findings(), "", *self._table()])

    def findings(self) -> list[str]:
        """The summary's sentences, one per line (the widget shows them above the graphs)."""
        a, b = (f"`{name}`" for name in self.names)
        for trace, name in ((self.left, a), (self.right, b)):
            if trace.jaxpr is None:
                return [f"{name} did not trace: {trace.errors.get('trace', 'tracing failed')}"]
        lines = []
        common, extra = self.common, (self.only_left, self.only_right)
        if not any(extra):
            lines.append(f"{a} and {b} run the same operations ({_kinds(common)}).")
        else:
            if common:
                lines.append(f"{a} and {b} both run {_kinds(common)}.")
            else:
                lines.append(f"{a} and {b} share no operation.")
            lines += [f"{name} adds {_counted(more)}." for name, more in zip((a, b), extra) if more]
        lines.append(self._boxes_text(a, b))
        lines.append(self._compiled_text(a, b))
        return lines

    def _boxes_text(self, a: str, b: str) -> str:
        matched = len(self.matches)
        alone = [sum(n.kind != "group" for n in t.graph("jaxpr", linked=False).nodes.values())
                 - matched for t in (self.left, self.right)]
        if not any(alone):
            return f"By data flow, every box lines up ({matched:,} in each graph)."
        return (f"By data flow, {matched:,} boxes line up; {alone[0]:,} of {a}'s and "
                f"{alone[1]:,} of {b}'s have no partner (marked in the graphs).")

    def _compiled_text(self, a: str, b: str) -> str:
        same = self.compiled_same
        if same is None:
            failed = next(name for trace, name in ((self.left, a), (self.right, b))
                          if trace.hlo_text is None)
            return f"Whether XLA compiles them alike is unknown: {failed} did not compile."
        if not same:
            sizes = [sum(len(c.instructions) for c in m.computations) for m in self._modules]
            return (f"XLA compiles them to different programs ({sizes[0]:,} and {sizes[1]:,} "
                    "HLO instructions).")
        elided = self.elided_constants
        return "XLA compiles them to identical programs" + (
            f" (up to the values of {elided} big constant{'s' if elided > 1 else ''}, which "
            "the HLO text leaves out)." if elided else ".")

    def figures(self) -> list[tuple[str, str, str]]:
        """(what, left, right) rows: size, cost, compile time and, when timed, run time."""
        rows = [("operations", *(f"{sum(c.values()):,}" for c in self._counts))]
        for key, label, fmt in (("flops", "FLOPs", format_count),
                                ("bytes_accessed", "bytes accessed", format_bytes)):
            values = [(t.cost or {}).get(key) for t in (self.left, self.right)]
            if any(v is not None for v in values):
                rows.append((label, *("n/a" if v is None else fmt(v) for v in values)))
        for stage in ("trace", "compile"):
            values = [t.durations.get(stage) for t in (self.left, self.right)]
            if any(v is not None for v in values):
                rows.append((stage, *("n/a" if v is None else format_seconds(v) for v in values)))
        timings = [t.timing for t in (self.left, self.right)]
        if any(timings):
            rows.append(("jit, best", *("not timed" if t is None else format_seconds(t.jit.best)
                                        for t in timings)))
        return rows

    def _table(self) -> list[str]:
        rows = [("", *self.names), *self.figures()]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        return [f"  {row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}".rstrip()
                for row in rows]

    # -- displays ------------------------------------------------------------------------

    def __repr__(self) -> str:
        return self.summary

    def widget(self, view: str = "jaxpr") -> Any:
        """Both graphs side by side, matched boxes linked, starting on ``view``."""
        from jaxviz.display import comparison

        return comparison.make_widget(self, view)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        from jaxviz.display import comparison

        return comparison.mimebundle(self, include, exclude)

    def export(self, path: str | os.PathLike, view: str = "jaxpr") -> "os.PathLike":
        """Write both graphs, in one picture, to ``.svg``, ``.png``, ``.pdf``, ``.dot`` or
        ``.html`` (by suffix)."""
        from jaxviz import export

        return export.export_comparison(self, path, view)


def compare(left: "Trace", right: "Trace", names: tuple[str, str] | None = None) -> Comparison:
    """Compare two traces: ``jaxviz.compare(jaxviz.trace(f, x), jaxviz.trace(g, x))``.

    ``names``: what to call them (by default their functions' names).
    """
    from jaxviz.trace import Trace

    for value in (left, right):
        if not isinstance(value, Trace):
            raise TypeError(f"jaxviz.compare takes two jaxviz.Trace objects (from jaxviz.trace "
                            f"or %jaxtrace -o NAME), not {type(value).__name__}")
    return Comparison(left, right, names)


def _kinds(counts: Counter) -> str:
    """``dot_general, add and tanh``, most run first; past LISTED_KINDS, counted."""
    names = [name for name, _ in counts.most_common()]
    if len(names) > LISTED_KINDS:
        return f"{len(names)} kinds of operations ({', '.join(names[:LISTED_KINDS])} and more)"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _counted(counts: Counter) -> str:
    """``999 mul, 1 scan``, most first; past LISTED_KINDS, counted."""
    parts = [f"{n:,} {name}" for name, n in counts.most_common()]
    if len(parts) > LISTED_KINDS:
        return ", ".join(parts[:LISTED_KINDS]) + f" and {len(parts) - LISTED_KINDS} more kinds"
    return ", ".join(parts)
