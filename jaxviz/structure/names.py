"""Groups named in the user's words: transformations by what they do (``forward · jvp``),
JAX's own ``jit`` wrappers by the function the user called (``jnp.var``)."""

from __future__ import annotations

import functools
import os
import re
from typing import Sequence

import jax

#: A name stack segment a transformation made: ``jvp(loss)``, ``transpose(jvp())``, ...
_TRANSFORMATION = re.compile(r"(transpose\(jvp|jvp|vmap|pmap|checkpoint|remat)\((.*)\)\)?")
_WORDS = {"jvp": "forward", "transpose(jvp": "backward", "vmap": "batched", "pmap": "per device",
          "checkpoint": "rematerialized", "remat": "rematerialized"}

#: jax/_src/<folder> -> how the user calls its functions.
_PUBLIC = {"numpy": "jnp", "nn": "jax.nn", "lax": "lax", "random": "jax.random",
           "scipy": "jax.scipy", "image": "jax.image", "ops": "jax.ops"}
_JAX_SRC = os.path.join(os.path.dirname(os.path.abspath(jax.__file__)), "_src") + os.sep


def scope_label(scope: str) -> str:
    """``jvp(loss)`` -> ``forward · jvp(loss)``; ``transpose(jvp())`` -> ``backward ·
    transpose(jvp)``; a named scope or module path stays as it is."""
    match = _TRANSFORMATION.fullmatch(scope)
    if match is None or scope.count("(") != scope.count(")"):
        return scope
    return f"{_WORDS[match[1]]} · {scope.replace('()', '')}"


#: Transformations JAX writes around the scopes inside them, as they open.
_WRAPPERS = ("transpose(jvp(", "jvp(", "vmap(", "pmap(", "checkpoint(", "remat(")


def scope_levels(segment: str) -> list[tuple[str, str]]:
    """The groups one name-stack segment stands for, outermost first, as (key, label).

    JAX writes a transformation around the first scope inside it: ``jvp(conv1)`` is the
    module ``conv1`` inside the forward pass, and the next equation's ``jvp()`` is the same
    forward pass. So the pass is one group (key ``jvp()``) and the module another inside it
    (key ``jvp(conv1)``, as HLO op_names name it), and the forward pass stays one piece."""
    wrappers, core = _unwrapped(segment)
    levels = [(_wrapped(wrappers[:depth + 1]), scope_label(_wrapped([wrapper])))
              for depth, wrapper in enumerate(wrappers)]
    return levels + [(segment, core)] if core else levels


#: A module's attribute path, as jaxviz names the scope of a submodule's call (``layers[0]``,
#: ``encoder.blocks['a']``), and the class scope Equinox's layers enter (``eqx.nn.Linear``).
_ATTRIBUTE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\[\]]*\])*")
_CLASS_SCOPE = re.compile(r"eqx\.[\w.]+")


def pass_name(key: str) -> str | None:
    """What the pass a group key stands for does (``transpose(jvp())`` -> ``backward``);
    None for a named scope, a module, or a scope inside a pass (``jvp(conv1)``)."""
    wrappers, core = _unwrapped(key)
    return _WORDS[wrappers[-1][:-1]] if wrappers and not core else None


def stack_levels(stack: Sequence[str]) -> list[tuple[str, str]]:
    """The groups a name stack stands for, outermost first, as (key, label): each segment's
    (:func:`scope_levels`), but a submodule's attribute path and the class scope Equinox
    enters right inside it (``layers[0]``, ``eqx.nn.Linear``) are one group, ``layers[0] ·
    eqx.nn.Linear``, keyed by both segments joined by ``/`` (as HLO op_names have them)."""
    levels: list[tuple[str, str]] = []
    for segment in stack:
        if levels and _CLASS_SCOPE.fullmatch(segment) and _ATTRIBUTE.fullmatch(levels[-1][1]) \
                and not _CLASS_SCOPE.fullmatch(levels[-1][1]):
            key, label = levels.pop()
            levels.append((f"{key}/{segment}", f"{label} · {segment}"))
        else:
            levels += scope_levels(segment)
    return levels


def within_passes(stacks: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Name stacks, where a run of equations with scopes but no transformation between two
    under the same transformations (``jvp(vmap())``) gets theirs: JAX hoists a scan's loop
    invariants (a GRU cell's bias broadcasts) out of the loop without its pass's name, which
    would split the forward pass in two around them."""
    passes = [_passes(stack) for stack in stacks]
    bare = [bool(stack) and not any(_peel(segment) for segment in stack) for stack in stacks]
    result = list(stacks)
    for i, stack in enumerate(stacks):
        if not bare[i]:
            continue
        before = next((passes[j] for j in range(i - 1, -1, -1) if not bare[j]), [])
        after = next((passes[j] for j in range(i + 1, len(stacks)) if not bare[j]), [])
        if before and before == after:
            result[i] = (_wrapped(before, stack[0]), *stack[1:])
    return result


def _passes(stack: tuple[str, ...]) -> list[str]:
    """The transformations around a name stack's first segment (``["jvp(", "vmap("]``)."""
    return _unwrapped(stack[0])[0] if stack else []


def _unwrapped(segment: str) -> tuple[list[str], str]:
    """``jvp(vmap(f))`` -> (``["jvp(", "vmap("]``, ``f``)."""
    wrappers, core = [], segment
    while peeled := _peel(core):
        wrappers.append(peeled[0])
        core = peeled[1]
    return wrappers, core


@functools.lru_cache(maxsize=4096)  # a program has few distinct segments, and many equations
def _peel(text: str) -> tuple[str, str] | None:
    """``jvp(vmap(f))`` -> (``jvp(``, ``vmap(f)``); None when no transformation wraps it."""
    for opening in _WRAPPERS:
        closing = ")" * opening.count("(")
        if text.startswith(opening) and text.endswith(closing):
            inner = text[len(opening):len(text) - len(closing)]
            depth = 0
            for char in inner:
                depth += (char == "(") - (char == ")")
                if depth < 0:
                    break
            if depth == 0:
                return opening, inner
    return None


def _wrapped(wrappers: list[str], core: str = "") -> str:
    """[``jvp(``, ``vmap(``] -> ``jvp(vmap())`` (around ``core``: ``jvp(vmap(core))``)."""
    text = core
    for opening in reversed(wrappers):
        text = opening + text + ")" * opening.count("(")
    return text


def library_function(name: str, filename: str | None) -> str | None:
    """``jnp.var`` for JAX's own ``jit`` wrapper ``_var`` in jax/_src/numpy; None for a jit
    of the user's (or of another library)."""
    if not filename or not os.path.abspath(filename).startswith(_JAX_SRC):
        return None
    folder = os.path.abspath(filename)[len(_JAX_SRC):].split(os.sep, 1)[0].removesuffix(".py")
    return f"{_PUBLIC.get(folder, 'jax')}.{name.strip('_')}"
