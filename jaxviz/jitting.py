"""How jaxviz jits the user's callable: by the rules of the library that wrapped it.

- ``jax.jit`` functions are jitted afresh with their own static arguments (a fresh wrapper,
  so JAX's caches cannot hide prints while tracing or make a first call look warm).
- ``nnx.jit`` functions, and plain functions given Flax NNX modules, are traced through
  ``nnx.jit``: module state goes in and comes out, so in-place updates are the program's
  outputs, as they are when the user runs it.
- ``eqx.filter_jit`` functions, and plain functions whose arguments hold leaves that are
  neither arrays nor numbers (an Equinox module's activation, an optax transformation, a
  string in a config dict), follow filter semantics: array leaves are traced, every other
  leaf is static.
- Bound methods of pytrees and callable pytrees (an Equinox module called as ``model(x)``)
  take their object as the first argument ``self``, so its arrays are inputs, not constants.

Flax and Equinox are looked at only when the user's objects come from them (never imported
here otherwise).
"""

from __future__ import annotations

import copy
import re
import functools
import inspect
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import jax
import numpy as np

from jaxviz import _compat

#: Leaves JAX traces as arrays.
ARRAY_TYPES = (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct)
#: Python numbers ``jax.jit`` traces too (filter semantics keeps them static).
NUMBER_TYPES = (bool, int, float, complex)


@dataclass(frozen=True)
class StaticLeaf:
    """An argument leaf kept out of the traced program (its value is fixed at trace time)."""

    path: str
    value: str


@dataclass
class JitCall:
    """The user's call, ready to trace and run under jit by its library's rules."""

    #: Traces (``.trace(*args, **kwargs)``) and runs (``jitted(*args, **kwargs)``) the program.
    jitted: Callable
    args: tuple
    kwargs: dict
    #: The undecorated Python function: its source, signature and globals are the user's.
    original: Callable
    #: How to call ``original`` eagerly: the user's own arguments.
    eager_args: tuple
    eager_kwargs: dict
    static_argnums: tuple[int, ...] = ()
    static_argnames: tuple[str, ...] = ()
    static_leaves: tuple[StaticLeaf, ...] = ()
    #: "jax.jit", "nnx.jit", "eqx.filter_jit" or "" (a plain function).
    library: str = ""
    #: The user's own jit object is called (it carries options a fresh jit would lose).
    reused: bool = False
    #: Turns what ``jitted.trace`` returns into JAX's ``Traced`` (nnx wraps it).
    _unwrap: Callable[[Any], Any] = field(default=lambda traced: traced, repr=False)
    #: Better names for the program's inputs and outputs than JAX recorded (nnx state paths).
    _rename: Callable[[tuple, tuple], tuple[tuple, tuple]] | None = field(default=None, repr=False)

    def trace(self) -> Any:
        """JAX's ``Traced`` for this call."""
        return self._unwrap(self.jitted.trace(*self.args, **self.kwargs))

    def names(self, arg_names: tuple | None, result_names: tuple | None) -> tuple:
        """Input and output names for the graph: JAX's, improved where the library hides them."""
        if self._rename is None or arg_names is None or result_names is None:
            return arg_names, result_names
        return self._rename(arg_names, result_names)

    def isolated(self) -> "JitCall":
        """The same call on copies of module arguments that calls update in place (nnx), so
        running it many times (timing) leaves the user's modules as they were."""
        if self.library != "nnx.jit":
            return self
        args, kwargs = copy.deepcopy((self.args, self.kwargs))
        eager_args, eager_kwargs = copy.deepcopy((self.eager_args, self.eager_kwargs))
        return replace(self, args=args, kwargs=kwargs, eager_args=eager_args,
                       eager_kwargs=eager_kwargs)


def prepare(fn: Callable, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
            static_argnums: int | Sequence[int] | None = None,
            static_argnames: str | Sequence[str] | None = None) -> JitCall:
    """A :class:`JitCall` for ``fn(*args, **kwargs)`` (see the module docstring)."""
    if not callable(fn):
        raise TypeError(f"expected a function to trace, got {type(fn).__name__}")
    args, kwargs = tuple(args), dict(kwargs or {})
    argnums, argnames = as_tuple(static_argnums, int), as_tuple(static_argnames, str)
    if _library_of(fn) == "flax" and hasattr(fn, "fun") and callable(getattr(fn, "trace", None)):
        return _nnx_call(fn, fn.fun, args, kwargs)
    if _library_of(fn) == "equinox" and callable(getattr(fn, "__wrapped__", None)) \
            and hasattr(fn, "lower"):  # eqx.filter_jit's wrapper keeps the function there
        function, args, argnums = _with_self(fn.__wrapped__, args, argnums)
        return _filtered(function, args, kwargs, argnums, argnames, library="eqx.filter_jit")
    library = ""
    if _compat.is_jitted(fn):
        statics = _compat.jit_statics(fn)
        if statics is None:
            if argnums or argnames:
                raise ValueError(
                    "this function is already jitted with shardings or layouts; give "
                    "static_argnums to its own jax.jit instead of to jaxviz")
            original = getattr(fn, "__wrapped__", fn)
            return JitCall(fn, args, kwargs, original, args, kwargs, library="jax.jit",
                           reused=True)
        fn, own_nums, own_names = statics
        if not (argnums or argnames):
            argnums, argnames = own_nums, own_names
        library = "jax.jit"
    fn, args, argnums = _with_self(fn, args, argnums)
    if _holds_nnx_modules(args, kwargs):
        return _nnx_call(None, fn, args, kwargs, argnums, argnames)
    if _needs_filter(args, kwargs, argnums, argnames):
        return _filtered(fn, args, kwargs, argnums, argnames, library=library)
    jitted = jax.jit(_fresh(fn), static_argnums=argnums or None,
                     static_argnames=argnames or None)  # None lets jit map names to positions
    return JitCall(jitted, args, kwargs, fn, args, kwargs, argnums, argnames, library=library)


def name_of(fn: Callable) -> str:
    """The name the user knows the function by (a partial's function, a module's class)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    name = getattr(fn, "__name__", None)
    if name == "__call__" and hasattr(fn, "__self__"):
        return type(fn.__self__).__name__
    return name or type(fn).__name__


# -- plain jit -----------------------------------------------------------------------------

def _fresh(fn: Callable) -> Callable:
    """A new function object forwarding to ``fn``, with its name, signature and source."""
    @functools.wraps(fn)
    def fresh(*args, **kwargs):
        return fn(*args, **kwargs)

    return fresh


def _with_self(fn: Callable, args: tuple, argnums: tuple[int, ...]):
    """A bound method of a pytree holding arrays, or such a pytree called itself, as its
    function with the object as first argument (its arrays become inputs)."""
    target = getattr(fn, "__self__", None) if inspect.ismethod(fn) else None
    function = getattr(fn, "__func__", None)
    if target is None and not inspect.isroutine(fn) and not isinstance(fn, functools.partial):
        target, function = fn, getattr(type(fn), "__call__", None)
    if target is None or function is None or not _has_arrays(target):
        return fn, args, argnums
    return function, (target, *args), tuple(n + 1 for n in argnums)


def _has_arrays(value: Any) -> bool:
    try:
        return any(isinstance(leaf, ARRAY_TYPES) for leaf in jax.tree_util.tree_leaves(value))
    except Exception:
        return False


def as_tuple(value, kind) -> tuple:
    if value is None:
        return ()
    if isinstance(value, kind):
        return (value,)
    return tuple(value)


# -- filter semantics ----------------------------------------------------------------------

def _needs_filter(args: tuple, kwargs: dict, argnums: tuple, argnames: tuple) -> bool:
    """Whether some traced leaf is neither an array nor a number (jax.jit would refuse it)."""
    for i, arg in enumerate(args):
        if i not in argnums and _odd_leaves(arg):
            return True
    return any(_odd_leaves(v) for k, v in kwargs.items() if k not in argnames)


def _odd_leaves(value: Any) -> bool:
    return any(not isinstance(leaf, ARRAY_TYPES + NUMBER_TYPES)
               for leaf in jax.tree_util.tree_leaves(value))


def _filtered(fn: Callable, args: tuple, kwargs: dict, argnums: tuple, argnames: tuple,
              library: str) -> JitCall:
    """Trace array leaves, keep every other leaf (and the static arguments) static.

    The traced function gets the arguments with static leaves replaced by None (an empty
    pytree), so JAX still names each input by its path (``model.layers[0].weight``).
    """
    names = _parameter_names(fn, len(args), kwargs)
    statics: list[StaticLeaf] = []
    keep: list[tuple[list, list[bool]]] = []  # per argument: its leaves, which are traced
    dynamic_args: list[Any] = []
    for i, (name, value) in enumerate(zip(names, (*args, *kwargs.values()))):
        static = i in argnums if i < len(args) else name in argnames
        flat, treedef = jax.tree_util.tree_flatten_with_path(value)
        traced = [not static and isinstance(leaf, ARRAY_TYPES) for _, leaf in flat]
        statics += [StaticLeaf(name + jax.tree_util.keystr(path), _short(leaf))
                    for (path, leaf), t in zip(flat, traced) if not t]
        leaves = [leaf for _, leaf in flat]
        keep.append((leaves, traced))
        dynamic_args.append(jax.tree_util.tree_unflatten(
            treedef, [leaf if t else None for leaf, t in zip(leaves, traced)]))
    treedefs = [jax.tree_util.tree_structure(v) for v in (*args, *kwargs.values())]
    keys = list(kwargs)

    @functools.wraps(fn)
    def with_statics(*dyn_args, **dyn_kwargs):
        merged = []  # keyword arguments by name: jit may hand them over in another order
        for value, treedef, (leaves, traced) in zip(
                (*dyn_args, *(dyn_kwargs[k] for k in keys)), treedefs, keep):
            got = treedef.flatten_up_to(value)  # None where a leaf was kept static
            merged.append(jax.tree_util.tree_unflatten(
                treedef, [g if t else leaf for g, leaf, t in zip(got, leaves, traced)]))
        call_kwargs = dict(zip(keys, merged[len(dyn_args):]))
        # What comes out holds non-array leaves too (an updated Equinox module): those
        # stay out of the program, as they do under eqx.filter_jit.
        out, out_tree = jax.tree_util.tree_flatten(fn(*merged[:len(dyn_args)], **call_kwargs))
        return jax.tree_util.tree_unflatten(out_tree, [
            leaf if isinstance(leaf, ARRAY_TYPES + NUMBER_TYPES) else None for leaf in out])

    n = len(args)
    return JitCall(jax.jit(with_statics), tuple(dynamic_args[:n]),
                   dict(zip(keys, dynamic_args[n:])), fn, args, kwargs, argnums, argnames,
                   tuple(statics), library=library)


def _parameter_names(fn: Callable, count: int, kwargs: dict) -> list[str]:
    """The names the arguments bind to (``args[0]`` for those ``*args`` takes)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    named = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    star = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), "args")
    return [named[i] if i < len(named) else f"{star}[{i - len(named)}]"
            for i in range(count)] + list(kwargs)


def _short(value: Any, limit: int = 60) -> str:
    if callable(value) and hasattr(value, "__name__"):
        text = getattr(value, "__qualname__", None) or value.__name__
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


# -- Flax NNX ------------------------------------------------------------------------------

def _library_of(fn: Any) -> str:
    return type(fn).__module__.split(".", 1)[0]


def _holds_nnx_modules(args: tuple, kwargs: dict) -> bool:
    nnx = sys.modules.get("flax.nnx")
    if nnx is None:
        return False
    leaves = jax.tree_util.tree_leaves((args, kwargs), is_leaf=nnx.graph.is_graph_node)
    return any(nnx.graph.is_graph_node(leaf) for leaf in leaves)


def _nnx_call(jitted: Any, fn: Callable, args: tuple, kwargs: dict,
              argnums: tuple = (), argnames: tuple = ()) -> JitCall:
    """Traced through ``nnx.jit`` (the user's own, or a new one for a plain function)."""
    nnx = sys.modules["flax.nnx"]
    if jitted is None:
        jitted = nnx.jit(fn, static_argnums=argnums or None, static_argnames=argnames or None)
    names = _parameter_names(fn, len(args), kwargs)
    modules = {name: value for name, value in zip(names, (*args, *kwargs.values()))
               if nnx.graph.is_graph_node(value)}
    return JitCall(jitted, args, kwargs, fn, args, kwargs, library="nnx.jit",
                   _unwrap=lambda traced: traced.traced,
                   _rename=functools.partial(_nnx_names, nnx, names, modules))


_NNX_INPUT = re.compile(r"(\w+)\.states\[0\]\[(\d+)\]")
_NNX_UPDATED = re.compile(r"result\[0\]\[(\d+)\]\.states\[0\]\[(\d+)\]")
_NNX_RESULT = re.compile(r"result\[2\](.*)")


def _nnx_names(nnx: Any, names: list[str], modules: dict[str, Any], arg_names: tuple,
               result_names: tuple) -> tuple[tuple, tuple]:
    """``m.states[0][3]`` -> ``m.l1.kernel``: nnx.jit passes each module's state as a flat
    list, in the order of ``nnx.to_flat_state``; the updated state comes back the same way."""
    paths: dict[str, list[str]] = {}
    for name, module in modules.items():
        flat = list(nnx.to_flat_state(nnx.state(module)))
        count = sum(1 for a in arg_names if (m := _NNX_INPUT.fullmatch(a)) and m[1] == name)
        if count == len(flat):
            paths[name] = [name + _path_text(path) for path, _ in flat]

    def arg(text: str) -> str:
        match = _NNX_INPUT.fullmatch(text)
        return paths[match[1]][int(match[2])] if match and match[1] in paths else text

    def result(text: str) -> str:
        if (match := _NNX_UPDATED.fullmatch(text)) and int(match[1]) < len(names):
            name = names[int(match[1])]
            return paths[name][int(match[2])] if name in paths else text
        match = _NNX_RESULT.fullmatch(text)
        return "result" + match[1] if match else text

    return tuple(map(arg, arg_names)), tuple(map(result, result_names))


def _path_text(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else
                   f".{p}" if str(p).isidentifier() else f"[{str(p)!r}]" for p in path)
