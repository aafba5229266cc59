"""fn + args -> the stages JAX goes through: jaxpr, StableHLO, compiled HLO, cost, memory.

Each stage fails on its own: a function that traces but does not compile still gives its
jaxpr, with the compile error kept beside it. Knows nothing of graphs or displays.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import time
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import jax
import numpy as np

from jaxviz import _compat, _gc, jitting
from jaxviz.modules import scoped_modules
from jaxviz.structure.sources import is_user_file

STAGES = ("trace", "lower", "compile")

#: cost_analysis() keys worth keeping, and the names jaxviz gives them.
COST_KEYS = {
    "flops": "flops",
    "transcendentals": "transcendentals",
    "bytes accessed": "bytes_accessed",
    "optimal_seconds": "optimal_seconds",
}
MEMORY_KEYS = (
    "argument_size_in_bytes",
    "output_size_in_bytes",
    "alias_size_in_bytes",
    "temp_size_in_bytes",
    "generated_code_size_in_bytes",
    "peak_memory_in_bytes",
)


@dataclass
class Capture:
    """Everything JAX produced for one call, stage by stage."""

    fn: Callable
    fn_name: str
    args: tuple
    kwargs: dict
    #: The static arguments the user gave (the call's own may differ: a jax.jit's).
    static_argnums: tuple[int, ...]
    static_argnames: tuple[str, ...]
    #: The user's undecorated Python function (source, signature, globals), and the
    #: arguments it takes (``self`` first for a module called itself).
    original: Callable
    original_args: tuple
    original_kwargs: dict
    #: Argument leaves kept out of the program (filter semantics).
    static_leaves: tuple[jitting.StaticLeaf, ...]
    jaxpr: Any = None
    arg_names: tuple[str, ...] | None = None
    result_names: tuple[str, ...] | None = None
    const_names: list[str | None] = field(default_factory=list)
    #: JAX's ``Lowered`` and ``Compiled`` ("lower", "compile"), kept until their program
    #: text is first asked for (printing a big program's texts takes a tenth of a second,
    #: and only the text tab and the HLO view read them); then dropped: they hold the
    #: whole program.
    stages: dict[str, Any] = field(default_factory=dict)
    #: The program texts made so far, by stage ("lower": StableHLO, "compile": HLO).
    texts: dict[str, str | None] = field(default_factory=dict)
    cost: dict[str, float | None] | None = None
    memory: dict[str, int | None] | None = None
    device: str = ""
    trace_stdout: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    exceptions: dict[str, BaseException] = field(default_factory=dict)
    #: Wall seconds per stage, as jaxviz saw them.
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def stablehlo_text(self) -> str | None:
        """The lowered program's StableHLO text (None until lowered, or if lowering failed)."""
        return self._text("lower")

    @property
    def hlo_text(self) -> str | None:
        """The compiled program's optimized HLO text (None until compiled, or if it failed)."""
        return self._text("compile")

    @property
    def compiled(self) -> bool:
        """Whether XLA compiled the program (its HLO text is there to make)."""
        return "compile" in self.stages or self.texts.get("compile") is not None

    def _text(self, stage: str) -> str | None:
        if stage not in self.texts:
            made = self.stages.get(stage)
            if made is None:
                return None
            try:  # two threads may both print it: the same text either way
                self.texts[stage] = made.as_text()
            except Exception as exc:  # shown as the stage's error, like the stage's own
                self.texts[stage] = None
                self.errors.setdefault(stage, f"{type(exc).__name__}: {exc}")
                self.exceptions.setdefault(stage, exc)
            self.stages.pop(stage, None)
        return self.texts[stage]


def trace_only(
    fn: Callable,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    static_argnums: int | Sequence[int] | None = None,
    static_argnames: str | Sequence[str] | None = None,
) -> tuple[Capture, Any]:
    """The trace stage: the capture so far, and JAX's ``Traced`` (None when tracing failed)
    for :func:`lower_and_compile`, which ``jaxviz.trace`` runs next, or in the background."""
    call = jitting.prepare(fn, args, kwargs, static_argnums, static_argnames)
    cap = Capture(
        fn=fn, fn_name=jitting.name_of(fn), args=tuple(args), kwargs=dict(kwargs or {}),
        static_argnums=jitting.as_tuple(static_argnums, int),
        static_argnames=jitting.as_tuple(static_argnames, str), original=call.original,
        original_args=call.eager_args, original_kwargs=call.eager_kwargs,
        static_leaves=call.static_leaves,
    )
    cap.device = describe_device(list(cap.args) + list(cap.kwargs.values()))

    stdout = io.StringIO()
    # Without the collector: in a notebook holding big programs, its full passes over
    # them made tracing up to twice as slow (see _gc.py).
    with contextlib.redirect_stdout(stdout), scoped_modules((call.args, call.kwargs)), \
            _gc.paused():
        traced = _stage(cap, "trace", call.trace)
    cap.trace_stdout = stdout.getvalue()
    if traced is None:
        return cap, None
    cap.jaxpr = _compat.uncached(traced.jaxpr)
    cap.arg_names, cap.result_names = call.names(*_compat.debug_names(traced.jaxpr))
    cap.const_names = constant_names(call.original, traced.jaxpr.consts)
    return cap, traced


def lower_and_compile(cap: Capture, traced: Any) -> Capture:
    """The stages after tracing, filled into ``cap``: JAX's ``Lowered`` and ``Compiled``
    (their texts are made when first asked for), cost and memory (safe in another thread:
    they read only what tracing made)."""
    with _gc.paused():  # as tracing (lowering is Python too)
        lowered = _stage(cap, "lower", traced.lower)
        if lowered is None:
            return cap
    compiled = _stage(cap, "compile", lowered.compile)
    cap.stages["lower"] = lowered  # only now: printing it while XLA compiles it is unsafe
    if compiled is None:
        return cap
    cap.cost = _cost(compiled)
    cap.memory = _memory(compiled)
    cap.stages["compile"] = compiled
    return cap


def lower_again(cap: Capture) -> Any:
    """JAX's ``Lowered`` for the captured call, traced and lowered anew as ``capture`` did
    (what the function prints while traced is dropped): to compile again with other options
    (XLA's dumps, for the memory peak). Kept by no Trace: it holds the whole program."""
    call = jitting.prepare(cap.fn, cap.args, cap.kwargs, cap.static_argnums or None,
                           cap.static_argnames or None)
    with contextlib.redirect_stdout(io.StringIO()), scoped_modules((call.args, call.kwargs)):
        return call.trace().lower()


def _stage(cap: Capture, stage: str, step: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    try:
        return step()
    except Exception as exc:  # each stage fails on its own; the error is shown, not raised
        cap.errors[stage] = f"{type(exc).__name__}: {exc}"
        cap.exceptions[stage] = exc
        return None
    finally:
        cap.durations[stage] = cap.durations.get(stage, 0.0) + time.perf_counter() - start


@dataclass(frozen=True)
class Reference:
    """A global or closure variable read by the traced function or a function it calls."""

    name: str
    value: Any
    #: The function whose code reads it (for the line to point at).
    reader: Callable


def outside_values(fn: Callable, depth: int = 3) -> list[Reference]:
    """Globals and closure variables that ``fn`` reads (its inner functions and lambdas
    included), and that the user's own functions it calls read (``depth`` calls deep, a
    ``custom_vjp``'s forward and backward rules too); library code is not entered."""
    refs: dict[str, Reference] = {}
    visited: set[int] = set()

    def visit(function: Callable, level: int) -> None:
        function = inspect.unwrap(function)
        if id(function) in visited or not inspect.isfunction(function):
            return
        visited.add(id(function))
        for name, value in _read_names(function).items():
            if callable(value) and not isinstance(value, type):
                if level < depth and _is_user_function(value):
                    visit(value, level + 1)
                    for rule in ("fwd", "bwd", "jvp"):  # custom_vjp / custom_jvp rules
                        if inspect.isfunction(getattr(value, rule, None)):
                            visit(getattr(value, rule), level + 1)
            elif not inspect.ismodule(value) and not isinstance(value, type):
                refs.setdefault(name, Reference(name, value, function))

    visit(fn, 0)
    return list(refs.values())


def _read_names(function: Callable) -> dict[str, Any]:
    """The closure variables and globals a function's code reads, in order of appearance.

    ``inspect.getclosurevars`` looks at the outer code only; a chunked loop body or a
    lambda given to ``lax.scan`` reads its globals from a nested code object.
    """
    code = function.__code__
    values: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, function.__closure__ or ()):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # not assigned yet
            continue
    names: dict[str, None] = {}
    codes = [code]
    while codes:
        current = codes.pop(0)
        names.update(dict.fromkeys(current.co_names))
        codes.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    scope = function.__globals__
    values.update((name, scope[name]) for name in names if name in scope and name not in values)
    return values


def _is_user_function(function: Callable) -> bool:
    code = getattr(inspect.unwrap(function), "__code__", None)
    return code is not None and is_user_file(code.co_filename)


def constant_names(fn: Callable, consts: Sequence[Any]) -> list[str | None]:
    """Names (with pytree paths) of the globals and closure variables captured as constants."""
    if not consts:
        return []
    candidates: list[tuple[str, Any]] = []
    for ref in outside_values(fn):
        try:
            leaves, _ = jax.tree_util.tree_flatten_with_path(ref.value)
        except Exception:
            continue
        for path, leaf in leaves:
            candidates.append((ref.name + jax.tree_util.keystr(path), leaf))
    return [next((n for n, leaf in candidates if _same_array(const, leaf)), None)
            for const in consts]


def _same_array(const: Any, leaf: Any) -> bool:
    if const is leaf:
        return True
    if isinstance(leaf, np.ndarray) and getattr(const, "shape", None) == leaf.shape:
        try:
            return bool(np.shares_memory(np.asarray(const), leaf))
        except Exception:
            return False
    return False


def describe_device(values: Sequence[Any]) -> str:
    """Where the call runs: the devices its arrays live on, else JAX's default device."""
    devices: dict[int, Any] = {}
    for leaf in jax.tree_util.tree_leaves(values):
        for device in _compat.sharding_devices(leaf):
            devices[device.id] = device
    if not devices:
        default = jax.config.jax_default_device or jax.devices()[0]
        devices = {getattr(default, "id", 0): default}
    first = next(iter(devices.values()))
    kind = getattr(first, "device_kind", first.platform)
    if len(devices) == 1:
        return f"{first.platform}:{first.id} ({kind})"
    return f"{len(devices)} × {first.platform} ({kind})"


def _cost(compiled) -> dict[str, float | None] | None:
    raw = _compat.cost_analysis(compiled)
    if raw is None:
        return None
    return {name: _available(raw.get(key)) for key, name in COST_KEYS.items()}


def _memory(compiled) -> dict[str, int | None] | None:
    stats = _compat.memory_analysis(compiled)
    if stats is None:
        return None
    return {key: _available(getattr(stats, key, None)) for key in MEMORY_KEYS}


def _available(value):
    """None for what XLA reports as unknown (absent or negative)."""
    if value is None or value < 0:
        return None
    return value
