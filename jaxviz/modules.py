"""Flax NNX modules as named scopes while tracing, so each submodule is a group named by its
attribute path (``l1``, ``layers[0]``), as Flax Linen and Equinox modules already are.

NNX adds no name-stack entries of its own. While jaxviz traces, the ``__call__`` of each NNX
module class in the arguments enters ``jax.named_scope(<attribute>)`` first; the classes are
restored afterwards, whatever happens. The user's code is not changed, and nothing is done
unless the arguments hold NNX modules.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from typing import Any, Callable, Iterator

import jax


@contextlib.contextmanager
def scoped_modules(values: Any) -> Iterator[None]:
    """While inside, calls of the NNX modules in ``values`` (and their copies that
    ``nnx.jit`` makes) are named scopes."""
    nnx = sys.modules.get("flax.nnx")
    classes = _module_classes(nnx, values) if nnx is not None else []
    if not classes:
        yield
        return
    names: dict[int, str] = {}
    patched: list[tuple[type, Any]] = []
    try:
        for cls in classes:
            own = cls.__dict__.get("__call__")
            patched.append((cls, own))
            cls.__call__ = _scoped(nnx, cls.__call__, names)
        yield
    finally:
        for cls, own in reversed(patched):
            if own is None:
                del cls.__call__
            else:
                cls.__call__ = own
        names.clear()


def _module_classes(nnx: Any, values: Any) -> list[type]:
    found: dict[type, None] = {}
    leaves = jax.tree_util.tree_leaves(values, is_leaf=nnx.graph.is_graph_node)
    for leaf in leaves:
        if not nnx.graph.is_graph_node(leaf):
            continue
        for _, node in nnx.iter_graph(leaf):
            if isinstance(node, nnx.Module) and callable(getattr(type(node), "__call__", None)):
                found[type(node)] = None
    return list(found)


def _scoped(nnx: Any, call: Callable, names: dict[int, str]) -> Callable:
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
