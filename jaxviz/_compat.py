"""Every touch of JAX internals, with shims for the versions jaxviz supports (jax >= 0.7).

Nothing else in jaxviz imports from ``jax._src`` or relies on attributes that JAX does not
document. When JAX changes, this file is the one to fix.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator, NamedTuple

import jax
from jax.extend import core as jcore

JAX_VERSION: tuple[int, ...] = tuple(
    int(p) for p in re.findall(r"\d+", jax.__version__)[:3]
)

ClosedJaxpr = jcore.ClosedJaxpr
Jaxpr = jcore.Jaxpr
Literal = jcore.Literal
Var = jcore.Var
if hasattr(jcore, "DropVar"):
    DropVar = jcore.DropVar
else:  # jax < 0.8 did not export it
    from jax._src.core import DropVar


class Frame(NamedTuple):
    """The user's line that produced an equation."""

    filename: str
    line: int
    function: str


def user_frame(eqn: Any) -> Frame | None:
    """The innermost frame of the user's code in an equation's traceback."""
    from jax._src import source_info_util  # private: no public way to read source_info

    try:
        frame = source_info_util.user_frame(eqn.source_info.traceback)
    except TypeError:  # before jax 0.7 it took the SourceInfo itself
        frame = source_info_util.user_frame(eqn.source_info)
    if frame is None:
        return None
    return Frame(frame.file_name, frame.start_line, frame.function_name)


def frames(eqn: Any) -> list[Frame]:
    """Every Python frame of an equation's traceback, innermost first."""
    traceback = getattr(eqn.source_info, "traceback", None)
    if traceback is None:
        return []
    return [Frame(f.file_name, f.line_num, f.function_name) for f in traceback.frames]


def traceback_key(eqn: Any) -> Any:
    """What an equation's source lines are read from, to remember them by: JAX's traceback
    (equal, and hashed alike, where the frames are the same: every iteration of a Python
    loop), or the equation's id when it has none that hashes."""
    traceback = getattr(eqn.source_info, "traceback", None)
    try:
        hash(traceback)
    except TypeError:
        return id(eqn)
    return id(eqn) if traceback is None else traceback


def frames_where(eqn: Any, wanted: Callable[[str], bool]) -> tuple[tuple[str, int], ...]:
    """(file, line) of the frames whose file is ``wanted``, innermost first (cheaper than
    frames(): no object per frame)."""
    traceback = getattr(eqn.source_info, "traceback", None)
    if traceback is None:
        return ()
    return tuple([(f.file_name, f.line_num) for f in traceback.frames if wanted(f.file_name)])


def jaxpr_function_file(jaxpr: Any) -> str | None:
    """The file of the Python function a (nested) jaxpr was traced from, when JAX says."""
    info = getattr(open_jaxpr(jaxpr)[0], "debug_info", None)
    text = getattr(info, "func_src_info", None) or ""
    match = re.fullmatch(r".* at (.+):\d+", text)
    return match[1] if match else None


def name_stack(eqn: Any) -> tuple[str, ...]:
    """The scopes (``jax.named_scope``, module names, ``jvp(...)``) an equation sits in."""
    text = str(getattr(eqn.source_info, "name_stack", "") or "")
    return tuple(part for part in text.split("/") if part)


def debug_names(closed_jaxpr: Any) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """Argument names (``params[0]['W']``) and result paths that JAX recorded while tracing."""
    info = getattr(closed_jaxpr.jaxpr, "debug_info", None)
    if info is None:
        return None, None
    arg_names = getattr(info, "arg_names", None)
    result_paths = getattr(info, "result_paths", None)
    if callable(result_paths):  # a thunk in some versions
        try:
            result_paths = result_paths()
        except Exception:
            result_paths = None
    return (
        tuple(arg_names) if arg_names is not None else None,
        tuple(result_paths) if result_paths is not None else None,
    )


def uncached(closed_jaxpr: Any) -> Any:
    """The same program in a new ClosedJaxpr object.

    JAX's lowering and compilation caches are keyed weakly on the traced ClosedJaxpr object:
    while that object lives, so do its MLIR module and compiled executable (about 1.5 MB for
    even a tiny function). A Trace kept by a notebook output holds this copy instead, so
    the executable goes once nothing else uses it. Equations and consts are shared.
    """
    return jcore.ClosedJaxpr(closed_jaxpr.jaxpr, closed_jaxpr.consts)


def aval_str(aval: Any) -> str:
    """Short type text like ``f32[4,2]``; remembered, since a big program has few distinct
    types and formatting one costs more than looking it up."""
    try:
        text = _AVAL_TEXT.get(aval)
    except TypeError:  # unhashable
        return _format_aval(aval)
    if text is None:
        if len(_AVAL_TEXT) >= 4096:
            _AVAL_TEXT.clear()
        text = _AVAL_TEXT[aval] = _format_aval(aval)
    return text


_AVAL_TEXT: dict[Any, str] = {}


def _format_aval(aval: Any) -> str:
    try:
        return aval.str_short(short_dtypes=True)
    except Exception:
        shape = getattr(aval, "shape", None)
        dtype = getattr(aval, "dtype", None)
        if shape is None:
            return str(aval)
        return f"{dtype}[{','.join(map(str, shape))}]"


def value_type_str(value: Any) -> str:
    """Short type text of a concrete array, like ``f32[4,2]``."""
    try:
        return aval_str(jax.typeof(value))
    except Exception:
        return aval_str(value)


def sub_jaxprs(params: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(label, jaxpr) for every jaxpr held in an equation's params, open or closed.

    Found generically, so primitives jaxviz has never heard of still nest correctly.
    ``label`` is the param name, with an index for tuples (``branches[1]``).
    """
    for key, value in params.items():
        if isinstance(value, (ClosedJaxpr, Jaxpr)):
            yield key, value
        elif isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                if isinstance(item, (ClosedJaxpr, Jaxpr)):
                    yield f"{key}[{i}]", item


def all_equations(jaxpr: Any) -> Iterator[Any]:
    """Every equation of a jaxpr (open or closed) and of the jaxprs nested in it, each
    before those nested in it, in order (no recursion: nesting may run deep)."""
    stack = [iter(open_jaxpr(jaxpr)[0].eqns)]
    while stack:
        eqn = next(stack[-1], None)
        if eqn is None:
            stack.pop()
            continue
        yield eqn
        stack.extend(iter(open_jaxpr(sub)[0].eqns) for _, sub in reversed(list(sub_jaxprs(eqn.params))))


def jaxpr_text(closed_jaxpr: Any, max_equations: int) -> tuple[str, int]:
    """The printed jaxpr's first equations (those nested inside them counted too), and how
    many top-level equations are left out.

    Printing a 10,000-equation jaxpr whole takes most of a second; a preview shows a few
    thousand characters of it, so only what is shown is printed (at least one equation).
    """
    eqns = closed_jaxpr.jaxpr.eqns
    kept = total = 0
    while kept < len(eqns):
        total += _equation_count(eqns[kept])
        if total > max_equations and kept > 0:
            break
        kept += 1
    if kept == len(eqns):
        return str(closed_jaxpr), 0
    head = jcore.ClosedJaxpr(closed_jaxpr.jaxpr.replace(eqns=eqns[:kept]), closed_jaxpr.consts)
    return str(head), len(eqns) - kept


def _equation_count(eqn: Any) -> int:
    """1, plus the equations of the jaxprs nested in its params."""
    return 1 + sum(1 for _, sub in sub_jaxprs(eqn.params) for _ in all_equations(sub))


def open_jaxpr(jaxpr: Any) -> tuple[Any, list[Any]]:
    """(Jaxpr, consts) of a closed or open jaxpr."""
    if isinstance(jaxpr, ClosedJaxpr):
        return jaxpr.jaxpr, list(jaxpr.consts)
    return jaxpr, []


def is_jitted(fn: Any) -> bool:
    """True for the object ``jax.jit`` returns."""
    return callable(getattr(fn, "trace", None)) and callable(getattr(fn, "lower", None))


def cost_analysis(compiled: Any) -> dict[str, float] | None:
    """``compiled.cost_analysis()`` as one dict (older jax returned a list of dicts)."""
    try:
        cost = compiled.cost_analysis()
    except Exception:
        return None
    if isinstance(cost, (list, tuple)):
        cost = cost[0] if cost else None
    return dict(cost) if cost else None


def memory_analysis(compiled: Any) -> Any:
    try:
        return compiled.memory_analysis()
    except Exception:
        return None


def sharding_devices(value: Any) -> list[Any]:
    """Devices a committed ``jax.Array`` lives on; [] for anything else."""
    devices = getattr(value, "devices", None)
    if not callable(devices):
        return []
    try:
        return sorted(devices(), key=lambda d: d.id)
    except Exception:
        return []


def jit_statics(jitted: Any) -> tuple[Any, tuple[int, ...], tuple[str, ...]] | None:
    """(wrapped function, static_argnums, static_argnames) of a ``jax.jit`` object.

    None when the jit carries options a plain re-jit would lose (shardings, layouts, a
    device): such a function must be traced through its own ``.trace``.
    """
    info = getattr(jitted, "_jit_info", None)
    fun = getattr(jitted, "__wrapped__", None) or getattr(jitted, "_fun", None)
    if info is None or fun is None:
        return None
    plain = (
        not getattr(info, "user_specified_in_shardings", False)
        and all(_unspecified(s) for s in getattr(info, "out_shardings_leaves", ()))
        and all(x is None for x in getattr(info, "in_layouts_leaves", ()))
        and all(x is None for x in getattr(info, "out_layouts_leaves", ()))
        and getattr(info, "device", None) is None
        and getattr(info, "backend", None) is None
        and not getattr(info, "compiler_options_kvs", ())
    )
    if not plain:
        return None
    return fun, tuple(info.static_argnums), tuple(info.static_argnames)


def _unspecified(sharding: Any) -> bool:
    return type(sharding).__name__ == "UnspecifiedValue"


#: Loggers JAX writes "TRACING CACHE MISS" explanations to (0.7: pjit; later: partial_eval).
CACHE_MISS_LOGGERS = ("jax._src.interpreters.partial_eval", "jax._src.pjit")
EXPLAIN_CACHE_MISSES = "jax_explain_cache_misses"


class ProfiledEvent(NamedTuple):
    """One complete event of JAX's profiler trace: what ran, on which thread, when and how
    long (seconds; start relative to the trace's)."""

    name: str
    thread: Any
    start: float
    seconds: float


def profiled_events(run: Callable[[], Any]) -> tuple[Any, list[ProfiledEvent]]:
    """``run()`` under ``jax.profiler.trace``: (what it returned, the events recorded).

    The profiler writes its trace into a folder: a temporary one, removed at once. The
    Chrome-trace file (``*.trace.json.gz``) is read, which every supported jax writes
    (``jax.profiler.ProfileData`` needs a module jax 0.7 does not ship).
    """
    import glob
    import gzip
    import json
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="jaxviz-profile-") as folder:
        with jax.profiler.trace(folder):
            result = run()
        files = glob.glob(os.path.join(folder, "**", "*.trace.json.gz"), recursive=True)
        events = []
        for path in files:
            with gzip.open(path, "rt", encoding="utf-8") as trace_file:
                data = json.load(trace_file)
            for event in data.get("traceEvents", ()):
                if event.get("ph") == "X" and "dur" in event:
                    events.append(ProfiledEvent(
                        str(event.get("name", "")), (event.get("pid"), event.get("tid")),
                        float(event.get("ts", 0.0)) * 1e-6, float(event["dur"]) * 1e-6))
    return result, events


def buffer_reports(lowered: Any) -> str | None:
    """XLA's buffer assignment and live ranges of the optimized program, as text: ``lowered``
    compiled again with dumps on, into a temporary folder removed at once; None where the
    backend writes no such dump. (jax 0.7 writes the live ranges into the buffer assignment
    file; later ones into a file of their own.)"""
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="jaxviz-buffers-") as folder:
        lowered.compile(compiler_options={"xla_dump_to": folder})
        names = sorted(os.listdir(folder))
        parts = []
        for suffix in ("after_optimizations-buffer-assignment.txt",
                       "after_optimizations-live-range.txt"):
            found = [name for name in names if name.endswith(suffix)]
            if found:
                with open(os.path.join(folder, found[-1]), encoding="utf-8") as report:
                    parts.append(report.read())
    return "\n".join(parts) if parts else None
