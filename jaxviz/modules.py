"""Flax NNX and Equinox modules as named scopes while tracing, so each submodule is a group
named by its attribute path (``l1``, ``layers[0]``), as Flax Linen modules already are.

NNX adds no name-stack entries of its own; Equinox's layers name theirs by class only
(``eqx.nn.Linear``), so an MLP's three layers would be three groups of one name. While
jaxviz traces, the ``__call__`` of each such module class in the arguments enters
``jax.named_scope(<attribute>)`` first; the classes are restored afterwards, whatever
happens. The user's code is not changed, and nothing is done unless the arguments hold NNX
or Equinox modules.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from typing import Any, Callable, Iterator

import jax


@contextlib.contextmanager
def scoped_modules(values: Any) -> Iterator[None]:
    """While inside, calls of the NNX and Equinox modules in ``values`` (and of the copies
    that ``nnx.jit`` and ``eqx.filter_jit`` make) are named scopes."""
    nnx, eqx = sys.modules.get("flax.nnx"), sys.modules.get("equinox")
    names: dict[int, str] = {}
    running: list[Any] = []
    with _patched(_nnx_classes(nnx, values) if nnx is not None else [],
                  lambda call: _nnx_scoped(nnx, call, names)), \
            _patched(_eqx_classes(eqx, values) if eqx is not None else [],
                     lambda call: _eqx_scoped(call, running)):
        yield


@contextlib.contextmanager
def _patched(classes: list[type], wrap: Callable[[Callable], Callable]) -> Iterator[None]:
    """``cls.__call__ = wrap(cls.__call__)`` for each class while inside; then the class's
    own ``__call__`` (or none) again, whatever happens."""
    saved: list[tuple[type, Any]] = []
    try:
        for cls in classes:
            own = cls.__dict__.get("__call__")
            cls.__call__ = wrap(cls.__call__)
            saved.append((cls, own))
        yield
    finally:
        for cls, own in reversed(saved):
            if own is None:
                del cls.__call__
            else:
                cls.__call__ = own


# -- Flax NNX: names collected from the module called from outside ----------------------


def _nnx_classes(nnx: Any, values: Any) -> list[type]:
    found: dict[type, None] = {}
    leaves = jax.tree_util.tree_leaves(values, is_leaf=nnx.graph.is_graph_node)
    for leaf in leaves:
        if not nnx.graph.is_graph_node(leaf):
            continue
        for _, node in nnx.iter_graph(leaf):
            if isinstance(node, nnx.Module) and callable(getattr(type(node), "__call__", None)):
                found[type(node)] = None
    return list(found)


def _nnx_scoped(nnx: Any, call: Callable, names: dict[int, str]) -> Callable:
    @functools.wraps(call)
    def scoped_call(self, *args, **kwargs):
        name = names.get(id(self))
        if name is None:  # called from outside (nnx.jit's copy of the user's module)
            for path, node in nnx.iter_graph(self):
                if path and isinstance(node, nnx.Module):
                    names.setdefault(id(node), _attribute(path))
            return call(self, *args, **kwargs)
        with jax.named_scope(name):
            return call(self, *args, **kwargs)

    return scoped_call


def _attribute(path: tuple) -> str:
    """``('encoder', 'layers', 0)`` -> ``layers[0]``: the scope of the parent is already on
    the name stack when it calls its child."""
    parts = list(path)
    text = ""
    while parts and isinstance(parts[-1], int):
        text = f"[{parts.pop()}]" + text
    return (str(parts[-1]) if parts else "") + text


# -- Equinox: each call named by where the module sits in the one calling it ------------


def _eqx_classes(eqx: Any, values: Any) -> list[type]:
    """The classes (and base classes) that define the ``__call__`` of the modules in
    ``values`` and in their fields; not Equinox's own wrappers (``filter_jit``'s, a bound
    method), whose fields are not the user's attributes."""
    found: dict[type, None] = {}
    todo = [values]
    while todo:
        value = todo.pop()
        is_child = lambda x: x is not value and isinstance(x, eqx.Module)  # noqa: E731
        for leaf in jax.tree_util.tree_leaves(value, is_leaf=is_child):
            if is_child(leaf):
                todo.append(leaf)
                found.update(dict.fromkeys(
                    cls for cls in type(leaf).__mro__ if "__call__" in cls.__dict__
                    and issubclass(cls, eqx.Module) and not cls.__module__.startswith("equinox._")))
    return list(found)


def _eqx_scoped(call: Callable, running: list[Any]) -> Callable:
    """Looks ``self`` up in the module whose ``__call__`` runs, at call time: under
    ``eqx.filter_jit`` both are new objects, rebuilt from the leaves."""
    @functools.wraps(call)
    def scoped_call(self, *args, **kwargs):
        parent = running[-1] if running else None
        name = _path_in(parent, self) if parent is not None and parent is not self else None
        running.append(self)
        try:
            with jax.named_scope(name) if name else contextlib.nullcontext():
                return call(self, *args, **kwargs)
        finally:
            running.pop()

    return scoped_call


def _path_in(parent: Any, child: Any) -> str | None:
    """``layers[0]`` when ``parent.layers[0] is child``; None when the parent holds no such
    field (a module it made, or one the function passed it)."""
    found, _ = jax.tree_util.tree_flatten_with_path(parent, is_leaf=lambda x: x is child)
    path = next((path for path, leaf in found if leaf is child), None)
    return jax.tree_util.keystr(path).removeprefix(".") if path else None
