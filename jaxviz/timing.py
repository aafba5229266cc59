"""How fast a function runs eagerly, jitted on its first call, and jitted in steady state.

Pure measurement, no display. Principle 5, "timing never lies": every output leaf is waited
for with ``jax.block_until_ready``, every variant is warmed up before it is measured, the
first call (trace, lower, compile, execute) is kept apart from the steady state, steady
figures are %timeit-style (auto-ranged loops, several runs, best / mean ± std), and the
spread is reported.

How the first call is kept cold: JAX caches traces per function object and executables per
(traced jaxpr, avals), so ``jax.jit(f)`` on a function already jitted elsewhere comes back
from the caches. jaxviz jits a fresh forwarding wrapper (as ``capture`` does), which JAX has
never seen: tracing, lowering and XLA's backend compile all happen again (checked through
``jax.monitoring``), and the user's own jitted function and its caches are never called.

The split of the first call comes from ``jax.monitoring`` time-span events. Listeners cannot
be removed in every supported JAX (0.7 has no ``unregister``), so one pair of listeners is
registered per process and forwards to whichever collector is active in the calling thread.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import jax

from jaxviz import _gc, jitting
from jaxviz.capture import describe_device
from jaxviz.formatting import format_rate

#: Seconds of steady-state measuring when the caller gives no budget.
DEFAULT_BUDGET = 3.0
#: Runs per steady measurement when the caller gives no ``repeat`` (as %timeit).
DEFAULT_REPEAT = 7
#: How long one run of loops aims to last when the budget allows (%timeit's 0.2 s).
TARGET_RUN_SECONDS = 0.2
#: Warn when the slowest run per call is more than this many times the fastest.
SPREAD_LIMIT = 4.0

#: jax.monitoring events that time the stages of a first call, and jaxviz's names for them.
STAGE_EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
    "/jax/core/compile/backend_compile_duration": "compile",
}
BREAKDOWN_KEYS = ("trace", "lower", "compile", "execute")
#: Fired when an executable comes from JAX's persistent compilation cache.
CACHE_HIT_EVENT = "/jax/compilation_cache/cache_hits"
#: Sent only to check that jaxviz's listener is still registered.
_PROBE_EVENT = "/jaxviz/listener_check"


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """Seconds per call over several runs of ``loops`` calls each, as %timeit reports it."""

    best: float
    mean: float
    std: float
    loops: int
    runs: int
    #: Seconds per call in each run, in the order they ran.
    times: tuple[float, ...]

    @classmethod
    def from_runs(cls, run_totals: Sequence[float], loops: int) -> "Measurement":
        """From the wall time of each run of ``loops`` calls."""
        per_call = tuple(total / loops for total in run_totals)
        return cls(
            best=min(per_call), mean=statistics.fmean(per_call),
            std=statistics.pstdev(per_call), loops=loops, runs=len(per_call), times=per_call,
        )

    @property
    def worst(self) -> float:
        return max(self.times)

    @property
    def spread(self) -> float:
        """Slowest run over fastest run (1.0 when there is one run)."""
        return self.worst / self.best if self.best > 0 else 1.0

    def __str__(self) -> str:
        unit, scale = time_unit(self.mean)
        runs = f"{self.runs} run{'s' if self.runs != 1 else ''}"
        loops = f"{self.loops:,} loop{'s' if self.loops != 1 else ''} each"
        return (
            f"{self.mean * scale:.3g} {unit} ± {self.std * scale:.2g} {unit} per loop "
            f"(mean ± std. dev. of {runs}, {loops})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "best": self.best, "mean": self.mean, "std": self.std, "worst": self.worst,
            "loops": self.loops, "runs": self.runs, "times": list(self.times), "text": str(self),
        }


@dataclass
class Timing:
    """Eager vs jit on one device; see :func:`measure`. All times are seconds per call."""

    device: str
    #: Jitted, steady state (after the first call and a warm-up call).
    jit: Measurement
    #: Jitted, the very first call of a freshly jitted function: one run of one loop.
    first_call: Measurement
    #: ``trace``, ``lower``, ``compile`` (from jax.monitoring) and ``execute`` (from the end of
    #: compiling to the outputs being ready); what is left of ``first_call`` is JAX's bookkeeping.
    first_call_breakdown: dict[str, float]
    #: True when the first call traced and compiled anew (no cache answered it).
    first_call_cold: bool
    #: The undecorated function run as is: JAX dispatches op by op (None when it failed).
    eager: Measurement | None = None
    #: Why eager is missing or thin, e.g. "too slow: ran once in the budget".
    eager_note: str = ""
    #: The undecorated function under ``jax.disable_jit()``, when asked for.
    fully_eager: Measurement | None = None
    #: eager.best / jit.best.
    speedup: float | None = None
    #: Calls after which jit (first call + steady calls) has cost less than eager in total;
    #: None when jit is not faster per call.
    break_even_calls: int | None = None
    flops: float | None = None
    #: flops / jit.best, when XLA's cost analysis gives FLOPs.
    flops_per_second: float | None = None
    warnings: list[str] = field(default_factory=list)
    #: The steady-state budget and the wall time of the whole measurement; the first call and
    #: the warm-up calls (``outside_budget`` seconds) are not counted against the budget.
    budget: float = DEFAULT_BUDGET
    elapsed: float = 0.0
    outside_budget: float = 0.0

    def __str__(self) -> str:
        rows = [("jit, steady", str(self.jit) + f", best {format_time(self.jit.best)}")]
        if self.eager is not None:
            rows.append(("eager", str(self.eager) + f", best {format_time(self.eager.best)}"))
        elif self.eager_note:
            rows.append(("eager", self.eager_note))
        if self.fully_eager is not None:
            rows.append(("fully eager", str(self.fully_eager)
                         + f", best {format_time(self.fully_eager.best)}"))
        rows.append(("jit, 1st call", self._first_call_text()))
        if self.speedup is not None:
            rows.append(("speedup", f"{format_ratio(self.speedup)} (eager best / jit best)"))
        if self.break_even_calls is not None:
            rows.append(("break-even", f"jit pays off after {self.break_even_calls:,} calls"))
        if self.flops_per_second is not None:
            rows.append(("achieved", format_rate(self.flops_per_second)))
        width = max(len(name) for name, _ in rows)
        lines = [f"timing on {self.device}"]
        lines += [f"  {name:<{width}}  {text}" for name, text in rows]
        lines += [f"  ! {warning}" for warning in self.warnings]
        return "\n".join(lines)

    def _first_call_text(self) -> str:
        parts = [f"{key} {format_time(self.first_call_breakdown[key])}" for key in BREAKDOWN_KEYS]
        other = self.first_call.best - sum(self.first_call_breakdown.values())
        text = f"{format_time(self.first_call.best)} = " + " + ".join(parts)
        text += f" + {format_time(max(other, 0.0))} other"
        return text if self.first_call_cold else text + " (warm: served by JAX's caches)"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready) for the widget and the static HTML."""
        def measured(m: Measurement | None) -> dict[str, Any] | None:
            return None if m is None else m.to_dict()

        return {
            "device": self.device,
            "jit": measured(self.jit),
            "eager": measured(self.eager),
            "eager_note": self.eager_note,
            "fully_eager": measured(self.fully_eager),
            "first_call": measured(self.first_call),
            "first_call_breakdown": dict(self.first_call_breakdown),
            "first_call_cold": self.first_call_cold,
            "speedup": self.speedup,
            "break_even_calls": self.break_even_calls,
            "flops": self.flops,
            "flops_per_second": self.flops_per_second,
            "warnings": list(self.warnings),
            "budget": self.budget,
            "elapsed": self.elapsed,
            "outside_budget": self.outside_budget,
            "text": str(self),
        }


# -- formatting ----------------------------------------------------------------------------

_UNITS = (("s", 1.0), ("ms", 1e3), ("µs", 1e6), ("ns", 1e9))


def time_unit(seconds: float) -> tuple[str, float]:
    """The largest unit in which ``seconds`` reads as at least 1 (as %timeit picks it)."""
    for unit, scale in _UNITS:
        if seconds * scale >= 1.0:
            return unit, scale
    return _UNITS[-1]


def format_time(seconds: float) -> str:
    """``7.61 µs``: three significant digits in an auto-ranged unit."""
    unit, scale = time_unit(seconds)
    return f"{seconds * scale:.3g} {unit}"


def format_ratio(ratio: float) -> str:
    """``1,240×`` or ``1.62×``."""
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:.3g}×"


# -- measuring -----------------------------------------------------------------------------


def measure(
    fn: Callable,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
    budget: float | None = None,
    repeat: int | None = None,
    cost: dict[str, float | None] | None = None,
    device: str = "",
    fully_eager: bool = False,
) -> Timing:
    """Time ``fn(*args, **kwargs)`` eagerly, jitted on its first call and jitted in steady state.

    ``budget`` (seconds, default :data:`DEFAULT_BUDGET`) bounds the steady-state measuring;
    on top of it come the first call (one compile) and one warm-up call of each variant.
    ``repeat`` is the number of runs per steady measurement (fewer when the budget is short).
    ``cost`` is ``Trace.cost`` (its ``flops`` give FLOP/s); ``device`` is ``Trace.device``.
    ``fully_eager`` also times the function under ``jax.disable_jit()``.

    The user's arrays are never donated, no JAX config is changed, and for a plain
    ``jax.jit`` function only a fresh re-jit of its wrapped function is called. A function
    jitted with shardings or layouts is called itself (see the warning it gets).
    """
    started = time.perf_counter()
    budget = DEFAULT_BUDGET if budget is None else float(budget)
    if budget < 0:
        raise ValueError(f"budget must be at least 0 seconds, not {budget}")
    if repeat is not None and repeat < 1:
        raise ValueError(f"repeat must be at least 1, not {repeat}")
    kwargs = dict(kwargs or {})
    call = _jit_afresh(fn, static_argnums, static_argnames, args, kwargs)
    reused = call.reused
    jit_call = _bind(call.jitted, call.args, call.kwargs)
    eager_call = _bind(call.original, call.eager_args, call.eager_kwargs)
    warnings = _cache_warnings(reused)

    first = _first_call(jit_call)
    if first.unheard:
        warnings.append("the first call's breakdown is missing: JAX's monitoring listeners had "
                        "been cleared (jaxviz has registered its own again)")
    elif not first.cold and not reused:
        warnings.append("the first call was not compiled anew (JAX's caches answered it); "
                        "its figure is warm")
    if first.cache_hit:
        warnings.append("the first call's executable came from JAX's persistent compilation "
                        "cache, so 'compile' is a cache read")
    run_calls(jit_call, 1)  # warm-up

    variants: list[tuple[str, Callable[[], Any], _Warmup | None]] = [("jit", jit_call, None)]
    eager_warmup, eager_note = _eager_warmup(eager_call)
    if eager_warmup is not None:
        variants.append(("eager", eager_call, eager_warmup))
    if fully_eager:
        fully_call = _without_jit(eager_call)
        fully_warmup, fully_note = _eager_warmup(fully_call)
        if fully_warmup is not None:
            variants.append(("fully eager", fully_call, fully_warmup))
        else:
            warnings.append(f"fully eager run {fully_note}")

    outside_budget = time.perf_counter() - started
    measured, once = _measure_variants(variants, budget, repeat, warnings)
    if "eager" in once:
        eager_note = "too slow: ran once in the budget"

    timing = Timing(
        device=device or describe_device(list(args) + list(kwargs.values())),
        jit=measured["jit"], first_call=first.measurement, first_call_breakdown=first.breakdown,
        first_call_cold=first.cold, eager=measured.get("eager"), eager_note=eager_note,
        fully_eager=measured.get("fully eager"), warnings=warnings, budget=budget,
        outside_budget=outside_budget,
    )
    _derive(timing, cost)
    timing.warnings += _spread_warnings(measured)
    timing.elapsed = time.perf_counter() - started
    return timing


def _measure_variants(
    variants: list[tuple[str, Callable[[], Any], _Warmup | None]],
    budget: float,
    repeat: int | None,
    warnings: list[str],
) -> tuple[dict[str, Measurement], set[str]]:
    """Steady measurements sharing ``budget``; also the names measured only once.

    An eager variant whose warm-up shows that one call will not fit in its share of the
    budget keeps that warm-up call as its figure; the others share what it leaves.
    """
    fair_share = budget / len(variants)
    once = {name for name, _, warmup in variants if warmup and warmup.estimate > fair_share}
    measured: dict[str, Measurement] = {}
    for name, _, warmup in variants:
        if name in once:
            measured[name] = Measurement.from_runs([warmup.total], 1)
            warnings.append(_too_slow(name, warmup, budget))
    steady = [(name, call) for name, call, _ in variants if name not in once]
    deadline = time.perf_counter() + budget
    for i, (name, call) in enumerate(steady):
        share = (deadline - time.perf_counter()) / (len(steady) - i)
        measured[name] = _steady(call, time.perf_counter() + share, repeat or DEFAULT_REPEAT)
        if repeat is not None and measured[name].runs < repeat:
            warnings.append(f"{name}: only {measured[name].runs} of {repeat} runs fit in the "
                            f"{budget:g} s budget")
    return measured, once


def _jit_afresh(
    fn: Callable,
    static_argnums: int | Sequence[int] | None,
    static_argnames: str | Sequence[str] | None,
    args: Sequence[Any],
    kwargs: dict[str, Any],
) -> jitting.JitCall:
    """A jit JAX has never seen (unless the user's own must be called: ``reused``), and the
    function to run eagerly, on copies of any modules a call updates in place.

    A reused jit must not donate the user's arrays.
    """
    call = jitting.prepare(fn, args, kwargs, static_argnums or None, static_argnames or None)
    if call.reused and _donates(fn, args, kwargs):
        raise ValueError(
            "this function is jitted with donate_argnums and shardings: timing it would "
            "delete your arrays; time it without donation"
        )
    return call.isolated()


def _donates(jitted: Callable, args: Sequence[Any], kwargs: dict[str, Any]) -> bool:
    info = jitted.trace(*args, **kwargs).lower().args_info
    return any(leaf.donated for leaf in jax.tree_util.tree_leaves(info))


def jitted_call(fn: Callable, static_argnums: int | Sequence[int] | None,
                static_argnames: str | Sequence[str] | None, args: Sequence[Any],
                kwargs: dict[str, Any]) -> Callable[[], Any]:
    """The call under a jit JAX has never seen, as :func:`measure` runs it (profiling runs
    it so too): the same program, compiled anew, the user's arrays never donated."""
    call = _jit_afresh(fn, static_argnums, static_argnames, args, dict(kwargs))
    return _bind(call.jitted, call.args, call.kwargs)


def _bind(fn: Callable, args: Sequence[Any], kwargs: dict[str, Any]) -> Callable[[], Any]:
    def call():
        return fn(*args, **kwargs)

    return call


def _without_jit(call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` under ``jax.disable_jit()``; the context manager restores the setting."""
    def no_jit():
        with jax.disable_jit():
            return call()

    return no_jit


_yield = threading.local()


@contextlib.contextmanager
def yielding(check: Callable[[], None]) -> Iterator[None]:
    """Measuring in this thread calls ``check`` before each run and after the first call, to
    give way (it raises) when something else starts running: the figures would be wrong."""
    outer = getattr(_yield, "check", None)
    _yield.check = check
    try:
        yield
    finally:
        _yield.check = outer


def _give_way() -> None:
    check = getattr(_yield, "check", None)
    if check is not None:
        check()


def run_calls(call: Callable[[], Any], loops: int) -> float:
    """Wall seconds for ``loops`` calls, each waited for; garbage collection off, as timeit."""
    _give_way()
    with _gc.paused():
        start = time.perf_counter()
        for _ in range(loops):
            jax.block_until_ready(call())
        return time.perf_counter() - start


def _steady(call: Callable[[], Any], deadline: float, runs: int) -> Measurement:
    """%timeit-style: auto-range the loops, then up to ``runs`` runs before ``deadline``.

    A run lasts about :data:`TARGET_RUN_SECONDS`, less when the time left is short, so that
    the runs fit before ``deadline``.
    """
    target = min(TARGET_RUN_SECONDS, max(deadline - time.perf_counter(), 0.0) / (runs + 1))
    loops, totals = _autorange(call, target)
    while not totals or (len(totals) < runs and time.perf_counter() + max(totals) <= deadline):
        totals.append(run_calls(call, loops))
    return Measurement.from_runs(totals, loops)


def _autorange(call: Callable[[], Any], target: float) -> tuple[int, list[float]]:
    """Loops per run (1, 2, 5, 10, 20, ...) so that a run lasts up to ``target``.

    Calibrates with powers of ten until a run lasts a tenth of ``target`` (cheap, and long
    enough to read the clock well), then takes the largest 1-2-5 count that fits. Returns the
    calibration run as a first run when it used that count.
    """
    loops = 1
    while True:
        total = run_calls(call, loops)
        if total >= target / 10:
            break
        loops *= 10
    chosen = _nice_floor(loops * target / total)
    return chosen, [total] if chosen == loops else []


def _nice_floor(value: float) -> int:
    """The largest of 1, 2, 5, 10, 20, 50, ... not above ``value`` (at least 1)."""
    if value < 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return max(step * power for step in (1, 2, 5) if step * power <= value)


@dataclass(frozen=True)
class _Warmup:
    """The warm-up call of an eager variant."""

    total: float
    #: Seconds of it JAX spent tracing and compiling single ops for the first time.
    compiling: float

    @property
    def estimate(self) -> float:
        """What a second call should take."""
        return self.total - self.compiling


def _eager_warmup(call: Callable[[], Any]) -> tuple[_Warmup | None, str]:
    """One call to warm up op-by-op dispatch; (None, reason) when the function fails eagerly."""
    with _collecting() as collector:
        try:
            total = run_calls(call, 1)
        except Exception as exc:  # eager may fail where jit works; jit timing still stands
            return None, f"failed: {type(exc).__name__}: {exc}"
    compiling = sum(end - start for _, start, end in _top_level(collector.spans))
    return _Warmup(total, min(compiling, total)), ""


def _too_slow(name: str, warmup: _Warmup, budget: float) -> str:
    text = (f"{name} was too slow to run more than once in the {budget:g} s budget: its figure "
            f"is that one call")
    if warmup.compiling > 0:
        text += f", {format_time(warmup.compiling)} of it JAX compiling ops for the first time"
    return text


# -- the first call ------------------------------------------------------------------------


@dataclass(frozen=True)
class _FirstCall:
    measurement: Measurement
    breakdown: dict[str, float]
    #: Tracing and XLA compiling both happened (no cache answered).
    cold: bool
    #: The executable came from JAX's persistent compilation cache.
    cache_hit: bool
    #: jaxviz's listener had been removed (``jax.monitoring.clear_event_listeners``), so the
    #: breakdown is unknown this time; it is registered again for the next measurement.
    unheard: bool


def _first_call(call: Callable[[], Any]) -> _FirstCall:
    """Time the first call of a jit JAX has not called yet, split into its stages.

    Times use ``time.time()``, the clock of jax.monitoring's time spans. ``execute`` runs
    from the end of the last stage to the outputs being ready.
    """
    with _collecting() as collector:
        start = time.time()
        jax.block_until_ready(call())
        end = time.time()
    _give_way()  # a cell that ran meanwhile made the compile look slow
    spans = [s for s in _top_level(collector.spans) if start <= s[1] and s[2] <= end]
    unheard = not spans and not _listeners_alive()
    if unheard:
        _register_listeners(again=True)
    breakdown = dict.fromkeys(BREAKDOWN_KEYS, 0.0)
    for stage, span_start, span_end in spans:
        breakdown[stage] += span_end - span_start
    breakdown["execute"] = end - max((s[2] for s in spans), default=start)
    return _FirstCall(
        measurement=Measurement.from_runs([end - start], 1),
        breakdown=breakdown,
        cold={"trace", "compile"} <= {stage for stage, _, _ in spans},
        cache_hit=collector.cache_hits > 0,
        unheard=unheard,
    )


def _top_level(spans: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Spans not inside another: nested ones (an inner jit traced, a constant compiled while
    tracing) are already part of the outer span's time."""
    ordered = sorted(spans, key=lambda s: (s[1], -s[2]))
    kept: list[tuple[str, float, float]] = []
    for span in ordered:
        if not kept or span[1] >= kept[-1][2]:
            kept.append(span)
    return kept


# -- jax.monitoring listeners: registered once per process ---------------------------------


@dataclass
class _Collector:
    """The stage spans and cache hits seen in one thread while it is active."""

    spans: list[tuple[str, float, float]] = field(default_factory=list)
    cache_hits: int = 0
    probed: bool = False


_active = threading.local()
_register_lock = threading.Lock()
#: The listeners jaxviz has registered with jax.monitoring in this process (one of each).
registered_listeners: list[Callable] = []


def _on_time_span(event: str, start_time: float, end_time: float, **_: Any) -> None:
    collector = getattr(_active, "collector", None)
    if collector is None:
        return
    if event == _PROBE_EVENT:
        collector.probed = True
    elif event in STAGE_EVENTS:
        collector.spans.append((STAGE_EVENTS[event], start_time, end_time))


def _on_event(event: str, **_: Any) -> None:
    collector = getattr(_active, "collector", None)
    if collector is not None and event == CACHE_HIT_EVENT:
        collector.cache_hits += 1


def _register_listeners(again: bool = False) -> None:
    """Register jaxviz's listeners once per process, or ``again`` after JAX's were cleared."""
    with _register_lock:
        if registered_listeners and not again:
            return
        jax.monitoring.register_event_time_span_listener(_on_time_span)
        jax.monitoring.register_event_listener(_on_event)
        registered_listeners[:] = [_on_time_span, _on_event]


def _listeners_alive() -> bool:
    """Whether jaxviz's listener still hears events (``clear_event_listeners`` drops it)."""
    with _collecting() as collector:
        now = time.time()
        jax.monitoring.record_event_time_span(_PROBE_EVENT, now, now)
    return collector.probed


@contextlib.contextmanager
def _collecting() -> Iterator[_Collector]:
    """Forward this thread's events to a new collector while the block runs."""
    _register_listeners()
    outer = getattr(_active, "collector", None)
    _active.collector = collector = _Collector()
    try:
        yield collector
    finally:
        _active.collector = outer


# -- derived figures and warnings ----------------------------------------------------------


def _derive(timing: Timing, cost: dict[str, float | None] | None) -> None:
    """Speedup, break-even and FLOP/s from the measurements."""
    jit_call = timing.jit.best
    if timing.eager is not None and jit_call > 0:
        timing.speedup = timing.eager.best / jit_call
        timing.break_even_calls = break_even(timing.first_call.best, timing.eager.best, jit_call)
    flops = (cost or {}).get("flops")
    if flops and flops > 0:
        timing.flops = float(flops)
        timing.flops_per_second = flops / jit_call if jit_call > 0 else None


def break_even(first_call: float, eager_call: float, jit_call: float) -> int | None:
    """Smallest n with first_call + (n - 1)·jit_call ≤ n·eager_call; None if jit is not faster."""
    if eager_call <= jit_call:
        return None
    return max(1, math.ceil((first_call - jit_call) / (eager_call - jit_call)))


def _spread_warnings(measured: dict[str, Measurement]) -> list[str]:
    return [
        f"{name}: the slowest run took {m.spread:.1f}× as long as the fastest; the machine may "
        f"be busy, trust the best figure more than the mean"
        for name, m in measured.items() if m.runs > 1 and m.spread > SPREAD_LIMIT
    ]


def _cache_warnings(reused: bool) -> list[str]:
    warnings = []
    if reused:
        warnings.append("this function is jitted with shardings or layouts, so jaxviz called it "
                        "itself: its cache now holds this call, and if you had called it before "
                        "with these shapes the first call is warm")
    if jax.config.jax_enable_compilation_cache and jax.config.jax_compilation_cache_dir:
        warnings.append("JAX's persistent compilation cache is on (jax_compilation_cache_dir="
                        f"{jax.config.jax_compilation_cache_dir!r}): a first call may read the "
                        "executable from disk instead of compiling")
    return warnings
