"""jaxviz.trace: every stage captured, each failing on its own."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend.core import Primitive

import jaxviz
import programs as P
from jaxviz.display import state


def test_all_stages_captured():
    t = jaxviz.trace(P.fn, P.W, P.B, P.X)
    assert t.fn_name == "fn"
    assert t.errors == {}
    assert len(t.jaxpr.eqns) == 2
    assert "stablehlo.dot_general" in t.stablehlo_text
    assert t.hlo_text.startswith("HloModule jit_fn")
    assert t.device.startswith("cpu:0")
    assert t.cost["flops"] > 0
    assert t.memory["argument_size_in_bytes"] == (8 + 2 + 4) * 4
    assert set(t.durations) == {"trace", "lower", "compile"}
    assert all(seconds > 0 for seconds in t.durations.values())


def test_unavailable_costs_are_none_not_numbers():
    t = jaxviz.trace(lambda x: x + 1, jnp.ones(3))
    for value in list(t.cost.values()) + list(t.memory.values()):
        assert value is None or value >= 0
    # XLA:CPU has no estimate of optimal seconds: reported unavailable, not -1
    assert t.cost["optimal_seconds"] is None or t.cost["optimal_seconds"] >= 0


def test_static_argnums_and_argnames():
    t = jaxviz.trace(_create_filled, 2.0, 5, static_argnums=(1,))
    assert t.errors == {}
    assert [v.aval.shape for v in t.jaxpr.jaxpr.outvars] == [(5,)]
    t2 = jaxviz.trace(_create_filled, 2.0, length=4, static_argnames="length")
    assert [v.aval.shape for v in t2.jaxpr.jaxpr.outvars] == [(4,)]


def _create_filled(val, length):
    return jnp.full((length,), val)


def test_trace_error_keeps_nothing_after_it():
    t = jaxviz.trace(_create_filled, 2.0, 5)
    assert set(t.errors) == {"trace"}
    assert t.errors["trace"].startswith("TypeError: Shapes must be 1D sequences")
    assert t.jaxpr is None and t.stablehlo_text is None and t.hlo_text is None


def test_already_jitted_function_uses_its_own_static_args():
    jitted = jax.jit(_create_filled, static_argnums=(1,))
    t = jaxviz.trace(jitted, 1.5, 3)
    assert t.errors == {}
    assert t.fn_name == "_create_filled"
    assert t.graph().find(kind="input")[0].label == "val"


def test_prints_during_tracing_are_captured_even_when_jax_cached_the_trace(capsys):
    def noisy(x):
        print("tracing noisy with", x.shape)
        return x * 2

    jitted = jax.jit(noisy)
    jitted(jnp.ones(3))  # JAX caches this trace
    capsys.readouterr()
    t = jaxviz.trace(jitted, jnp.ones(3))
    assert t.trace_stdout == "tracing noisy with (3,)\n"
    assert capsys.readouterr().out == ""  # captured, not printed again


_no_lowering = Primitive("jaxviz_test_no_lowering")
_no_lowering.def_abstract_eval(lambda x: x)
_no_lowering.def_impl(lambda x: x)


def test_lowering_error_keeps_the_jaxpr():
    t = jaxviz.trace(lambda x: _no_lowering.bind(x) + 1.0, jnp.ones(2))
    assert set(t.errors) == {"lower"}
    assert "jaxviz_test_no_lowering" in t.errors["lower"]
    assert t.jaxpr is not None
    assert "jaxviz_test_no_lowering" in [n.op for n in t.graph().find(kind="op")]
    assert t.hlo_text is None


def test_compile_error_keeps_jaxpr_and_stablehlo():
    def calls_missing_kernel(x):
        return jax.ffi.ffi_call("jaxviz_no_such_target", jax.ShapeDtypeStruct(x.shape, x.dtype))(x)

    t = jaxviz.trace(calls_missing_kernel, jnp.ones(2))
    assert set(t.errors) == {"compile"}
    assert "jaxviz_no_such_target" in t.errors["compile"]
    assert t.jaxpr is not None and "jaxviz_no_such_target" in t.stablehlo_text
    assert t.hlo_text is None and t.cost is None
    assert t.graph().find(kind="op")


def test_not_callable():
    with pytest.raises(TypeError, match="expected a function"):
        jaxviz.trace(42, 1.0)


def test_numpy_global_is_a_named_constant():
    t = jaxviz.trace(_uses_numpy_global, jnp.ones(3))
    consts = t.graph().find(kind="const")
    assert [c.label for c in consts] == ["NP_TABLE"]


NP_TABLE = np.arange(3.0, dtype=np.float32)


def _uses_numpy_global(x):
    return x + NP_TABLE


def test_text_summary():
    text = repr(jaxviz.trace(P.fn, P.W, P.B, P.X))
    assert text.splitlines()[0] == "jaxviz.Trace of fn on cpu:0 (cpu)"
    assert "inputs: W f32[4,2], b f32[2], x f32[4]" in text
    assert "stages: trace" in text and "compile" in text


def test_user_arguments_untouched():
    params = P.make_params()
    before = jax.tree_util.tree_map(lambda a: np.asarray(a).copy(), params)
    jaxviz.trace(P.feed_forward, params, jnp.ones(8))
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(before)):
        np.testing.assert_array_equal(np.asarray(a), b)


def test_program_texts_print_only_what_is_shown():
    t = jaxviz.trace(P.stupid_fn, P.X)
    whole = str(t.jaxpr)
    assert state.texts(t)["jaxpr"] == whole  # within the limit: all of it
    preview = state.texts(t, 2_000)["jaxpr"]
    head, note = preview.rsplit("\n", 1)
    assert whole.startswith(head) and len(head) <= 2_000
    printed = 2_000 // state.CHARS_PER_EQUATION
    assert note == f"… (the rest not shown: {len(t.jaxpr.eqns) - printed:,} more equations)"


def _spelled_out(entries):
    """numbered_families' entries back to {(stand-in, op, label, source): count}."""
    result = {}
    for stand_ins, op, label, source, count, *ranges in entries:
        labels = [label] if not ranges else [str(n).join(label) for first, last in ranges[0]
                                             for n in range(first, last + 1)]
        for stand_in in stand_ins if isinstance(stand_ins, list) else [stand_ins]:
            for text in labels:
                assert (stand_in, op, text, source) not in result
                result[(stand_in, op, text, source)] = count
    return result


def test_search_entries_merge_labels_that_differ_in_one_number():
    hidden = {("g0", "input", f"layers[{i}]['w{k}']", None): 1 for i in range(40) for k in (1, 2)}
    hidden.update({("g1", "iteration", f"iteration {i}", 3): 1 for i in [*range(10), 12, 13]})
    hidden.update({("g2", "iteration", f"iteration {i} · layers[{i}]", 3): 1 for i in range(9)})
    hidden.update({("g1", "add", "add 1.0", 3): 7, ("g1", "mul", "mul 2", 3): 1,
                   ("g1", "x", "x007", None): 1, ("g1", "x", "x7", None): 1})
    entries = state.numbered_families(hidden)
    assert _spelled_out(entries) == hidden
    assert len(entries) == 2 + 1 + 1 + 4
    assert ["g2", "iteration", ["iteration ", " · layers[", "]"], 3, 1, [[0, 8]]] in entries
    assert ["g1", "iteration", ["iteration ", ""], 3, 1, [[0, 9], [12, 13]]] in entries


def test_search_entries_the_same_in_several_closed_groups_are_one():
    """The iterations of an opened loop hide the same steps each: one entry lists them all."""
    steps = [("dot_general", "dot_general · f32[16,32]", 3, 1), ("add", "add", 4, 2)]
    hidden = {(f"g{i}", op, label, source): count
              for i in range(10, 137) for op, label, source, count in steps}
    hidden.update({(f"g{i}", "slice", f"head {k}", 5): 1 for i in range(10, 137)
                   for k in range(8)})
    hidden[("g200", "add", "add", 4)] = 3  # the same step, but hiding three: its own entry
    entries = state.numbered_families(hidden)
    assert _spelled_out(entries) == hidden
    stand_ins = [f"g{i}" for i in range(10, 137)]
    assert [stand_ins, "dot_general", "dot_general · f32[16,32]", 3, 1] in entries
    assert [stand_ins, "add", "add", 4, 2] in entries and ["g200", "add", "add", 4, 3] in entries
    assert [stand_ins, "slice", ["head ", ""], 5, 1, [[0, 7]]] in entries
    assert len(entries) == 4


def affine_layers(layers, x):
    for layer in layers:
        x = x * layer["w"] + layer["b"]
    return x


def test_the_128_layer_inputs_search_entries_stay_small():
    layers = [{"w": jnp.ones(P.X.shape), "b": jnp.zeros(P.X.shape)} for _ in range(128)]
    t = jaxviz.trace(affine_layers, layers, P.X)
    view = state.view_state(t, "jaxpr")
    assert len(view["hidden"]) < 20 and _spelled_out(view["hidden"])


def test_program_texts_are_made_when_first_asked_for():
    """``jaxviz.trace`` keeps JAX's Lowered and Compiled and prints neither; the findings and
    the jaxpr view need no text; each text is made once asked for, and its stage dropped."""
    t = jaxviz.trace(P.fn, P.W, P.B, P.X)
    cap = t._cap
    assert cap.texts == {} and set(cap.stages) == {"lower", "compile"}
    t.findings
    t.graph("jaxpr", linked=False)
    assert cap.texts == {} and cap.compiled
    lowered = jax.jit(P.fn).trace(P.W, P.B, P.X).lower()
    assert t.stablehlo_text == lowered.as_text() and set(cap.stages) == {"compile"}
    assert t.hlo_text.startswith("HloModule") and cap.stages == {}
    assert t.graph("hlo").nodes and cap.compiled
