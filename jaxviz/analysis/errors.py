"""A failed stage as one finding: what went wrong in plain words, the line, and the fix.

JAX's own messages are long and written for every case at once; here the exception is
matched to the usual beginner traps (a traced value deciding a shape, a Python ``if`` on an
array, ``x[mask]`` under jit, a non-array argument) and the fix names the user's own
function and argument positions.
"""

from __future__ import annotations

import inspect
import re
import traceback
from typing import Any, Callable

import jax
import numpy as np

from jaxviz.capture import STAGES, Capture
from jaxviz.findings import Finding
from jaxviz.structure.sources import is_user_file

#: "... because it depends on the value of the argument n." / "... of the arguments a and b."
_DEPENDS_ON = re.compile(r"depends on the values? of the arguments? (.+?)\.?$", re.MULTILINE)
_NAME_AT_PATH = re.compile(r"at path ([A-Za-z_][^\s]*?)\.?(?:\s|$)")
_ARGUMENT_QUOTED = re.compile(r"Argument '([^']*)' of type")
_TYPE = re.compile(r"of type '?<class '([\w.]+)'>")
_SHAPE_NOT_CONCRETE = "Shapes must be 1D sequences of concrete values of integer type"


def error_findings(cap: Capture) -> list[Finding]:
    """One "trace-error" finding for the first stage that failed, or none."""
    stage = next((s for s in STAGES if s in cap.errors), None)
    if stage is None:
        return []
    exc = cap.exceptions.get(stage)
    message, hint = _explain(cap, stage, exc, cap.errors[stage])
    filename, line = _user_location(cap.original, exc)
    return [Finding("trace-error", "error", message, hint, line=line, filename=filename)]


# -- where ---------------------------------------------------------------------------------

def _user_location(fn: Callable, exc: BaseException | None) -> tuple[str | None, int | None]:
    """The innermost frame in the function's own file, else the innermost frame of user code."""
    if exc is None:
        return None, None
    frames = traceback.extract_tb(exc.__traceback__)
    own_file = getattr(getattr(inspect.unwrap(fn), "__code__", None), "co_filename", None)
    for wanted in (lambda f: f.filename == own_file, lambda f: is_user_file(f.filename)):
        for frame in reversed(frames):
            if wanted(frame):
                return frame.filename, frame.lineno
    return None, None


# -- what and how to fix -------------------------------------------------------------------

def _explain(cap: Capture, stage: str, exc: BaseException | None, text: str) -> tuple[str, str]:
    if stage == "lower":
        return (f"JAX could not lower this program for XLA: {_first_line(exc, text, False)}",
                "the full message is in Trace.errors['lower']")
    if stage == "compile":
        return (f"XLA could not compile this program: {_first_line(exc, text, False)}",
                "the full message is in Trace.errors['compile']")
    if exc is None:
        return _first_line(exc, text), ""
    args = _Arguments(cap)
    names = _traced_arguments(str(exc))
    if isinstance(exc, jax.errors.NonConcreteBooleanIndexError):
        return _boolean_index()
    if isinstance(exc, jax.errors.TracerBoolConversionError):
        return _bool_conversion(args, names)
    if isinstance(exc, jax.errors.TracerIntegerConversionError):
        return _int_conversion(args, names)
    if isinstance(exc, jax.errors.TracerArrayConversionError):
        return _array_conversion(names)
    if isinstance(exc, TypeError) and _SHAPE_NOT_CONCRETE in str(exc):
        return _traced_shape(args, names)
    if isinstance(exc, jax.errors.ConcretizationTypeError):
        return _concretization(args, names)
    if isinstance(exc, TypeError):
        found = _invalid_argument(args, str(exc)) or _list_argument(args, str(exc))
        if found:
            return found
    return _first_line(exc, text), ""


def _boolean_index() -> tuple[str, str]:
    return (
        "boolean-mask indexing (x[mask]) gives an array whose size depends on how many "
        "entries of the mask are True, which jit cannot know when it compiles",
        "keep the shape fixed and select with the mask instead: jnp.where(mask, fill, x) "
        "(e.g. `~mask * x - mask * 100.` instead of x.at[mask].set(-100.)); for sums use "
        "jnp.sum(x, where=mask); jnp.nonzero(mask, size=n) gives a fixed number of indices",
    )


def _bool_conversion(args: "_Arguments", names: list[str]) -> tuple[str, str]:
    what = _describe(names) or "a traced array"
    message = (f"a Python `if`, `while`, `and`/`or` or bool() needs True or False, but the "
               f"condition depends on {what}, which has no value while jit traces")
    select = ("decide inside the program instead: jnp.where(cond, a, b) to pick values, "
              "lax.cond(cond, true_fn, false_fn, x) to pick a branch, lax.while_loop for loops")
    static = args.static_fix(names)
    if static and args.all_python_values(names):
        return message, f"{what} is a Python setting: mark it static: {static}; or {select}"
    return message, select


def _int_conversion(args: "_Arguments", names: list[str]) -> tuple[str, str]:
    what = _describe(names) or "a traced array"
    message = (f"{what} is used as a Python integer (an index, range() or a size), but "
               f"under jit it is a traced array with no value yet")
    static = args.static_fix(names)
    if static and args.all_python_values(names):
        return message, f"make it static: {static}"
    return message, ("keep the index in the program: lax.fori_loop for loops, "
                     "lax.dynamic_slice or jnp.take for indexing with a traced value")


def _array_conversion(names: list[str]) -> tuple[str, str]:
    what = _describe(names) or "a traced array"
    return (
        f"NumPy (or another non-JAX library) was given {what}, but under jit it is a "
        f"traced value, not a concrete array",
        "use jax.numpy inside the function (jnp.sum, jnp.asarray, ...) instead of np; code "
        "that must run outside JAX goes through jax.pure_callback",
    )


def _traced_shape(args: "_Arguments", names: list[str]) -> tuple[str, str]:
    if not names:
        return ("an array shape depends on a traced value, but jit needs every shape when "
                "it compiles",
                "compute shapes from static arguments (static_argnums) or from x.shape, "
                "not from array values")
    what = _describe(names)
    verb = "decide" if len(names) > 1 else "decides"
    message = f"{what} {verb} an array shape, so it must be static (known when jit compiles)"
    static = args.static_fix(names)
    if static is None:
        return message, (f"pass {what} as its own Python int argument and mark it static "
                         f"(static_argnums)")
    recompile = f"(each new value of {what} compiles the function again)"
    if not args.all_python_values(names):
        return message, f"pass {what} as a Python int and make it static: {static} {recompile}"
    return message, f"make it static: {static} {recompile}"


def _concretization(args: "_Arguments", names: list[str]) -> tuple[str, str]:
    what = _describe(names) or "a traced array"
    message = (f"a concrete Python value (int(), float(), .item(), a size) was taken from "
               f"{what}, which has no value while jit traces")
    static = args.static_fix(names)
    if static and args.all_python_values(names):
        return message, f"make it static: {static}"
    return message, ("keep it an array: x.astype(int) instead of int(x), no .item() or "
                     "float() inside the jitted function")


def _invalid_argument(args: "_Arguments", text: str) -> tuple[str, str] | None:
    """`Argument 'x' of type <class 'str'> is not a valid JAX type` and its newer wording."""
    if "not a valid JAX type" not in text and "as an abstract array" not in text:
        return None
    kind = match.group(1).rsplit(".", 1)[-1] if (match := _TYPE.search(text)) else None
    if match := _NAME_AT_PATH.search(text):
        name = match.group(1)
    elif (match := _ARGUMENT_QUOTED.search(text)) and match.group(1) in args.values:
        name = match.group(1)
    else:  # older JAX quotes the value, not the name: find the argument of that type
        name = args.first_of_type(kind) if kind else None
    if name is None:
        return None
    static = args.static_fix([name])
    fix = f"pass an array (jnp.asarray({name})) or a number"
    if static:
        fix += f"; if it is a setting, mark it static: {static}"
    return f"argument `{name}` is a {kind or 'value'}, which JAX cannot trace", fix


def _list_argument(args: "_Arguments", text: str) -> tuple[str, str] | None:
    """A Python list passed where an array was meant: jit sees a list of separate scalars."""
    if "<class 'list'>" not in text and "<class 'tuple'>" not in text:
        return None
    name = next((n for n, v in args.values.items() if isinstance(v, (list, tuple))), None)
    if name is None:
        return None
    kind = type(args.values[name]).__name__
    return (f"argument `{name}` is a Python {kind}: jit traces it as separate scalars, "
            f"not as one array, and jax.numpy functions do not accept a {kind}",
            f"pass an array instead: jnp.asarray({name})")


# -- the user's arguments ------------------------------------------------------------------

class _Arguments:
    """The traced function's parameters and the values they got in this call."""

    def __init__(self, cap: Capture):
        self.fn_name = cap.fn_name
        self.params: list[inspect.Parameter] = []
        self.values: dict[str, Any] = {}
        try:
            signature = inspect.signature(inspect.unwrap(cap.original))
        except (TypeError, ValueError):
            return
        self.params = list(signature.parameters.values())
        try:
            self.values = dict(signature.bind(*cap.original_args,
                                              **cap.original_kwargs).arguments)
        except TypeError:
            pass

    def all_python_values(self, names: list[str]) -> bool:
        """True when every named argument is a plain Python scalar (so it can be static)."""
        return bool(names) and all(
            isinstance(self.value(n), (bool, int, float, complex, str, np.generic))
            for n in names
        )

    def value(self, name: str) -> Any:
        """The value of ``x`` or of ``xs[i]`` (an element of ``*xs``); None for deeper paths."""
        root = _root(name)
        value = self.values.get(root)
        element = re.fullmatch(r"\[(\d+)\]", name[len(root):])
        if element and isinstance(value, tuple) and int(element.group(1)) < len(value):
            return value[int(element.group(1))]
        return value if name == root else None

    def first_of_type(self, type_name: str) -> str | None:
        return next((n for n, v in self.values.items() if type(v).__name__ == type_name), None)

    def static_fix(self, names: list[str]) -> str | None:
        """`jax.jit(f, static_argnums=(1,)) or %%jaxtrace -s 1`, or None if not expressible."""
        if not names:
            return None
        nums: list[int] = []
        keywords: list[str] = []
        for name in names:
            position = self._position(name)
            if isinstance(position, int):
                nums.append(position)
            elif isinstance(position, str):
                keywords.append(position)
            else:
                return None
        options, flags = [], []
        if nums:
            options.append(f"static_argnums={tuple(sorted(set(nums)))!r}")
            flags.append("-s " + ",".join(str(n) for n in sorted(set(nums))))
        if keywords:
            options.append(f"static_argnames={tuple(dict.fromkeys(keywords))!r}")
            flags.append("--static-argnames " + ",".join(dict.fromkeys(keywords)))
        return f"jax.jit({self.fn_name}, {', '.join(options)}) or %%jaxtrace {' '.join(flags)}"

    def _position(self, name: str) -> int | str | None:
        """Index for static_argnums, name for static_argnames, None when neither works."""
        root, path = _root(name), name[len(_root(name)):]
        for index, param in enumerate(self.params):
            if param.name != root:
                continue
            if param.kind is param.VAR_POSITIONAL:
                element = re.fullmatch(r"\[(\d+)\]", path)
                return index + int(element.group(1)) if element else None
            if path:  # a leaf inside a container argument: the container is not hashable
                return None
            if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
                return index
            if param.kind is param.KEYWORD_ONLY:
                return root
        return None


def _traced_arguments(text: str) -> list[str]:
    """The argument names in JAX's "depends on the value(s) of the argument(s) ..." sentence."""
    match = _DEPENDS_ON.search(text)
    if not match:
        return []
    names = re.split(r",\s*(?:and\s+)?|\s+and\s+", match.group(1))
    return [n.strip() for n in names if n.strip() and n.strip() != "unknown"]


def _root(name: str) -> str:
    match = re.match(r"[A-Za-z_]\w*", name)
    return match.group(0) if match else name


def _describe(names: list[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _first_line(exc: BaseException | None, text: str, with_type: bool = True,
                limit: int = 200) -> str:
    """`Type: first line of the message`, clipped: the gist without JAX's whole essay."""
    if exc is None:
        body, with_type = text, False
    else:
        body = str(exc)
    line = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
    if with_type:
        line = f"{type(exc).__name__}: {line}" if line else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"
