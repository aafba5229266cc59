"""jaxviz.timing on real JAX.

The machine running these may be small and busy, so the tests check structure and the
relations between figures, never absolute speeds (except jit beating eager on ``stupid_fn``,
which holds by orders of magnitude).
"""

import gc
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import SingleDeviceSharding

import jaxviz
from jaxviz import timing
from jaxviz.timing import Measurement, break_even, format_time, measure
from programs import stupid_fn

X = jnp.arange(4.0) / 10


def tiny(x):
    return x + 1


def matmul(a, b):
    return a @ b


def check_consistent(t: timing.Timing) -> None:
    """The relations every Timing must satisfy."""
    measurements = [t.jit, t.first_call] + [m for m in (t.eager, t.fully_eager) if m]
    for m in measurements:
        assert m.best > 0 and m.std >= 0
        assert m.best <= m.mean + 1e-15 and m.mean <= m.worst + 1e-15
        assert m.runs == len(m.times) >= 1 and m.loops >= 1
    assert t.first_call.runs == t.first_call.loops == 1
    assert set(t.first_call_breakdown) == {"trace", "lower", "compile", "execute"}
    parts = t.first_call_breakdown.values()
    assert all(part >= 0 for part in parts)
    total = t.first_call.best
    assert sum(parts) <= total * 1.01 + 1e-4
    assert sum(parts) >= 0.5 * total
    assert 0 <= t.outside_budget <= t.elapsed
    json.dumps(t.to_dict())
    assert t.device in str(t)


def test_stupid_fn_jit_is_far_faster_than_eager():
    t = measure(stupid_fn, (X,), budget=1.0)
    check_consistent(t)
    assert t.speedup is not None and t.speedup > 5
    assert t.speedup == pytest.approx(t.eager.best / t.jit.best)
    assert t.break_even_calls is not None and t.break_even_calls >= 1
    assert t.first_call_cold
    # 1000 traced multiplications make tracing most of the first call.
    breakdown = t.first_call_breakdown
    assert breakdown["trace"] > breakdown["execute"]
    assert breakdown["compile"] > 0 and breakdown["lower"] > 0


def test_tiny_dispatch_bound_function():
    t = measure(tiny, (X,), budget=0.5)
    check_consistent(t)
    assert t.eager is not None and t.eager.loops > 1
    assert t.jit.loops > 1
    assert t.flops_per_second is None


def test_medium_matmul_reports_flops_per_second():
    a = jax.random.normal(jax.random.key(0), (256, 256))
    cost = jaxviz.trace(matmul, a, a).cost
    t = measure(matmul, (a, a), budget=0.5, cost=cost)
    check_consistent(t)
    assert t.flops == pytest.approx(cost["flops"]) and t.flops > 0
    assert t.flops_per_second == pytest.approx(t.flops / t.jit.best)
    assert "FLOP/s" in str(t)


def test_first_call_is_cold_even_when_the_user_already_compiled_it():
    user_jitted = jax.jit(stupid_fn)
    user_jitted(X).block_until_ready()
    for _ in range(2):
        t = measure(stupid_fn, (X,), budget=0.1)
        assert t.first_call_cold
        assert t.first_call_breakdown["trace"] > 0 and t.first_call_breakdown["compile"] > 0
        assert not any("warm" in w for w in t.warnings)


def test_budget_is_respected():
    budget = 0.5
    start = time.perf_counter()
    t = measure(stupid_fn, (X,), budget=budget, fully_eager=True)
    wall = time.perf_counter() - start
    check_consistent(t)
    assert t.elapsed <= wall
    # Outside the budget: the first call (one compile) and one warm-up call per variant.
    assert t.elapsed - t.outside_budget < budget + 0.5
    assert t.outside_budget < t.first_call.best + t.eager.worst + t.fully_eager.worst + 1.0


def slow_eager(x):
    time.sleep(0.3)  # runs on every eager call; under jit only while tracing
    return x + 1


def test_eager_too_slow_for_the_budget_runs_once_and_says_so():
    t = measure(slow_eager, (X,), budget=0.2)
    check_consistent(t)
    assert t.eager.runs == 1 and t.eager.loops == 1
    assert t.eager.best >= 0.3
    assert "too slow" in t.eager_note
    assert any("too slow to run more than once" in w for w in t.warnings)
    assert t.speedup > 5
    assert t.elapsed - t.outside_budget < 0.2 + 0.5


def test_already_jitted_function_is_timed_eagerly_through_its_wrapped_function():
    def unrolled(x):  # a function of its own: JAX shares jit caches between jits of one function
        return stupid_fn(x)

    jitted = jax.jit(unrolled)
    t = measure(jitted, (X,), budget=0.5)
    check_consistent(t)
    assert t.speedup > 5  # eager ran the undecorated function, op by op
    assert t.first_call_cold
    assert jitted._cache_size() == 0  # the user's jitted function was never called


def test_static_arguments():
    def scale(x, n, *, power):
        return x * n ** power

    t = measure(scale, (X, 3), {"power": 2}, static_argnums=(1,), static_argnames=("power",),
                budget=0.3)
    check_consistent(t)
    jitted = jax.jit(scale, static_argnums=1, static_argnames="power")
    t = measure(jitted, (X, 3), {"power": 2}, budget=0.3)  # its own statics are used
    check_consistent(t)
    assert jitted._cache_size() == 0


def test_users_inputs_and_jax_config_are_left_alone():
    x = jnp.arange(8.0)
    before = np.asarray(x).copy()
    config = dict(jax.config.values)
    gc_enabled = gc.isenabled()
    measure(tiny, (x,), budget=0.1, fully_eager=True)
    assert not x.is_deleted()
    np.testing.assert_array_equal(np.asarray(x), before)
    assert dict(jax.config.values) == config
    assert gc.isenabled() == gc_enabled


def test_listeners_do_not_accumulate():
    measure(tiny, (X,), budget=0)
    monitoring = getattr(jax._src, "monitoring", None)  # private: peeked at only to prove it
    names = ("_event_listeners", "_event_duration_secs_listeners", "_event_time_span_listeners")
    counts = {n: len(getattr(monitoring, n)) for n in names if hasattr(monitoring, n)}
    for _ in range(50):
        t = measure(tiny, (X,), budget=0)
    assert t.first_call_cold
    assert len(timing.registered_listeners) == 2
    assert {n: len(getattr(monitoring, n)) for n in counts} == counts


def test_breakdown_comes_back_after_jax_listeners_are_cleared():
    monitoring = jax._src.monitoring  # private: saved and restored around the clearing
    names = ("_event_listeners", "_event_duration_secs_listeners", "_event_time_span_listeners")
    saved = {n: list(getattr(monitoring, n)) for n in names}
    try:
        measure(tiny, (X,), budget=0)
        jax.monitoring.clear_event_listeners()
        t = measure(tiny, (X,), budget=0)  # finds its listener gone and registers it again
        assert any("breakdown is missing" in w for w in t.warnings)
        t = measure(tiny, (X,), budget=0)
        assert t.first_call_cold and t.first_call_breakdown["compile"] > 0
        assert len(monitoring._event_time_span_listeners) == 1
    finally:
        for n, listeners in saved.items():
            setattr(monitoring, n, listeners)


def test_function_with_shardings_is_called_itself_and_says_so():
    sharding = SingleDeviceSharding(jax.devices()[0])
    jitted = jax.jit(tiny, in_shardings=sharding)
    t = measure(jitted, (X,), budget=0.2)
    check_consistent(t)
    assert any("jitted with shardings" in w for w in t.warnings)


def test_donating_function_with_shardings_is_refused_without_deleting_arrays():
    sharding = SingleDeviceSharding(jax.devices()[0])
    jitted = jax.jit(tiny, in_shardings=sharding, donate_argnums=0)
    x = jnp.arange(4.0)
    with pytest.raises(ValueError, match="donate"):
        measure(jitted, (x,), budget=0.1)
    assert not x.is_deleted()


def only_under_jit(x):
    if not isinstance(x, jax.core.Tracer):
        raise RuntimeError("call me under jit")
    return x + 1


def test_eager_failure_is_noted_and_jit_still_timed():
    t = measure(only_under_jit, (X,), budget=0.2)
    assert t.eager is None and t.speedup is None and t.break_even_calls is None
    assert "RuntimeError" in t.eager_note
    assert t.jit.best > 0
    assert "RuntimeError" in str(t)


def test_fully_eager_runs_without_jit_and_restores_the_setting():
    t = measure(stupid_fn, (X,), budget=0.5, fully_eager=True)
    check_consistent(t)
    assert t.fully_eager is not None
    assert not jax.config.jax_disable_jit
    assert "fully eager" in str(t)


def test_repeat_bounds_the_runs():
    t = measure(tiny, (X,), budget=1.0, repeat=3)
    for m in (t.jit, t.eager):
        assert 1 <= m.runs <= 3
    if t.jit.runs < 3:
        assert any("runs fit" in w for w in t.warnings)


def test_bad_arguments():
    with pytest.raises(ValueError, match="budget"):
        measure(tiny, (X,), budget=-1)
    with pytest.raises(ValueError, match="repeat"):
        measure(tiny, (X,), repeat=0)


def test_persistent_compilation_cache_is_reported_not_changed(tmp_path):
    from jax._src import compilation_cache  # private: reset so other tests see no cache

    names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
             "jax_persistent_cache_min_entry_size_bytes")
    saved = {n: jax.config.values[n] for n in names}
    compilation_cache.reset_cache()
    try:
        jax.config.update("jax_compilation_cache_dir", str(tmp_path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        measure(tiny, (X,), budget=0)
        t = measure(tiny, (X,), budget=0)
        assert jax.config.jax_compilation_cache_dir == str(tmp_path)
    finally:
        for n, value in saved.items():
            jax.config.update(n, value)
        compilation_cache.reset_cache()
    assert any("persistent compilation cache is on" in w for w in t.warnings)
    assert any("came from JAX's persistent compilation cache" in w for w in t.warnings)


# -- pure parts ----------------------------------------------------------------------------


def test_measurement_reads_like_timeit():
    m = Measurement.from_runs([0.74, 0.78], 100_000)
    assert str(m) == "7.6 µs ± 0.2 µs per loop (mean ± std. dev. of 2 runs, 100,000 loops each)"
    assert m.best == pytest.approx(7.4e-6) and m.worst == pytest.approx(7.8e-6)
    one = Measurement.from_runs([1.5], 1)
    assert str(one) == "1.5 s ± 0 s per loop (mean ± std. dev. of 1 run, 1 loop each)"


@pytest.mark.parametrize("seconds, text", [
    (2.5, "2.5 s"), (0.0123, "12.3 ms"), (7.61e-6, "7.61 µs"), (3e-9, "3 ns"), (0.0, "0 ns"),
])
def test_format_time(seconds, text):
    assert format_time(seconds) == text


def test_break_even():
    # first call 1 s, eager 10 ms, jit 1 ms: 1 + (n-1)·0.001 <= n·0.01 from n = 111.
    assert break_even(1.0, 0.01, 0.001) == 111
    assert break_even(1.0, 0.001, 0.01) is None
    assert break_even(0.0005, 0.01, 0.001) == 1
