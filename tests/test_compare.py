"""jaxviz.compare on real JAX: counts of primitives, the alignment of the graphs by data flow,
whether XLA compiled the same program, the summary, and the picture of both graphs."""

from __future__ import annotations

import os
import textwrap

import jax
import jax.numpy as jnp
import pytest

import jaxviz
from jaxviz.align import align
from jaxviz.display.comparison import CompareWidget, comparison_state, partners
from jaxviz.display.widget import Drawings
from jaxviz.hlo import parse_hlo
from jaxviz.hlo.fingerprint import elided_constants, fingerprint

import programs as P
from real import gpt_train_step


@pytest.fixture(scope="module")
def vmap_vs_einsum():
    return jaxviz.compare(jaxviz.trace(P.predict_vmap, P.XS), jaxviz.trace(P.predict_manual, P.XS),
                          names=("by_vmap", "by_hand"))


@pytest.fixture(scope="module")
def unrolled_vs_fori():
    x = jnp.array([1.1, -1.1])
    return jaxviz.compare(jaxviz.trace(P.stupid_fn, x), jaxviz.trace(P.fori_fn, x))


def op_id(trace, op):
    (node,) = trace.graph("jaxpr", linked=False).find(op=op)
    return node.id


# -- what both run -------------------------------------------------------------------------


def test_vmap_runs_the_operations_of_the_hand_batched_einsum(vmap_vs_einsum):
    c = vmap_vs_einsum
    assert {"dot_general", "add", "tanh", "reduce_sum"} <= set(c.common)
    assert sum(c.only_left.values()) + sum(c.only_right.values()) <= 2  # vmap's transpose
    assert c.only_left == {"transpose": 1}
    assert c.compiled_same is True
    lines = c.findings()
    assert lines[0] == ("`by_vmap` and `by_hand` both run dot_general, broadcast_in_dim, add, "
                        "tanh and reduce_sum.")
    assert lines[1] == "`by_vmap` adds 1 transpose."
    assert "identical programs" in lines[-1] and "1 big constant" in lines[-1]  # W, elided


def test_the_unrolled_loop_and_its_fori_loop_rewrite_compile_to_the_same_program(unrolled_vs_fori):
    c = unrolled_vs_fori
    assert c.compiled_same is True
    assert c.only_left["mul"] == 999  # 1000 traced against the loop body's one
    assert c.only_right == {"scan": 1, "add": 1}  # the loop and its counter
    assert c.common == {"copy": 1, "mul": 1}
    assert "XLA compiles them to identical programs." in c.summary
    assert "`stupid_fn` adds 999 mul." in c.summary


def test_unrelated_programs_are_not_compiled_the_same(unrolled_vs_fori, vmap_vs_einsum):
    c = jaxviz.compare(unrolled_vs_fori.left, vmap_vs_einsum.right)
    assert c.compiled_same is False
    assert not c.common
    assert "share no operation" in c.summary and "different programs" in c.summary


def test_call_wrappers_count_by_what_they_call():
    """jnp functions are jitted: counted by their bodies, as if written inline."""
    c = jaxviz.compare(jaxviz.trace(lambda x: jnp.var(x), jnp.ones(4)),
                       jaxviz.trace(lambda x: ((x - x.mean()) ** 2).mean(), jnp.ones(4)))
    assert "pjit" not in c.common + c.only_left + c.only_right
    assert c.common["reduce_sum"] >= 2


# -- which box is which --------------------------------------------------------------------


def test_boxes_are_matched_by_data_flow_not_by_position(vmap_vs_einsum):
    c = vmap_vs_einsum
    left, right = c.left, c.right
    for op in ("dot_general", "add", "tanh", "reduce_sum", "broadcast_in_dim"):
        assert c.matches[op_id(left, op)] == op_id(right, op)
    assert op_id(left, "transpose") not in c.matches
    # The einsum's dot_general comes first in its jaxpr, vmap's add comes fourth: positions
    # differ, the pairs hold.
    assert op_id(left, "add") != op_id(right, "add")
    assert len(c.matches) == len(set(c.matches.values()))


def _sin_then_cos(x):
    a = jnp.sin(x)
    b = jnp.cos(x * 2.0)
    return a * b + a


def _cos_then_sin(x):
    b = jnp.cos(x * 2.0)
    a = jnp.sin(x)
    return a * b + a


def test_the_alignment_is_stable_when_independent_ops_are_reordered():
    x = jnp.ones(3)
    a, b = jaxviz.trace(_sin_then_cos, x), jaxviz.trace(_cos_then_sin, x)
    c = jaxviz.compare(a, b)
    for op in ("sin", "cos", "mul", "add"):
        for left in a.graph("jaxpr", linked=False).find(op=op):
            right = b.graph("jaxpr", linked=False).nodes[c.matches[left.id]]
            assert right.op == op and right.label == left.label
    assert op_id(a, "sin") != op_id(b, "sin")  # the positions did change
    boxes = [n for n in a.graph("jaxpr", linked=False).nodes.values() if n.kind != "group"]
    assert len(c.matches) == len(boxes)
    assert c.compiled_same is True
    assert "every box lines up" in c.summary


def test_an_extra_op_does_not_break_the_pairs_after_it():
    """The list comprehension's first row pairs with vmap's batch, through vmap's transpose."""
    c = jaxviz.compare(jaxviz.trace(P.predict_list, P.XS), jaxviz.trace(P.predict_vmap, P.XS))
    paired = {c.left.graph("jaxpr", linked=False).nodes[i].op for i in c.matches}
    assert {"dot_general", "add", "tanh", "reduce_sum"} <= paired


def test_the_hlo_views_of_one_compiled_program_pair_every_box(vmap_vs_einsum):
    alignment = vmap_vs_einsum.alignment("hlo")
    graph = vmap_vs_einsum.left.graph("hlo", linked=False)
    assert len(alignment) == sum(n.kind != "group" for n in graph.nodes.values())


def test_a_real_train_step_against_one_layer_less():
    """The GPT train step of the corpus with 4 layers and with 3: one layer's forward and
    backward are what the bigger one adds; the rest lines up."""
    (program,) = gpt_train_step.programs()
    params, tokens, lr = program.args
    smaller = gpt_train_step.init(jax.random.key(0), layers=3)
    c = jaxviz.compare(jaxviz.trace(program.fn, *program.args),
                       jaxviz.trace(program.fn, smaller, tokens, lr), names=("4 layers", "3 layers"))
    assert not c.only_right
    assert c.only_left["dot_general"] > 0 and c.common["dot_general"] > 3 * c.only_left["dot_general"] // 2
    right_boxes = [n for n in c.right.graph("jaxpr", linked=False).nodes.values() if n.kind != "group"]
    assert len(c.matches) >= 0.9 * len(right_boxes)
    # The final norm pairs with the final norm, not with the norm opening the extra layer,
    # though both read what the layer before them made.
    last_sqrt = [max(t.graph("jaxpr", linked=False).find(op="sqrt"), key=lambda n: int(n.id[1:])).id
                 for t in (c.left, c.right)]
    assert c.matches[last_sqrt[0]] == last_sqrt[1]
    assert c.compiled_same is False
    state = comparison_state(c, (Drawings(c.left), Drawings(c.right)), "jaxpr")
    assert state["pairs"] and state["left"]["svg"] and state["right"]["svg"]


# -- the compiled programs -----------------------------------------------------------------

HLO = """
HloModule m, entry_computation_layout={(f32[4]{0})->f32[4]{0}}

ENTRY %main.1 (x.1: f32[4]) -> f32[4] {
  %x.1 = f32[4]{0} parameter(0), metadata={op_name="x"}
  %sine.2 = f32[4]{0} sine(%x.1), metadata={op_name="jit(f)/sin" source_file="a.py" source_line=3}
  %cosine.3 = f32[4]{0} cosine(%x.1)
  ROOT %add.4 = f32[4]{0} add(%sine.2, %cosine.3)
}
"""
RENAMED = """
HloModule other, entry_computation_layout={(f32[4]{0})->f32[4]{0}}

ENTRY %entry (p: f32[4]) -> f32[4] {
  %p = f32[4]{0:T(128)} parameter(0)
  %c = f32[4]{0} cosine(%p), metadata={op_name="jit(g)/cos"}
  %s = f32[4]{0} sine(%p)
  ROOT %r = f32[4]{0} add(%s, %c)
}
"""


def test_the_fingerprint_ignores_names_metadata_layouts_and_order():
    assert fingerprint(parse_hlo(HLO)) == fingerprint(parse_hlo(RENAMED))
    swapped = RENAMED.replace("add(%s, %c)", "add(%c, %s)")
    assert fingerprint(parse_hlo(HLO)) != fingerprint(parse_hlo(swapped))  # operand order counts
    other = RENAMED.replace("cosine(%p)", "tanh(%p)")
    assert fingerprint(parse_hlo(HLO)) != fingerprint(parse_hlo(other))
    wider = HLO.replace("f32[4]", "f32[8]")
    assert fingerprint(parse_hlo(HLO)) != fingerprint(parse_hlo(wider))


def test_the_fingerprint_sees_constants_and_called_computations():
    base = textwrap.dedent("""
        HloModule m

        %add_f (a: f32[], b: f32[]) -> f32[] {
          %a = f32[] parameter(0)
          %b = f32[] parameter(1)
          ROOT %s = f32[] OP(%a, %b)
        }

        ENTRY %main (x: f32[4]) -> f32[] {
          %x = f32[4]{0} parameter(0)
          %zero = f32[] constant(VALUE)
          ROOT %r = f32[] reduce(%x, %zero), dimensions={0}, to_apply=%add_f
        }
        """)
    digest = lambda op, value: fingerprint(parse_hlo(base.replace("OP", op).replace("VALUE", value)))
    assert digest("add", "0") == digest("add", "0")
    assert digest("add", "0") != digest("maximum", "0")  # the called computation differs
    assert digest("add", "0") != digest("add", "1")
    assert elided_constants(parse_hlo(base.replace("OP", "add").replace("VALUE", "{...}"))) == 1


# -- in words and pictures -----------------------------------------------------------------


def test_the_summary_sets_the_figures_side_by_side(vmap_vs_einsum):
    c = jaxviz.compare(vmap_vs_einsum.left, vmap_vs_einsum.right, names=("by_vmap", "by_hand"))
    rows = {what: (a, b) for what, a, b in c.figures()}
    assert rows["operations"] == ("6", "5")
    assert rows["FLOPs"][0] == rows["FLOPs"][1]  # the same program
    assert "compile" in rows and "jit, best" not in rows
    c.left.time(budget=0.05)
    try:
        rows = {what: (a, b) for what, a, b in c.figures()}
        assert rows["jit, best"][1] == "not timed" and rows["jit, best"][0].endswith("s")
    finally:
        c.left._timing = None
    assert repr(c) == c.summary and c.summary.splitlines()[-6].split() == ["by_vmap", "by_hand"]


def test_same_names_are_told_apart():
    t = jaxviz.trace(P.fn, P.W, P.B, P.X)
    assert jaxviz.compare(t, t).names == ("fn #1", "fn #2")


def test_a_trace_that_failed_is_said_so_and_nothing_raises():
    bad = jaxviz.trace(lambda x: x @ jnp.ones((3, 3)), jnp.ones(2))  # shapes do not fit
    good = jaxviz.trace(P.fn, P.W, P.B, P.X)
    c = jaxviz.compare(bad, good)
    assert "did not trace" in c.summary
    assert c.compiled_same is None
    widget = CompareWidget(c)
    assert widget.left["views"]["jaxpr"] and widget.right["svg"]
    assert widget.pairs == [] and widget.unmatched == [[], []]


def test_compare_takes_traces_only():
    with pytest.raises(TypeError, match="two jaxviz.Trace objects"):
        jaxviz.compare(P.fn, P.fn)


def test_partners_name_what_is_drawn(unrolled_vs_fori):
    """A closed group stands for the boxes it holds: the unrolled loop's group holds the mul
    paired with the fori_loop's, so it is not marked; the loop counter's add is."""
    c = unrolled_vs_fori
    widget = CompareWidget(c)
    drawn = [set(widget.left["nodes"]), set(widget.right["nodes"])]
    assert all(a in drawn[0] and b in drawn[1] for a, b in widget.pairs)
    add = op_id(c.right, "add")
    assert widget.unmatched[1] == [add]
    widget._answer({"type": "expand", "side": "right", "expand": "none"})
    assert widget.unmatched[1] == []  # the closed scan also holds the paired mul
    same = partners(c, widget.left, widget.right)
    assert same == {"pairs": widget.pairs, "unmatched": widget.unmatched}


def test_the_widget_switches_both_sides_and_refuses_bad_requests(vmap_vs_einsum):
    widget = CompareWidget(vmap_vs_einsum)
    widget._answer({"type": "view", "view": "hlo"})
    assert widget.left["view"] == widget.right["view"] == "hlo"
    with pytest.raises(ValueError, match="names its side"):
        widget._answer({"type": "expand", "expand": "all"})
    with pytest.raises(ValueError, match="picture"):
        widget._answer({"type": "picture", "format": "gif"})
    reply, (data,) = widget._answer({"type": "picture", "format": "svg"})
    assert reply["filename"] == "by_vmap-vs-by_hand-hlo.svg" and b"by_hand" in data
    # A counterpart in the other view switches both sides back.
    node = next(iter(vmap_vs_einsum.matches))
    widget._answer({"type": "reveal", "side": "left", "view": "jaxpr", "node": node})
    assert widget.left["view"] == widget.right["view"] == "jaxpr"


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf", ".dot", ".html"])
def test_export_draws_both_graphs_in_one_picture(vmap_vs_einsum, tmp_path, suffix):
    path = vmap_vs_einsum.export(tmp_path / f"both{suffix}")
    data = path.read_bytes()
    assert os.listdir(tmp_path) == [path.name]  # no temp file left
    if suffix in (".svg", ".dot", ".html"):
        text = data.decode()
        assert "by_vmap" in text and "by_hand" in text
    if suffix == ".dot":
        transpose = op_id(vmap_vs_einsum.left, "transpose")
        assert f'"0:{transpose}" [color="#dc2626"' in text  # no partner: outlined
        assert '"1:' in text
    if suffix == ".png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    if suffix == ".pdf":
        assert data.startswith(b"%PDF-")


def test_export_refuses_an_unknown_suffix(vmap_vs_einsum, tmp_path):
    with pytest.raises(ValueError, match="use a file name ending in"):
        vmap_vs_einsum.export(tmp_path / "both.gif")


def test_align_works_on_any_two_view_graphs(vmap_vs_einsum):
    graph = vmap_vs_einsum.left.graph("jaxpr", linked=False)
    same = align(graph, graph)
    assert all(i == j for i, j in same.items())
    assert len(same) == sum(n.kind != "group" for n in graph.nodes.values())


def test_hostile_names_in_a_comparison_stay_text(vmap_vs_einsum, tmp_path):
    import xml.dom.minidom

    import pygraphviz

    hostile = "<img src=x onerror=alert(1)></script>\"'{}\\N"
    c = jaxviz.compare(vmap_vs_einsum.left, vmap_vs_einsum.right, names=(hostile, hostile + "2"))
    svg = xml.dom.minidom.parse(str(c.export(tmp_path / "both.svg")))
    texts = "".join(t.firstChild.data for t in svg.getElementsByTagName("text") if t.firstChild)
    assert hostile in texts and not svg.getElementsByTagName("img")
    dot = pygraphviz.AGraph(string=c.export(tmp_path / "both.dot").read_text())
    assert dot.subgraphs()[0].graph_attr["label"].count("&lt;img") == 1
    page = c.export(tmp_path / "both.html").read_text()
    assert "<img" not in page and page.count("</script>") == 1
    assert CompareWidget(c)._picture("pdf")[0]["filename"].startswith("img_src_x_onerror_alert_1")


def test_terminal_ipython_shows_the_summary(tmp_path):
    """A terminal IPython shows text only: the summary, and no layout is made for nothing."""
    import subprocess
    import sys

    script = textwrap.dedent("""
        import jax.numpy as jnp, jaxviz
        from IPython.display import display
        a = jaxviz.trace(lambda x: jnp.sin(x) * 2, jnp.ones(3))
        b = jaxviz.trace(lambda x: 2 * jnp.sin(x), jnp.ones(3))
        c = jaxviz.compare(a, b, names=("sin_times_2", "two_times_sin"))
        display(c)
        print("layouts made:", len(a._layouters) + len(b._layouters))
        """)
    result = subprocess.run([sys.executable, "-m", "IPython", "--no-banner", "--colors=nocolor",
                             "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "`sin_times_2` and `two_times_sin` run the same operations (sin and mul)." in result.stdout
    assert "layouts made: 0" in result.stdout and "<div" not in result.stdout
