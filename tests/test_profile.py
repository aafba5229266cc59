"""Trace.profile on real JAX, on this machine's CPU: each compiled op's share of a call from
JAX's profiler, rolled up to the jaxpr's equations, the source lines and the groups."""

from __future__ import annotations

import glob
import os
import tempfile
import threading

import jax
import jax.numpy as jnp
import pytest

import jaxviz
from jaxviz import _compat, profiling
from jaxviz.hlo import parse_hlo
from jaxviz.model import Graph

#: jaxlib's older CPU runtime records no event per instruction (0.7's has only the whole
#: executable's): there, profiles say so, and the tests of attribution cannot run.
op_events = pytest.mark.skipif(_compat.JAX_VERSION < (0, 8),
                               reason="this jaxlib's CPU runtime records no per-op events")


def matmul_heavy(a, b, c):
    product = a @ b                        # the dot: nearly all the time
    return product, jnp.sin(c).sum()       # a small op on its own line


@pytest.fixture(scope="module")
def heavy():
    key = jax.random.key(0)
    a = jax.random.normal(key, (384, 384))
    t = jaxviz.trace(matmul_heavy, a, a, jnp.ones(64))
    return t, t.profile(budget=0.3)


def dot_node(t, view):
    graph = t.graph(view)
    (dot,) = graph.find(op="dot_general" if view == "jaxpr" else "dot")
    return dot


@op_events
def test_one_matmul_takes_most_of_the_time_at_its_instruction_equation_and_line(heavy):
    t, p = heavy
    assert p.measured and p.calls >= profiling.MIN_CALLS
    hottest = p.ops[0]
    dot = dot_node(t, "hlo")
    # The dot, or the fusion XLA put it in, is the hottest instruction.
    assert hottest.hlo_node in (dot.id, dot.group)
    assert hottest.fraction >= 0.6, str(p)
    equation = dot_node(t, "jaxpr")
    assert hottest.jaxpr_nodes == (equation.id,)
    assert p.by_node("jaxpr")[equation.id] >= 0.6 * p.per_call
    line, (seconds, fraction) = next(iter(p.by_line().items()))
    assert line.line == matmul_heavy.__code__.co_firstlineno + 1 and fraction >= 0.6
    assert "the dot" in line.code


@op_events
def test_coverage_is_most_of_the_call_and_never_more(heavy):
    _, p = heavy
    assert 0.5 <= p.coverage <= 1.05, str(p)
    assert p.attributed == pytest.approx(sum(op.seconds for op in p.ops))
    assert sorted(p.ops, key=lambda op: -op.seconds) == p.ops
    assert "attributed to ops" in p.sentence()


@op_events
def test_a_group_holds_the_sum_of_its_members():
    """Open or closed, a group says the same: the seconds of what it holds."""
    def layers(x, w):
        for i in range(2):
            with jax.named_scope(f"layer{i}"):
                x = jnp.tanh(x @ w)
        return x

    w = jnp.ones((256, 256)) * 0.01
    t = jaxviz.trace(layers, w, w)
    p = t.profile(budget=0.2)
    for view in ("jaxpr", "hlo"):
        graph = t.graph(view)
        seconds = p.by_node(view)
        groups = [g for g in graph.groups if g.op == "scope" and g.id in seconds]
        assert groups, view
        for group in groups:
            members = [m for m in graph.children(group.id) if m.id in seconds]
            own = sum(op.seconds for op in p.ops if op.hlo_node == group.id) if view == "hlo" else 0
            assert seconds[group.id] == pytest.approx(sum(seconds[m.id] for m in members) + own)
        top = sum(v for k, v in seconds.items() if graph.nodes[k].group is None)
        assert top == pytest.approx(p.attributed, rel=1e-6) or view == "jaxpr"


def test_profiling_leaves_no_file_thread_or_config_changed(heavy, tmp_path, monkeypatch):
    t, _ = heavy
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None  # re-read TMPDIR
    try:
        before = dict(jax.config.values)
        threads = threading.active_count()
        t.profile(budget=0.05)
        assert os.listdir(tmp_path) == []
        assert dict(jax.config.values) == before
        assert threading.active_count() == threads
    finally:
        tempfile.tempdir = None
    assert not glob.glob(os.path.join(os.getcwd(), "plugins"))


def test_a_program_that_did_not_compile_cannot_be_profiled():
    t = jaxviz.trace(lambda x: x @ jnp.ones((3, 3)), jnp.ones(2))
    with pytest.raises(ValueError, match="cannot profile .*trace failed"):
        t.profile()


@op_events
def test_instructions_inside_loops_count_for_the_loop():
    """A while loop's body runs inside the while instruction: its time is the loop's."""
    def looped(x):
        return jax.lax.fori_loop(0, 8, lambda i, v: jnp.tanh(v @ v), x)

    t = jaxviz.trace(looped, jnp.ones((320, 320)) * 0.01)
    runner = profiling._entry_instructions(parse_hlo(t.hlo_text))
    entry = {inst.name for inst in parse_hlo(t.hlo_text).entry.instructions}
    assert set(runner.values()) <= entry
    p = t.profile(budget=0.2)
    assert {op.name for op in p.ops} <= entry
    assert p.ops[0].opcode == "while" and p.ops[0].fraction > 0.5, str(p)


def test_without_per_op_events_nothing_is_shown_as_measured():
    """What a backend without per-op events gets: no ops, no zeros, and a sentence saying so."""
    t = jaxviz.trace(lambda x: jnp.sin(x) * 2, jnp.ones(8))
    module = parse_hlo(t.hlo_text)
    assert profiling._attributed([], module, t.graph("hlo"), calls=3, per_call=1e-3) == []
    p = profiling.Profile(device="cpu", per_call=1e-3, unprofiled_per_call=1e-3, attributed=0.0,
                          ops=[], calls=3, elapsed=0.1, _graphs=lambda view: Graph(view))
    assert not p.measured and "recorded no per-op events" in p.sentence()
    assert p.to_dict()["ops"] == [] and p.by_line() == {} and p.by_node("hlo") == {}


def test_overlapping_events_share_the_wall_time_they_cover():
    events = [jaxviz._compat.ProfiledEvent("a", 1, 0.0, 2.0),
              jaxviz._compat.ProfiledEvent("b", 2, 1.0, 2.0),
              jaxviz._compat.ProfiledEvent("c", 1, 5.0, 1.0)]
    assert profiling._covered(events) == pytest.approx(4.0)


def test_each_op_has_its_cost_estimated_from_shapes(heavy):
    """A dot's FLOPs are 2·M·N·K, its bytes its operands and result; over the program they
    agree with XLA's own cost analysis (which gives totals only)."""
    from jaxviz.hlo.cost import op_cost

    t, _ = heavy
    module = parse_hlo(t.hlo_text)
    costs = [op_cost(module, inst) for inst in module.entry.instructions]
    flops = sum(f for f, _ in costs)
    assert abs(flops - t.cost["flops"]) <= 0.05 * t.cost["flops"]
    dot = max(module.entry.instructions, key=lambda inst: op_cost(module, inst)[0])
    assert op_cost(module, dot) == (2 * 384 ** 3, 3 * 384 * 384 * 4)


@op_events
def test_the_hottest_op_says_how_fast_it_ran(heavy):
    _, p = heavy
    hottest = p.ops[0]
    assert hottest.flops == 2 * 384 ** 3 and hottest.bytes == 3 * 384 * 384 * 4
    assert "FLOP/s · " in hottest.rates and hottest.rates.endswith("B/s")
    assert hottest.rates in str(p) and p.to_dict()["ops"][0]["rates"] == hottest.rates


@op_events
@pytest.mark.parametrize("module, name", [("flax_vae", "flax_vae"),
                                          ("equinox_mlp", "equinox_filter_jit")])
def test_real_models_are_profiled_onto_the_users_lines(module, name):
    """A Flax and an Equinox train step of the corpus: time and memory land on the lines of
    the user's program (where it calls the library), never inside Flax, Equinox or Optax."""
    pytest.importorskip("flax", reason="Flax needs jax >= 0.10")
    pytest.importorskip("equinox", reason="Equinox does not support the oldest jax")
    from real import load

    (program,) = [p for p in load(module) if p.name == name]
    t = jaxviz.trace(program.fn, *program.args, static_argnums=program.static_argnums,
                     **program.kwargs)
    p = t.profile(budget=0.1)
    assert p.measured and 0 < p.coverage <= 1.05
    lines = [line for line in p.by_line() if line is not None]
    assert lines and all(f"tests{os.sep}real{os.sep}{module}.py" in line.filename for line in lines)
    peak = t.peak_memory()
    assert peak.measured
    assert all(f"{module}.py" in b.source.filename for b in peak.buffers if b.source)
