"""The Trace facade: one captured call, with graphs, layouts and displays built on first use.

A plain ``jaxviz.trace`` costs only what JAX costs; everything else is lazy and cached.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable

from jaxviz import _compat, _gc
from jaxviz import capture as _capture
from jaxviz.findings import Finding
from jaxviz.grouping import NewGroup
from jaxviz.jitting import StaticLeaf
from jaxviz.layout import Layout, Layouter
from jaxviz.link import LinkReport
from jaxviz.model import Graph, expansion
from jaxviz.timing import Timing

if TYPE_CHECKING:
    from jaxviz.memory import PeakMemory
    from jaxviz.profiling import Profile

VIEWS = ("jaxpr", "hlo")


class Trace:
    """What JAX did to one call of a function (see :func:`jaxviz.trace`)."""

    def __init__(self, cap: _capture.Capture):
        self._cap = cap
        #: Traces JAX made while the ``%%jaxtrace`` cell ran (see analysis/recompile.py).
        self.cache_misses: list = []
        self._timing: Timing | None = None
        self._profile: Profile | None = None
        self._peak: PeakMemory | None = None
        self._link_report: LinkReport | None = None
        self._linked = False
        self._graphs: dict[str, Graph] = {}
        self._layouters: dict[str, Layouter] = {}

    # -- what JAX produced ---------------------------------------------------------------

    @property
    def fn_name(self) -> str:
        return self._cap.fn_name

    @property
    def jaxpr(self) -> Any:
        """The ClosedJaxpr, or None when tracing failed."""
        return self._cap.jaxpr

    @property
    def stablehlo_text(self) -> str | None:
        return self._cap.stablehlo_text

    @property
    def hlo_text(self) -> str | None:
        """Optimized HLO, as XLA compiled it."""
        return self._cap.hlo_text

    @property
    def cost(self) -> dict[str, float | None] | None:
        """FLOPs, transcendentals, bytes accessed; None values are ones XLA could not tell."""
        return self._cap.cost

    @property
    def memory(self) -> dict[str, int | None] | None:
        return self._cap.memory

    @property
    def device(self) -> str:
        return self._cap.device

    @property
    def trace_stdout(self) -> str:
        """What the function printed while JAX traced it."""
        return self._cap.trace_stdout

    @property
    def errors(self) -> dict[str, str]:
        """``{stage: message}`` for each stage (trace, lower, compile) that failed."""
        return dict(self._cap.errors)

    @property
    def static_inputs(self) -> tuple[StaticLeaf, ...]:
        """Argument leaves kept out of the traced program (modules' functions and settings,
        strings): jaxviz traces only arrays when an argument holds such leaves."""
        return self._cap.static_leaves

    @property
    def durations(self) -> dict[str, float]:
        """Seconds each stage took as jaxviz saw it (caches may make them look small)."""
        return dict(self._cap.durations)

    @cached_property
    def findings(self) -> list[Finding]:
        """Traps in this program (errors, unrolled loops, baked-in globals, ...), each with a fix."""
        from jaxviz import analysis

        return analysis.findings(self._cap, lambda: self.graph("jaxpr", linked=False),
                                 self.cache_misses)

    # -- timing --------------------------------------------------------------------------

    def time(self, budget: float | None = None, repeat: int | None = None,
             fully_eager: bool = False) -> Timing:
        """Eager vs jit timing of this call; runs the function (see :func:`jaxviz.timing.measure`).

        ``budget`` bounds the steady-state measuring in seconds (default 3); the first call's
        compile and one warm-up call per variant come on top. Measures again on every call.
        """
        from jaxviz import timing

        cap = self._runnable("time")
        self._timing = timing.measure(
            cap.fn, cap.args, cap.kwargs, cap.static_argnums, cap.static_argnames,
            budget=budget, repeat=repeat, cost=cap.cost, device=cap.device,
            fully_eager=fully_eager,
        )
        return self._timing

    def _runnable(self, action: str) -> _capture.Capture:
        """The capture, if every stage went through (to ``action`` is to run the program)."""
        cap = self._cap
        failed = next((s for s in _capture.STAGES if s in cap.errors), None)
        if failed:
            raise ValueError(f"cannot {action} {cap.fn_name}: {failed} failed: {cap.errors[failed]}")
        return cap

    @property
    def timing(self) -> Timing | None:
        """The last result of :meth:`time` (what the displays show), or None."""
        return self._timing

    def profile(self, budget: float | None = None) -> "Profile":
        """Where a call's time goes, op by op: runs the compiled program under JAX's profiler
        (see :mod:`jaxviz.profiling`); ``budget``: seconds of profiled calls (default 1),
        the warm-up on top. Profiles again on every call."""
        from jaxviz import profiling, timing
        from jaxviz.hlo import parse_hlo

        cap = self._runnable("profile")
        hlo = self.graph("hlo")  # linked: each op's equations and line
        call = timing.jitted_call(cap.fn, cap.static_argnums, cap.static_argnames, cap.args,
                                  cap.kwargs)
        self._profile = profiling.measure(call, parse_hlo(cap.hlo_text), hlo, cap.device,
                                          lambda view: self.graph(view, linked=False), budget)
        return self._profile

    @property
    def profiled(self) -> "Profile | None":
        """The last result of :meth:`profile` (what the displays show), or None."""
        return self._profile

    def peak_memory(self) -> "PeakMemory":
        """The buffers live at the memory peak, from XLA's own buffer assignment (see
        :mod:`jaxviz.memory`): traces, lowers and compiles the program again, with XLA's
        dumps on, into a temporary folder removed at once. Does not run the function."""
        from jaxviz import memory

        cap = self._cap
        if cap.hlo_text is None:
            failed = next((s for s in _capture.STAGES if s in cap.errors), "compile")
            raise ValueError(f"no compiled program to look into: the {failed} stage failed")
        report = _compat.buffer_reports(_capture.lower_again(cap))
        self._peak = memory.peak_memory(report, self.graph("hlo"),
                                        cap.memory, cap.device,
                                        lambda view: self.graph(view, linked=False))
        return self._peak

    @property
    def memory_at_peak(self) -> "PeakMemory | None":
        """The last result of :meth:`peak_memory` (what the displays show), or None."""
        return self._peak

    # -- graphs --------------------------------------------------------------------------

    def graph(self, view: str = "jaxpr", linked: bool = True) -> Graph:
        """The view graph of the jaxpr (``"jaxpr"``) or of the compiled HLO (``"hlo"``).

        ``linked``: fill ``Node.links`` with the counterparts in the other view, which builds
        that view too (parsing a big program's HLO takes seconds). With ``linked=False`` only
        this view is built: the displays draw that, and link when someone asks for links.
        The HLO view is always linked: its groups are the jaxpr view's structure.
        """
        _check_view(view)
        if view not in self._graphs:
            self._graphs[view] = self._build(view)
        if linked:
            self._link()
        return self._graphs[view]

    @property
    def linked(self) -> bool:
        """Whether ``Node.links`` are filled, or there is nothing to link them to."""
        return self._linked or self.jaxpr is None or self.hlo_text is None

    @property
    def links(self) -> LinkReport | None:
        """How the jaxpr and HLO views map onto each other (None unless both exist)."""
        self._link()
        return self._link_report

    def _link(self) -> None:
        """Build both views and fill ``Node.links`` on both (once: building the HLO view
        links it, to give it the jaxpr view's structure)."""
        if self.linked:
            return
        from jaxviz.hlo import HloParseError

        try:
            self.graph("hlo", linked=False)
        except HloParseError:  # the jaxpr view still works, unlinked
            self._linked = True

    def _structure_hlo(self, hlo: Graph, new_group: NewGroup) -> None:
        """Link the views, then group the HLO view as the jaxpr view is grouped."""
        from jaxviz.link import link
        from jaxviz.structure.mirror import mirror_structure

        jaxpr = self.graph("jaxpr", linked=False)
        self._link_report = link(jaxpr, hlo)
        self._linked = True
        mirror_structure(jaxpr, hlo, new_group)

    def _build(self, view: str) -> Graph:
        if view == "hlo":
            return self._build_hlo()
        if self.jaxpr is None:
            raise ValueError(f"no jaxpr to draw: {self.errors.get('trace', 'tracing failed')}")
        from jaxviz.jaxpr.build import build_jaxpr_graph

        cap = self._cap
        return build_jaxpr_graph(cap.jaxpr, cap.arg_names, cap.result_names, cap.const_names)

    def _build_hlo(self) -> Graph:
        cap = self._cap
        if cap.hlo_text is None:
            stage = next((s for s in ("compile", "lower", "trace") if s in cap.errors), None)
            raise ValueError("no compiled HLO to draw: "
                             + (cap.errors[stage] if stage else "compiling failed"))
        from jaxviz.hlo import parse_hlo
        from jaxviz.hlo.build import build_hlo_graph

        with _gc.paused():  # parsing, building and linking allocate much and free little
            return build_hlo_graph(parse_hlo(cap.hlo_text), cap.arg_names, cap.result_names,
                                   self._structure_hlo if cap.jaxpr is not None else None)

    @cached_property
    def dead_nodes(self) -> frozenset[str]:
        """jaxpr view nodes of code XLA removed (no output needs it): drawn dimmed."""
        from jaxviz.analysis.removed import dead_nodes

        if self.jaxpr is None:
            return frozenset()
        return dead_nodes(self.findings, self.graph("jaxpr", linked=False))

    def layout(self, view: str = "jaxpr", expand: object = None) -> Layout:
        """The Graphviz layout (DOT + SVG) of a view in an expansion state (cached)."""
        graph = self.graph(view, linked=False)
        if view not in self._layouters:
            self._layouters[view] = Layouter(graph, dimmed=self.dead_nodes if view == "jaxpr"
                                             else frozenset())
        return self._layouters[view].layout(expansion(graph, expand))

    def export(self, path: str | os.PathLike, view: str = "jaxpr",
               expand: object = None) -> "os.PathLike":
        """Write the view to ``.svg``, ``.png``, ``.pdf``, ``.dot`` or ``.html`` (by suffix)."""
        from jaxviz import export

        return export.export(self, path, view=view, expand=expand)

    # -- displays ------------------------------------------------------------------------

    def __repr__(self) -> str:
        from jaxviz.display import text

        return text.summary(self)

    def widget(self, view: str = "jaxpr", expand: object = None) -> Any:
        """The interactive notebook widget, starting on ``view`` with ``expand`` groups open."""
        from jaxviz.display import widget

        return widget.make_widget(self, view=view, expand=expand)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        from jaxviz.display import widget

        return widget.mimebundle(self, include, exclude)

    def _repr_html_(self) -> str:
        from jaxviz.display import html

        return html.fragment(self)


def _check_view(view: str) -> None:
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(map(repr, VIEWS))}, not {view!r}")


def trace(fn: Callable, *args: Any, static_argnums: Any = None, static_argnames: Any = None,
          **kwargs: Any) -> Trace:
    """Trace, lower and compile ``fn(*args, **kwargs)`` as ``jax.jit`` would, keeping every stage.

    Errors in tracing, lowering or compiling do not raise: they are in ``Trace.errors`` and
    ``Trace.findings``, and the stages before the failure are still there.
    """
    return Trace(_capture.capture(fn, args, kwargs, static_argnums, static_argnames))
