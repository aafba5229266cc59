"""How a jaxpr equation reads in one line: primitive, the params that matter, inlined literals."""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxviz import _compat

#: Binary primitives written with an operator when one operand is a literal: ``mul ×2.0``.
OPERATORS = {
    "add": "+", "sub": "−", "mul": "×", "div": "÷", "pow": "^", "rem": "%",
    "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "eq": "=", "ne": "≠",
    "and": "&", "or": "|",
}

#: Params worth showing in the label, per primitive (all params go to the details).
KEY_PARAMS = {
    "broadcast_in_dim": ("shape",),
    "reshape": ("new_sizes",),
    "transpose": ("permutation",),
    "reduce_sum": ("axes",), "reduce_max": ("axes",), "reduce_min": ("axes",),
    "reduce_prod": ("axes",), "reduce_and": ("axes",), "reduce_or": ("axes",),
    "argmax": ("axes",), "argmin": ("axes",),
    "cumsum": ("axis",), "cumprod": ("axis",), "cummax": ("axis",),
    "integer_pow": ("y",),
    "convert_element_type": ("new_dtype",),
    "squeeze": ("dimensions",), "expand_dims": ("dimensions",),
    "concatenate": ("dimension",),
    "iota": ("shape", "dimension"),
    "slice": ("start_indices", "limit_indices"),
    "dynamic_slice": ("slice_sizes",),
    "gather": ("slice_sizes",),
    "split": ("sizes", "axis"),
    "sort": ("dimension",),
    "pad": ("padding_config",),
    "jit": ("name",), "pjit": ("name",),
    "custom_jvp_call": ("name",), "custom_vjp_call": ("name",),
    "scan": ("length",),
    "psum": ("axes",), "all_gather": ("axis_name",),
}

CATEGORIES = {
    "matmul": {"dot_general", "conv_general_dilated", "ragged_dot", "ragged_dot_general"},
    "reduction": {
        "reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or",
        "argmax", "argmin", "cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp",
        "reduce_precision", "reduce_xor",
    },
    "movement": {
        "broadcast_in_dim", "reshape", "transpose", "squeeze", "expand_dims", "concatenate",
        "slice", "dynamic_slice", "dynamic_update_slice", "gather", "scatter", "scatter-add",
        "scatter_add", "scatter_mul", "scatter_min", "scatter_max", "pad", "rev", "select_n",
        "convert_element_type", "copy", "copy_p", "iota", "split", "sort", "bitcast_convert_type",
    },
    "collective": {
        "psum", "pmax", "pmin", "all_gather", "all_to_all", "ppermute", "reduce_scatter",
        "psum_scatter", "axis_index", "pbroadcast", "psum_invariant", "pvary",
        "all_gather_invariant",
    },
    "random": {"random_bits", "random_seed", "random_wrap", "random_unwrap", "threefry2x32",
               "random_fold_in", "random_split"},
}
_CATEGORY_OF = {prim: cat for cat, prims in CATEGORIES.items() for prim in prims}
#: Primitives that are neither elementwise nor any category above.
_NOT_ELEMENTWISE = {"custom_call", "pure_callback", "io_callback", "debug_callback",
                    "optimization_barrier", "ffi_call"}

#: Params never worth a label: they repeat the types on the edges or are defaults.
_NOISE = {
    "sharding", "out_sharding", "precision", "accuracy", "preferred_element_type",
    "weak_type", "algorithm", "transpose_algorithm", "unroll", "out_dtype",
    "donated_invars", "in_shardings", "out_shardings", "in_layouts", "out_layouts",
    "keep_unused", "inline", "compiler_options_kvs", "ctx_mesh", "mode",
    "indices_are_sorted", "unique_indices", "fill_value", "symbolic_zeros",
}

MAX_LABEL = 48


def category(primitive: str) -> str:
    if primitive in _CATEGORY_OF:
        return _CATEGORY_OF[primitive]
    return "other" if primitive in _NOT_ELEMENTWISE else "elementwise"



def format_value(value: Any) -> str:
    """Short text for a literal or param value."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _scalar(float(value))
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if hasattr(value, "dtype") and hasattr(value, "shape") and not isinstance(value, str):
        try:
            arr = np.asarray(value)
        except Exception:  # PRNG keys and other extended dtypes hold no NumPy values
            return _compat.value_type_str(value)
        if arr.ndim == 0:
            return _scalar(arr.item())
        if arr.size <= 4:
            return "[" + ", ".join(_scalar(v) for v in arr.ravel().tolist()) + "]"
        return f"{arr.dtype.name}{list(arr.shape)}"
    if isinstance(value, tuple):
        return "(" + ", ".join(format_value(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return value if isinstance(value, str) else repr(value)


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return repr(round(value, 6)) if abs(value) < 1e6 else f"{value:.3g}"
    return str(value)


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def param_label(primitive: str, params: dict[str, Any]) -> str:
    """The params that matter, as ``k=v`` text (empty when none do)."""
    if primitive == "dot_general":
        (lc, rc), (lb, rb) = params["dimension_numbers"]
        text = f"contract {list(lc)}·{list(rc)}" if lc or rc else "outer"
        if lb or rb:
            text += f" batch {list(lb)}·{list(rb)}"
        return text
    if primitive == "convert_element_type":
        return "→ " + format_value(params.get("new_dtype"))
    if primitive == "integer_pow":
        return f"^{params.get('y')}"
    if primitive == "scan":
        return f"×{params.get('length')}"
    keys = KEY_PARAMS.get(primitive)
    if keys is None:
        keys = tuple(
            k for k, v in params.items()
            if k not in _NOISE and v is not None and not callable(v) and len(repr(v)) <= 24
        )[:2]
    return " ".join(f"{k}={format_value(params[k])}" for k in keys if k in params)


def equation_label(primitive: str, params: dict[str, Any], literals: list[Any | None]) -> str:
    """``primitive`` + literal operands + key params, e.g. ``mul ×2.0``, ``lt(·, 10)``.

    ``literals`` has one entry per operand: the literal's value, or None for a variable.
    """
    text = primitive
    if any(v is not None for v in literals):
        shown = [format_value(v) if v is not None else "·" for v in literals]
        op = OPERATORS.get(primitive)
        if op and len(literals) == 2 and literals[0] is None:
            operand = f"({shown[1]})" if shown[1].startswith("-") else shown[1]
            text += f" {op}{operand}"
        elif op and len(literals) == 2 and literals[1] is None:
            text += f" {shown[0]} {op.strip()} ·"
        else:
            text += "(" + ", ".join(shown) + ")"
    extra = param_label(primitive, params)
    if extra:
        text += " " + extra
    return shorten(text)
