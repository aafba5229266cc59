"""Any value JAX can hold draws: every dtype through labels, constants, findings and exports."""

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import jaxviz
from jaxviz.jaxpr import labels

#: Every array dtype JAX has (ml_dtypes' narrow floats and ints included); float64 and
#: int64 stay 32-bit without x64, which is itself a case to draw.
DTYPES = [np.dtype(d) for d in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
)] + [np.dtype(getattr(ml_dtypes, name)) for name in (
    "bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
    "float8_e4m3b11fnuz", "float8_e3m4", "float8_e4m3", "float8_e8m0fnu", "float4_e2m1fn",
    "int4", "uint4", "int2", "uint2",
) if hasattr(ml_dtypes, name) and hasattr(jnp, name)]
SHAPES = [(), (1,), (3,), (2, 3), (4, 5)]


#: 64-bit types stay 32-bit without x64, and complex to real drops the imaginary part:
#: JAX warns about both, and both are cases to draw.
pytestmark = pytest.mark.filterwarnings("ignore:Explicitly requested dtype",
                                        "ignore:Casting from complex")


def keys():
    return {"typed key": jax.random.key(0), "raw key": jax.random.PRNGKey(0),
            "rbg key": jax.random.key(0, impl="rbg")}


def array_of(dtype, shape):
    count = int(np.prod(shape))
    return jnp.asarray(np.arange(count).reshape(shape) % 2).astype(dtype)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dtype=st.sampled_from(DTYPES), shape=st.sampled_from(SHAPES),
       kind=st.sampled_from(["jax", "numpy", "scalar"]))
def test_format_value_of_every_dtype(dtype, shape, kind):
    value = array_of(dtype, shape)
    if kind == "numpy":
        value = np.asarray(value)
    elif kind == "scalar":
        value = np.asarray(value).reshape(-1)[0] if value.size else np.asarray(value)
    text = labels.format_value(value)
    assert isinstance(text, str) and text


@pytest.mark.parametrize("name", ["typed key", "raw key", "rbg key"])
def test_format_value_of_keys(name):
    text = labels.format_value(keys()[name])
    assert text and ("key<" in text or "u32" in text or "[" in text)


def check_everything_builds(t, tmp_path):
    assert t.errors == {}
    for view in ("jaxpr", "hlo"):
        t.graph(view)
        for suffix in ("svg", "dot", "html"):
            t.export(tmp_path / f"{view}.{suffix}", view=view)
    assert repr(t) and t._repr_mimebundle_()
    return [str(f) for f in t.findings]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_captured_constant_and_literal_of_each_dtype_draw(dtype, tmp_path):
    constant = array_of(dtype, (3,))

    def program(x):
        return (x + constant.astype(jnp.float32)) * 2, constant

    check_everything_builds(jaxviz.trace(program, jnp.ones(3)), tmp_path)


test_rng = jax.random.key(1)
raw_rng = jax.random.PRNGKey(2)


def reads_global_keys(x):
    noise = jax.random.normal(jax.random.fold_in(test_rng, 3), x.shape)
    return x + noise + jax.random.uniform(raw_rng, x.shape)


def test_captured_prng_keys_draw_and_are_reported(tmp_path):
    texts = check_everything_builds(jaxviz.trace(reads_global_keys, jnp.ones(3)), tmp_path)
    assert any("`test_rng`" in text and "key<fry>[]" in text for text in texts)
    assert any("`raw_rng`" in text for text in texts)


@pytest.mark.parametrize("name", ["typed key", "raw key", "rbg key"])
def test_key_arguments_and_outputs_draw(name, tmp_path):
    key = keys()[name]
    t = jaxviz.trace(lambda k, x: (jax.random.split(k)[0], x * 2), key, jnp.ones(2))
    check_everything_builds(t, tmp_path)


def test_committed_arrays_and_numpy_scalars_draw(tmp_path):
    committed = jax.device_put(jnp.ones(3, jnp.bfloat16), jax.devices()[0])
    t = jaxviz.trace(lambda a, s, h: a * s + h, committed, np.float32(2.0), np.float16(1.5))
    check_everything_builds(t, tmp_path)
