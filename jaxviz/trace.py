"""The Trace facade: one captured call, with graphs, layouts and displays built on first use.

A plain ``jaxviz.trace`` costs only what JAX costs; everything else is lazy and cached. With
``background=True`` it returns once traced: lowering and compiling go on in a background
thread (``jaxviz/background.py``), and whatever needs them waits for them.
"""

from __future__ import annotations

import os
import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable

from jaxviz import _compat, _gc, background
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
        #: The capture, its later stages perhaps still running (``_cap`` waits for them).
        self._stages = cap
        #: Traces JAX made while the ``%%jaxtrace`` cell ran (see analysis/recompile.py).
        self.cache_misses: list = []
        #: Work done in the background, by name: "compile" (lowering and compiling), "time"
        #: (the magic's timing), "hlo" (the HLO view prepared while the user reads).
        self._jobs: dict[str, background.Job] = {}
        #: Why a background job failed, by name.
        self._failed: dict[str, str] = {}
        #: Called in the kernel's thread when a background job is done (the widgets).
        self._watchers: list[Callable[[], None]] = []
        #: Graphs are built by one thread at a time (the background may build the HLO view).
        self._lock = threading.RLock()
        self._timing: Timing | None = None
        self._profile: Profile | None = None
        self._peak: PeakMemory | None = None
        self._link_report: LinkReport | None = None
        self._linked = False
        self._graphs: dict[str, Graph] = {}
        self._layouters: dict[str, Layouter] = {}

    # -- the stages in the background ----------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether every stage is done (False while lowering and compiling run in the
        background: see ``jaxviz.trace(..., background=True)``)."""
        job = self._jobs.get("compile")
        return job is None or job.done

    def wait(self, timeout: float | None = None) -> "Trace":
        """Wait until the background work is done (``waiting`` is empty): every stage, and
        the ``%%jaxtrace`` cell's timing. A Trace of ``jaxviz.trace`` without
        ``background=True`` has none."""
        for job in list(self._jobs.values()):
            job.result(timeout)
        return self

    def _wait_for(self, name: str) -> None:
        """Wait for background job ``name``, if there is one (a failure is in ``progress``)."""
        job = self._jobs.get(name)
        if job is not None:
            job.result()

    @property
    def waiting(self) -> frozenset[str]:
        """The background jobs not done yet: "compile", "time", "hlo" (see ``progress``)."""
        return frozenset(name for name, job in self._jobs.items() if not job.done)

    @property
    def progress(self) -> dict[str, str]:
        """What is still being done in the background, or failed there, in words, by job:
        ``{"compile": "lowering and compiling…", "time": "timing eager vs jit, while the
        kernel is idle…"}``; ``{"time": "timing eager vs jit failed: ValueError: …"}``."""
        doing = {"compile": "lowering and compiling…",
                 "time": "timing eager vs jit, while the kernel is idle…",
                 "hlo": "preparing the HLO graph…"}
        said = {name: doing[name] for name in self.waiting}
        said.update((name, f"{doing[name].split(',')[0].rstrip('…')} failed: {why}")
                    for name, why in self._failed.items())
        return said

    @property
    def _cap(self) -> _capture.Capture:
        """The capture with every stage done."""
        self._wait_for("compile")
        return self._stages

    def _start(self, name: str, step: Callable[[background.Check], Any],
               yields: bool = True) -> None:
        """Run ``step`` in the background as job ``name``; the watchers hear when it is done
        (a failure is kept in ``progress``)."""
        def run(check: background.Check) -> Any:
            try:
                return step(check)
            except background.Interrupted:
                raise
            except Exception as exc:  # shown where the result would be, never raised
                self._failed[name] = f"{type(exc).__name__}: {exc}"
                return None

        self._jobs[name] = background.submit(
            run, yields, lambda: background.on_main_thread(self._tell_watchers))

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (in the kernel's thread) each time a background job is done."""
        self._watchers.append(callback)

    def _tell_watchers(self) -> None:
        for watcher in list(self._watchers):
            watcher()

    def time_in_background(self, budget: float | None = None) -> None:
        """:meth:`time` in the background, once compiled and while the kernel is idle (a cell
        started meanwhile makes it measure again afterwards); ``timing`` waits for it."""
        from jaxviz import timing

        def step(check: background.Check) -> Timing | None:
            if self.errors:  # nothing to time: the findings say why
                return None
            with timing.yielding(check):
                return self.time(budget=budget)

        self._start("time", step)

    def prepare_in_background(self) -> None:
        """Build, link and lay out the HLO view and make its view state in the background
        while the kernel is idle, so that opening its tab waits for none of it."""
        from jaxviz.display.state import view_state

        def step(check: background.Check) -> None:
            if self.hlo_text is not None:
                check()
                self.graph("hlo", linked=False)
                check()
                view_state(self, "hlo")

        self._start("hlo", step)

    # -- what JAX produced ---------------------------------------------------------------

    @property
    def fn_name(self) -> str:
        return self._stages.fn_name

    @property
    def jaxpr(self) -> Any:
        """The ClosedJaxpr, or None when tracing failed."""
        return self._stages.jaxpr

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
        return self._stages.device

    @property
    def trace_stdout(self) -> str:
        """What the function printed while JAX traced it."""
        return self._stages.trace_stdout

    @property
    def errors(self) -> dict[str, str]:
        """``{stage: message}`` for each stage (trace, lower, compile) that failed."""
        return dict(self._cap.errors)

    @property
    def static_inputs(self) -> tuple[StaticLeaf, ...]:
        """Argument leaves kept out of the traced program (modules' functions and settings,
        strings): jaxviz traces only arrays when an argument holds such leaves."""
        return self._stages.static_leaves

    @property
    def durations(self) -> dict[str, float]:
        """Seconds each stage took as jaxviz saw it (caches may make them look small); while
        ``ready`` is False, the stages done so far."""
        return dict(self._stages.durations)

    @cached_property
    def findings(self) -> list[Finding]:
        """Traps in this program (errors, unrolled loops, baked-in globals, ...), each with a fix."""
        return self._findings(self._cap)

    @property
    def findings_so_far(self) -> list[Finding]:
        """The findings known now: all of them once ``ready``; before, those the jaxpr alone
        tells (no compile error yet, no code XLA removed)."""
        if self.ready:
            return self.findings
        if "_early_findings" not in self.__dict__:
            self.__dict__["_early_findings"] = self._findings(self._stages, compiled=False)
        return self.__dict__["_early_findings"]

    def _findings(self, cap: _capture.Capture, compiled: bool = True) -> list[Finding]:
        from jaxviz import analysis

        return analysis.findings(cap, lambda: self.graph("jaxpr", linked=False),
                                 self.cache_misses, compiled)

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
        """The last result of :meth:`time` (what the displays show), or None; waits for
        timing in the background (:meth:`time_in_background`)."""
        self._wait_for("time")
        return self._timing

    @property
    def timing_so_far(self) -> Timing | None:
        """:attr:`timing` without waiting: None while timing in the background."""
        return None if "time" in self.waiting else self._timing

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
        if not cap.compiled:
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
        with self._lock:
            if view not in self._graphs:
                self._graphs[view] = self._build(view)
            if linked:
                self._link()
            return self._graphs[view]

    @property
    def linked(self) -> bool:
        """Whether ``Node.links`` are filled, or there is nothing to link them to (False
        while compiling)."""
        if not self.ready:
            return False
        return self._linked or self.jaxpr is None or not self._cap.compiled

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
        cap = self._stages  # the jaxpr view needs tracing alone
        if cap.jaxpr is None:
            raise ValueError(f"no jaxpr to draw: {cap.errors.get('trace', 'tracing failed')}")
        from jaxviz.jaxpr.build import build_jaxpr_graph

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

    @property
    def dead_nodes(self) -> frozenset[str]:
        """jaxpr view nodes of code XLA removed (no output needs it): drawn dimmed (none
        while compiling)."""
        from jaxviz.analysis.removed import dead_nodes

        if self.jaxpr is None or not self.ready:
            return frozenset()
        if "_dead_nodes" not in self.__dict__:
            self.__dict__["_dead_nodes"] = dead_nodes(self.findings,
                                                      self.graph("jaxpr", linked=False))
        return self.__dict__["_dead_nodes"]

    def layout(self, view: str = "jaxpr", expand: object = None) -> Layout:
        """The Graphviz layout (DOT + SVG) of a view in an expansion state (cached)."""
        with self._lock:  # the background may be laying out the HLO view
            graph = self.graph(view, linked=False)
            dimmed = self.dead_nodes if view == "jaxpr" else frozenset()
            if view not in self._layouters or self._layouters[view].dimmed != dimmed:
                self._layouters[view] = Layouter(graph, dimmed=dimmed)
            return self._layouters[view].layout(expansion(graph, expand))

    def export(self, path: str | os.PathLike, view: str = "jaxpr",
               expand: object = None) -> "os.PathLike":
        """Write the view to ``.svg``, ``.png``, ``.pdf``, ``.dot`` or ``.html`` (by suffix),
        once the background work (if any) is done."""
        from jaxviz import export

        return export.export(self.wait(), path, view=view, expand=expand)

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
          background: bool = False, **kwargs: Any) -> Trace:
    """Trace, lower and compile ``fn(*args, **kwargs)`` as ``jax.jit`` would, keeping every stage.

    Errors in tracing, lowering or compiling do not raise: they are in ``Trace.errors`` and
    ``Trace.findings``, and the stages before the failure are still there.

    ``background=True`` returns once traced: the jaxpr view and the findings the jaxpr
    alone tells are there at once, while lowering and compiling go on in a background thread
    (``Trace.ready``, ``Trace.wait()``); whatever needs them waits for them.
    """
    cap, traced = _capture.trace_only(fn, args, kwargs, static_argnums, static_argnames)
    result = Trace(cap)
    if traced is not None:
        if background:
            # Lowering holds the GIL: in a cell, it starts once the cell has ended, so the
            # first picture is not slowed by it (compiling then releases the GIL).
            result._start("compile", lambda check: _capture.lower_and_compile(cap, traced))
        else:
            _capture.lower_and_compile(cap, traced)
    return result
