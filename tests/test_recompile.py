"""Cache misses collected while a cell runs, and the recompilation finding."""

import logging

import jax
import jax.numpy as jnp

from jaxviz.analysis.recompile import parse_cache_miss, recompile_findings, watch_cache_misses

JAX_07 = ("TRACING CACHE MISS at /tmp/cell.py:12:37 (<module>) costing 0.782 ms because:\n"
          "  for cube defined at /tmp/cell.py:11\n"
          "  all previously seen cache keys are different. Closest previous key:\n"
          "  * key with different input types:\n"
          "      types now: x: f32[4]\n"
          "        * at x, now f32[4] and before f32[3]")
JAX_010 = ("TRACING CACHE MISS at /tmp/cell.py:12:17 (<module>):\n"
           "  for cube defined at /tmp/cell.py:11\n"
           "  all previously seen cache keys differ. For the closest previous key:\n"
           "  different input types:\n"
           "  * at x, now f32[4]({}){weak_type=False} and before f32[3]({}){weak_type=True}")


def test_both_message_formats():
    for text in (JAX_07, JAX_010):
        miss = parse_cache_miss(text)
        assert (miss.function, miss.defined_line, miss.call_line) == ("cube", 11, 12)
        assert miss.reasons == ("x: f32[3] → f32[4]",)
    first = parse_cache_miss("TRACING CACHE MISS at a.py:3 (f):\n  never seen function:\n"
                             "    cube id=1234 defined at a.py:1")
    assert (first.function, first.reasons) == ("cube", ())
    assert parse_cache_miss("something else") is None


def cube(x):
    return x * x * x


def scaled(x, n):
    return x * n


def test_watch_collects_restores_and_prints_nothing(capsys):
    seen = []
    handler = logging.Handler()
    handler.emit = seen.append
    logging.getLogger().addHandler(handler)
    try:
        with watch_cache_misses() as misses:
            jc = jax.jit(cube)
            for n in (3, 4, 5):
                jc(jnp.ones(n))
            js = jax.jit(scaled, static_argnums=1)
            js(jnp.ones(2), 2)
            js(jnp.ones(2), 3)
    finally:
        logging.getLogger().removeHandler(handler)
    assert jax.config.jax_explain_cache_misses is False
    assert not [r for r in seen if "CACHE MISS" in r.getMessage()]
    assert capsys.readouterr().err == ""
    (finding,) = recompile_findings(misses, jc)
    assert "cube was traced and compiled 3 times" in finding.message
    assert "x: f32[3] → f32[4]" in finding.message and "pad inputs" in finding.hint
    (static,) = recompile_findings(misses, scaled)
    assert "static argument" in static.message and "2 → 3" in static.message
    assert recompile_findings(misses, lambda v: v) == []
