"""error_findings on real JAX: each trap gives one finding with the user's line and the fix."""

import functools
import inspect
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend.core import Primitive

import jaxviz

X44 = jax.random.normal(jax.random.key(0), (4, 4))
MASK = jax.random.uniform(jax.random.key(1), (4, 4)) < 0.5


def line_of(fn, text):
    """The line number of the first line of ``fn``'s source that contains ``text``."""
    lines, start = inspect.getsourcelines(inspect.unwrap(fn))
    return start + next(i for i, line in enumerate(lines) if text in line)


def errors(t):
    return [f for f in t.findings if f.severity == "error"]


def only_error(t):
    """The one error finding (other analyses may add warnings beside it)."""
    found = errors(t)
    assert len(found) == 1, t.findings
    assert found[0].kind == "trace-error"
    assert "\n" not in found[0].message
    return found[0]


# -- the seed programs (learning-jax blog) -------------------------------------------------

def create_filled(val, length):
    return jnp.full((length,), val)


def mask_tensor(x, mask):
    x = x.at[mask].set(-100.)
    return x


def mask_tensor_rewritten(x, mask):
    x = ~mask * x - mask * 100.
    return x


def cond_fn_with_if(x):
    if jnp.abs(x.max() - x.min()) <= 1.0:
        return x
    else:
        return x / 2


def test_create_filled_needs_static_length():
    f = only_error(jaxviz.trace(create_filled, 2, 5))
    assert "`length`" in f.message and "shape" in f.message
    assert "jax.jit(create_filled, static_argnums=(1,))" in f.hint
    assert "%%jaxtrace -s 1" in f.hint
    assert f.filename == __file__
    assert f.line == line_of(create_filled, "jnp.full")


def test_create_filled_already_jitted_points_at_the_same_line():
    f = only_error(jaxviz.trace(jax.jit(create_filled), 2, 5))
    assert "static_argnums=(1,)" in f.hint
    assert f.line == line_of(create_filled, "jnp.full")


def test_create_filled_with_static_argnums_traces():
    t = jaxviz.trace(create_filled, 2, 5, static_argnums=(1,))
    assert t.errors == {} and errors(t) == []


def test_mask_tensor_suggests_where_rewrite():
    f = only_error(jaxviz.trace(mask_tensor, X44, MASK))
    assert "mask" in f.message
    assert "jnp.where" in f.hint and "~mask * x - mask * 100." in f.hint
    assert f.line == line_of(mask_tensor, "x.at[mask]")


def test_mask_tensor_rewrite_traces():
    assert errors(jaxviz.trace(mask_tensor_rewritten, X44, MASK)) == []


def test_if_on_traced_value_suggests_cond_or_where():
    f = only_error(jaxviz.trace(cond_fn_with_if, jnp.array([1.0, -1.0])))
    assert "`if`" in f.message and "`x`" in f.message
    assert "lax.cond" in f.hint and "jnp.where" in f.hint
    assert "static_argnums" not in f.hint  # x is an array: static would not help
    assert f.line == line_of(cond_fn_with_if, "if jnp.abs")


# -- the other tracer errors ---------------------------------------------------------------

def relu_if(x, relu):
    if relu:
        return jax.nn.relu(x)
    return x


def repeat_double(x, n):
    for _ in range(n):
        x = x * 2
    return x


def numpy_inside(x):
    return np.sin(x)


def int_of_array(x, n):
    return x[: int(n)]


def two_sizes(a, b):
    return jnp.zeros((a + b,))


def keyword_size(x, *, n):
    return jnp.zeros((n,)) + x


def test_python_flag_in_if_suggests_static():
    f = only_error(jaxviz.trace(relu_if, X44, True))
    assert "`relu`" in f.message
    assert "static_argnums=(1,)" in f.hint and "%%jaxtrace -s 1" in f.hint
    assert f.line == line_of(relu_if, "if relu")


def test_range_of_traced_int_suggests_static():
    f = only_error(jaxviz.trace(repeat_double, X44, 3))
    assert "`n`" in f.message and "integer" in f.message
    assert "jax.jit(repeat_double, static_argnums=(1,))" in f.hint
    assert f.line == line_of(repeat_double, "range(n)")


def test_numpy_on_tracer_suggests_jnp():
    f = only_error(jaxviz.trace(numpy_inside, X44))
    assert "NumPy" in f.message
    assert "jnp" in f.hint
    assert f.line == line_of(numpy_inside, "np.sin")


def test_int_of_traced_array_suggests_astype():
    f = only_error(jaxviz.trace(int_of_array, X44, jnp.array(2)))
    assert "`n`" in f.message
    assert "astype" in f.hint
    assert f.line == line_of(int_of_array, "int(n)")


def test_two_arguments_deciding_a_shape():
    f = only_error(jaxviz.trace(two_sizes, 1, 2))
    assert "`a` and `b` decide" in f.message
    assert "static_argnums=(0, 1)" in f.hint and "-s 0,1" in f.hint


def test_keyword_only_argument_uses_static_argnames():
    f = only_error(jaxviz.trace(keyword_size, 1.0, n=3))
    assert "static_argnames=('n',)" in f.hint and "--static-argnames n" in f.hint


def test_array_that_decides_a_shape_must_become_a_python_int():
    f = only_error(jaxviz.trace(create_filled, 2, jnp.array(5)))
    assert "Python int" in f.hint and "static_argnums=(1,)" in f.hint


# -- arguments JAX cannot trace ------------------------------------------------------------

def scale(x, how):
    return x * 2


def total(xs):
    return jnp.sum(xs)


def test_string_argument_is_static_and_listed():
    t = jaxviz.trace(scale, X44, "double")
    assert errors(t) == []
    assert [(leaf.path, leaf.value) for leaf in t.static_inputs] == [("how", "'double'")]
    assert "static (not traced): how='double'" in repr(t)


def test_list_argument_suggests_an_array():
    f = only_error(jaxviz.trace(total, [1.0, 2.0, 3.0]))
    assert "`xs`" in f.message and "list" in f.message
    assert "jnp.asarray(xs)" in f.hint
    assert f.line == line_of(total, "jnp.sum")


# -- plain Python errors -------------------------------------------------------------------

def divide_by_zero(x):
    y = x + 1
    return y / 0 if False else 1 / 0


def missing_key(params):
    return params["W"]


def test_python_exception_is_its_own_one_liner():
    f = only_error(jaxviz.trace(divide_by_zero, X44))
    assert f.message == "ZeroDivisionError: division by zero"
    assert f.line == line_of(divide_by_zero, "1 / 0")


def test_key_error():
    f = only_error(jaxviz.trace(missing_key, {"b": X44}))
    assert f.message == "KeyError: 'W'"
    assert f.line == line_of(missing_key, 'params["W"]')


def test_partial_without_code_object_falls_back_to_user_frames():
    f = only_error(jaxviz.trace(functools.partial(divide_by_zero), X44))
    assert f.filename == __file__
    assert f.line == line_of(divide_by_zero, "1 / 0")


# -- lowering and compiling ----------------------------------------------------------------

NO_LOWERING = Primitive("jaxviz_test_no_lowering")
NO_LOWERING.def_abstract_eval(lambda x: x)


def uses_unlowerable(x):
    return NO_LOWERING.bind(x)


def calls_missing_ffi(x):
    return jax.ffi.ffi_call("jaxviz_no_such_target", jax.ShapeDtypeStruct(x.shape, x.dtype))(x)


def test_lowering_error_is_one_line_with_the_stage():
    t = jaxviz.trace(uses_unlowerable, X44)
    assert "lower" in t.errors
    f = only_error(t)
    assert f.message.startswith("JAX could not lower this program")
    assert "jaxviz_test_no_lowering" in f.message


def test_compile_error_is_one_line_with_the_stage():
    t = jaxviz.trace(calls_missing_ffi, X44)
    assert "compile" in t.errors, t.errors
    f = only_error(t)
    assert f.message.startswith("XLA could not compile this program: ")
    assert "jaxviz_no_such_target" in f.message
    assert t.jaxpr is not None  # the stages before the failure are kept
    assert "jaxviz_no_such_target" in t.stablehlo_text and t.hlo_text is None


@pytest.mark.parametrize("fn, args", [(create_filled, (2, 5)), (mask_tensor, (X44, MASK))])
def test_finding_text_is_short(fn, args):
    finding = only_error(jaxviz.trace(fn, *args))
    text = str(finding)
    assert text.startswith(f"error: tests{os.sep}test_errors.py:{finding.line}: ")
    assert len(text.splitlines()) == 2 and "fix: " in text
    assert "Traceback" not in text and "docs.jax.dev" not in text


def test_no_error_no_finding():
    assert errors(jaxviz.trace(create_filled, 2, length=5, static_argnames=("length",))) == []


def test_static_argnames_for_a_positional_argument():
    assert errors(jaxviz.trace(create_filled, 2, 5, static_argnames=("length",))) == []
