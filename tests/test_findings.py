"""Findings for the seed lessons' traps, and none where there is no trap."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxviz
import programs as P
from test_jaxpr_graph import line_of

shift = 2.0
b = jnp.ones(3)
config = {"relu": True}
EPSILON = 1e-6
BIG = jnp.zeros((600, 600))  # 1.4 MB


def impure(x):
    return x + shift


def uses_global_array(x):
    return x @ b


def configured(x):
    if config["relu"]:
        return jax.nn.relu(x)
    return x


def noisy(x):
    print("x is", x)
    return x * 2


def uses_big(x):
    return x + BIG


def pure(x, scale):
    return jnp.tanh(x) * scale


def with_constant(x):
    return x / (x.sum() + EPSILON)


def kinds(trace):
    return [f.kind for f in trace.findings]


@contextlib.contextmanager
def simplified_constants(on):
    name = "jax_use_simplified_jaxpr_constants"
    if not hasattr(jax.config, name):
        pytest.skip("this jax has no simplified jaxpr constants")
    before = getattr(jax.config, name)
    jax.config.update(name, on)
    try:
        yield
    finally:
        jax.config.update(name, before)


def test_baked_in_python_scalar():
    (f,) = jaxviz.trace(impure, jnp.ones(3)).findings
    assert (f.kind, f.severity) == ("baked-constant", "warning")
    assert "`shift` (= 2.0)" in f.message and "won't change" in f.message
    assert f.line == line_of(impure, "x + shift")
    assert f.node_ids and "argument" in f.hint


@pytest.mark.parametrize("simplified", [False, True])
def test_captured_global_array(simplified):
    with simplified_constants(simplified):
        t = jaxviz.trace(uses_global_array, jnp.ones((2, 3)))
        (f,) = t.findings
    assert f.kind == "captured-array"
    assert "global array `b` (f32[3], 12 B)" in f.message
    assert f.line == line_of(uses_global_array, "x @ b")
    assert f.hint == "pass `b` as an argument"


@pytest.mark.parametrize("simplified", [False, True])
def test_large_captured_constant(simplified):
    with simplified_constants(simplified):
        (f,) = jaxviz.trace(uses_big, jnp.ones((600, 600))).findings
    assert (f.kind, f.severity) == ("large-constant", "warning")
    assert "`BIG`" in f.message and "1.37 MiB" in f.message


def test_python_dict_steering_the_trace():
    (f,) = jaxviz.trace(configured, jnp.ones(3)).findings
    assert f.kind == "trace-time-value"
    assert "`config` (dict)" in f.message
    assert f.line == line_of(configured, 'if config["relu"]')


def test_print_while_tracing():
    (f,) = jaxviz.trace(noisy, jnp.ones(3)).findings
    assert (f.kind, f.severity) == ("trace-side-effect", "warning")
    assert "ran only while tracing" in f.message and "jax.debug.print" in f.hint
    assert f.line == line_of(noisy, "print(")


def test_unrolled_loop_finding():
    (f,) = [f for f in jaxviz.trace(P.stupid_fn, jnp.ones(2)).findings if f.kind == "unrolled-loop"]
    assert f.kind == "unrolled-loop"
    assert "unrolled 1000×" in f.message and "body: mul" in f.message
    assert "tracing and compiling this program took" in f.message
    assert "lax.fori_loop(0, 1000" in f.hint
    assert f.line == line_of(P.stupid_fn, "for _ in range(1000)")  # the loop's own line
    (group,) = f.node_ids
    assert jaxviz.trace(P.stupid_fn, jnp.ones(2)).graph().nodes[group].op == "unrolled"


def test_loop_over_layers_suggests_scanning_stacked_parameters():
    t = jaxviz.trace(P.feed_forward, P.make_params((4,) * 6), jnp.ones(4))
    (f,) = t.findings
    assert "lax.scan" in f.hint and "stack" in f.hint


def test_constant_named_in_capitals_is_only_info():
    (f,) = jaxviz.trace(with_constant, jnp.ones(3)).findings
    assert (f.kind, f.severity) == ("baked-constant", "info")


@pytest.mark.parametrize("program, args", [
    (pure, (jnp.ones(3), 2.0)),
    (P.fn, (P.W, P.B, P.X)),
    (P.cond_fn, (jnp.ones(2),)),
    (P.feed_forward, (P.make_params(), jnp.ones(8))),
])
def test_no_findings_without_a_trap(program, args):
    assert jaxviz.trace(program, *args).findings == []


@pytest.mark.parametrize("program", [P.fori_fn, P.while_fn])
def test_a_dead_loop_is_its_only_finding(program):
    (f,) = jaxviz.trace(program, jnp.ones(2)).findings
    assert (f.kind, f.severity) == ("removed-by-xla", "info")
    assert f.message.startswith("1 loop was removed by XLA")


def test_findings_in_text_and_html():
    t = jaxviz.trace(impure, jnp.ones(3))
    assert "baked into the compiled function" in repr(t)
    assert "baked into the compiled function" in t._repr_html_()


def test_loop_count_from_outside_is_fixed_at_trace_time_not_baked_in():
    steps = 5

    def repeated(x):
        for _ in range(steps):
            x = jnp.sin(x)
        return x

    found = jaxviz.trace(repeated, jnp.ones(2)).findings
    fixed = [f for f in found if f.kind == "trace-time-value"]
    assert len(fixed) == 1 and "`steps` (= 5)" in fixed[0].message
    assert not [f for f in found if f.kind == "baked-constant"]


def _helper_reading_b(x):
    return x @ b


def calls_helper(x):
    return _helper_reading_b(x) * 2.0


def test_globals_read_by_a_called_function_are_found_at_their_line():
    (f,) = jaxviz.trace(calls_helper, jnp.ones((2, 3))).findings
    assert f.kind == "captured-array" and "`b`" in f.message
    assert f.line == line_of(_helper_reading_b, "x @ b")


BRANCHES = [lambda v: v, lambda v: -v]


def test_a_list_of_functions_is_not_a_trace_time_value():
    assert jaxviz.trace(lambda i, v: jax.lax.switch(i, BRANCHES, v), 1, 2.0).findings == []


CHUNK = 2
SCALE = 0.5


@jax.custom_vjp
def chunked_sum(x):
    def body(total, i):
        return total + jax.lax.dynamic_slice(x, (i * CHUNK,), (CHUNK,)).sum() * SCALE, None
    return jax.lax.scan(body, 0.0, jnp.arange(x.shape[0] // CHUNK))[0]


def _chunked_fwd(x):
    return chunked_sum(x), x


def _chunked_bwd(x, g):
    return (jnp.full_like(x, g * SCALE),)


chunked_sum.defvjp(_chunked_fwd, _chunked_bwd)


def test_globals_read_in_inner_functions_and_custom_vjp_rules_are_all_found():
    found = jaxviz.trace(jax.grad(chunked_sum), jnp.ones(6)).findings
    named = {f.message.split("`")[1] for f in found if f.kind in ("baked-constant",
                                                                 "trace-time-value")}
    assert named == {"CHUNK", "SCALE"}
    assert all(f.line is not None for f in found)
