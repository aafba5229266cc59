"""Groups named in the user's words: transformations by what they do (``forward · jvp``),
JAX's own ``jit`` wrappers by the function the user called (``jnp.var``)."""

from __future__ import annotations

import os
import re

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


def is_transformation(scope: str) -> bool:
    return scope_label(scope) != scope


def library_function(name: str, filename: str | None) -> str | None:
    """``jnp.var`` for JAX's own ``jit`` wrapper ``_var`` in jax/_src/numpy; None for a jit
    of the user's (or of another library)."""
    if not filename or not os.path.abspath(filename).startswith(_JAX_SRC):
        return None
    folder = os.path.abspath(filename)[len(_JAX_SRC):].split(os.sep, 1)[0].removesuffix(".py")
    return f"{_PUBLIC.get(folder, 'jax')}.{name.strip('_')}"
