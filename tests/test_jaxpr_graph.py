"""The jaxpr view graph of the seed programs: node kinds, labels, nesting, edges, source lines."""

import inspect

import jax
import jax.numpy as jnp
import pytest
from jax import lax

import jaxviz
import programs as P
from jaxviz.model import expansion, project


def line_of(fn, text):
    """Line number of the first source line of ``fn`` containing ``text``."""
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_matmul_bias_nodes_edges_and_sources():
    g = jaxviz.trace(P.fn, P.W, P.B, P.X).graph("jaxpr")
    inputs = g.find(kind="input")
    assert [n.label for n in inputs] == ["W", "b", "x"]
    assert [n.shape for n in inputs] == ["f32[4,2]", "f32[2]", "f32[4]"]
    ops = g.find(kind="op")
    assert [n.op for n in ops] == ["dot_general", "add"]
    assert ops[0].label.startswith("dot_general contract [0]·[0]")
    assert [n.label for n in g.find(kind="output")] == ["result"]
    edges = {(g.nodes[e.src].label, g.nodes[e.dst].op, e.label) for e in g.edges}
    assert ("W", "dot_general", "f32[4,2]") in edges
    assert ("x", "dot_general", "f32[4]") in edges
    assert ("b", "add", "f32[2]") in edges
    line = line_of(P.fn, "x @ W + b")
    for op in ops:
        assert op.source is not None
        assert op.source.line == line
        assert op.source.function == "fn"
        assert op.source.filename == P.__file__
        assert "x @ W + b" in op.source.code


def test_literals_are_inlined_into_labels():
    g = jaxviz.trace(lambda x: (x * 2.0 - 1.0) ** 3, jnp.ones(3)).graph()
    labels = [n.label for n in g.find(kind="op")]
    assert "mul ×2.0" in labels
    assert "sub −1.0" in labels
    assert "integer_pow ^3" in labels
    assert not any(n.kind == "const" for n in g.nodes.values())


def test_unrolled_stupid_fn_has_every_equation():
    g = jaxviz.trace(P.stupid_fn, jnp.array([1.1, -1.1])).graph()
    ops = g.find(kind="op")
    assert len(ops) == 1001
    assert sum(n.op == "mul" for n in ops) == 1000
    assert ops[0].op == "copy"
    line = line_of(P.stupid_fn, "x = x * x")
    assert {n.source.line for n in ops if n.op == "mul"} == {line}
    # the chain: each mul feeds the next
    muls = {n.id for n in ops if n.op == "mul"}
    chain = [e for e in g.edges if e.src in muls and e.dst in muls]
    assert len(chain) == 999 * 2  # x * x: two operand edges each


@pytest.mark.parametrize("program, group_op, summary", [
    (P.fori_fn, "scan", "scan ×1000 · "),
    (P.while_fn, "while", "while · "),
])
def test_loops_become_groups(program, group_op, summary):
    g = jaxviz.trace(program, jnp.array([1.1, -1.1])).graph()
    (group,) = g.find(op=group_op)
    assert group.kind == "group"
    assert group.label.startswith(summary)
    members = g.children(group.id)
    if group_op == "while":
        assert [m.label for m in members] == ["cond", "body"]
        body = g.children(members[1].id)
        assert sorted(m.op for m in body) == ["add", "mul"]
        (lt,) = g.children(members[0].id)
        assert lt.label == "lt <1000"
    else:
        assert "mul" in [m.op for m in members]
    mul = next(n for n in g.nodes.values() if n.op == "mul")
    assert g.depth(mul.id) >= 1
    assert mul.source.line == line_of(program, "x * x" if group_op == "scan" else "ix[1] * ix[1]")


def test_cond_has_every_branch():
    g = jaxviz.trace(P.cond_fn, jnp.array([0.1, 0.2])).graph()
    (cond,) = g.find(op="cond")
    assert cond.label == "cond · 2 branches"
    branches = g.children(cond.id)
    assert [b.label for b in branches] == ["branch 0", "branch 1"]
    # the predicate feeds the cond group itself; the operand feeds the div inside branch 1
    assert any(e.dst == cond.id and e.label == "i32[]" for e in g.edges)
    (div,) = g.find(op="div")
    assert div.group == branches[0].id or div.group == branches[1].id
    assert any(e.dst == div.id and g.nodes[e.src].kind == "input" for e in g.edges)


def test_switch_with_many_branches():
    g = jaxviz.trace(P.is_even_fast, 3).graph()
    (cond,) = g.find(op="cond")
    assert cond.label == "cond · 10 branches"
    assert len(g.children(cond.id)) == 10


def test_pytree_inputs_are_named_by_path():
    params = P.make_params()
    g = jaxviz.trace(P.feed_forward, params, jnp.ones(8)).graph()
    names = [n.label for n in g.find(kind="input")]
    assert names == ["params[0]['W']", "params[0]['b']", "params[1]['W']", "params[1]['b']", "x"]
    assert [n.op for n in g.find(kind="op")].count("tanh") == 2


def test_grad_and_value_and_grad_outputs():
    params = P.make_params()
    vg = jax.value_and_grad(P.dummy_loss_fn, has_aux=True)
    g = jaxviz.trace(vg, params, jnp.zeros(8)).graph()
    outputs = [n.label for n in g.find(kind="output")]
    assert len(outputs) == 2 + 4
    assert any("[1][0]['W']" in o for o in outputs)
    ops = [n.op for n in g.find(kind="op")]
    assert ops.count("tanh") == 2
    assert ops.count("dot_general") == 5  # 2 forward, 3 backward (none for the input x)
    # forward and backward passes sit in jvp / transpose(jvp) scope groups
    scopes = [n.label for n in g.groups if n.op == "scope"]
    assert scopes == ["forward · jvp · 9 ops", "backward · transpose(jvp) · 10 ops"]


def test_grad_of_grad():
    g = jaxviz.trace(jax.grad(jax.grad(lambda x: 2 * x**3)), 1.0).graph()
    assert g.find(kind="op")
    assert len(g.find(kind="output")) == 1


def test_captured_constants_are_marked_and_named():
    g = jaxviz.trace(uses_global, jnp.ones(3)).graph()
    (const,) = g.find(kind="const")
    assert const.label == "GLOBAL_TABLE['scale']"
    assert const.shape == "f32[3]"
    assert any(e.src == const.id for e in g.edges)


GLOBAL_TABLE = {"scale": jnp.arange(3.0)}


def uses_global(x):
    return x * GLOBAL_TABLE["scale"]


def test_named_scopes_become_groups():
    def f(x):
        with jax.named_scope("encoder"):
            with jax.named_scope("attn"):
                y = jnp.sin(x)
            z = y * 2
        return z + 1

    g = jaxviz.trace(f, jnp.ones(3)).graph()
    encoder = next(n for n in g.groups if n.label.startswith("encoder"))
    attn = next(n for n in g.groups if n.label.startswith("attn"))
    assert attn.group == encoder.id
    assert encoder.label == "encoder · 2 ops"
    (sin,) = g.find(op="sin")
    assert sin.group == attn.id
    (add,) = g.find(op="add")
    assert add.group is None


def test_nested_primitives_found_generically():
    @jax.custom_jvp
    def cj(x):
        return jnp.exp(x)

    cj.defjvp(lambda p, t: (jnp.exp(p[0]), t[0]))

    @jax.custom_vjp
    def cv(x):
        return jnp.sin(x)

    cv.defvjp(lambda x: (jnp.sin(x), x), lambda r, g: (g * jnp.cos(r),))

    def f(x):
        y = jax.checkpoint(lambda a: jnp.cos(a) * 2.0)(x)
        return cj(y) + cv(y) + jax.jit(lambda a: a * 3.0)(y)

    g = jaxviz.trace(f, jnp.ones(2)).graph()
    group_ops = {n.op for n in g.groups}
    assert {"custom_jvp_call", "custom_vjp_call", "jit"} <= group_ops
    assert any(op.startswith("remat") or op == "checkpoint" for op in group_ops)
    for prim, inner in [("custom_jvp_call", "exp"), ("custom_vjp_call", "sin"), ("jit", "mul")]:
        (group,) = g.find(op=prim)
        assert inner in [m.op for m in g.children(group.id)]
    # every equation in the jaxpr is one node
    assert len(g.find(kind="op")) == 7


def test_shard_map_is_a_group():
    mesh = jax.make_mesh((1,), ("d",))
    from jax.sharding import PartitionSpec as PS

    f = jax.shard_map(lambda a: jax.lax.psum(a * 2.0, "d"), mesh=mesh, in_specs=PS(),
                      out_specs=PS())
    g = jaxviz.trace(f, jnp.ones(4)).graph()
    (group,) = g.find(op="shard_map")
    inside = [n.op for n in g.nodes.values() if n.kind == "op" and n.group == group.id]
    assert "mul" in inside and any(op.startswith("psum") for op in inside)


def test_default_view_stays_small_and_expansion_projects():
    g = jaxviz.trace(P.fori_fn, jnp.ones(2)).graph()
    default = expansion(g)
    (scan,) = g.find(op="scan")
    assert scan.id in default  # small program: everything fits
    closed = project(g, frozenset())
    assert scan.id in closed.nodes
    assert not any(g.nodes[n].group == scan.id for n in closed.nodes)
    opened = project(g, {scan.id})
    assert scan.id in opened.clusters
    # edges into a closed group are redirected to it
    assert any(dst == scan.id for (_, dst) in closed.edges)


def test_expansion_requests():
    g = jaxviz.trace(P.while_fn, jnp.ones(2)).graph()
    all_groups = {n.id for n in g.groups}
    assert expansion(g, "all") == all_groups
    assert expansion(g, "none") == frozenset()
    assert expansion(g, 1) == {n.id for n in g.groups if g.depth(n.id) == 0}
    with pytest.raises(ValueError, match="not group ids"):
        expansion(g, ["nope"])
    with pytest.raises(ValueError, match="expand must be"):
        expansion(g, "some")


def test_big_pytrees_of_inputs_and_outputs_are_grouped_by_path():
    layers = [{f"w{j}": jnp.ones(2) for j in range(3)} for _ in range(5)]  # 15 leaves

    def f(layers, x):
        for p in layers:
            x = x * p["w0"] + p["w1"] - p["w2"]
        return x.sum()

    g = jaxviz.trace(jax.grad(f), layers, jnp.ones(2)).graph()
    (root,) = [n for n in g.groups if n.op == "inputs" and n.group is None]
    assert root.label == "layers · 15 arrays"
    per_layer = [n for n in g.groups if n.op == "inputs" and n.group == root.id]
    assert [n.label for n in per_layer] == [f"layers[{i}] · 3 arrays" for i in range(5)]
    inputs = g.find(kind="input")
    assert {g.nodes[n.group].label for n in inputs if n.label != "x"} == {n.label for n in per_layer}
    assert next(n for n in inputs if n.label == "x").group is None
    outputs = [n for n in g.groups if n.op == "outputs" and n.group is None]
    assert [n.label for n in outputs] == ["result · 15 arrays"]
    # small pytrees stay flat
    small = jaxviz.trace(P.feed_forward, P.make_params(), jnp.ones(8)).graph()
    assert not [n for n in small.groups if n.op == "inputs"]


def test_long_straight_line_programs_are_chunked_level_by_level():
    import random

    def long_program(x):
        ops = [jnp.sin, jnp.cos, jnp.tanh, jnp.exp, jnp.negative]
        rng = random.Random(0)
        for _ in range(2000):
            x = rng.choice(ops)(x)
        return x

    g = jaxviz.trace(long_program, jnp.ones(2)).graph()
    assert len(g.find(kind="op")) == 2000
    for group in [None, *[n.id for n in g.groups]]:
        assert len(g.children(group)) <= 150
    view = project(g, expansion(g))
    assert len(view.nodes) <= 250
    top_chunks = [n for n in g.children(None) if n.op == "chunk"]
    assert len(top_chunks) == 40 and top_chunks[0].label.startswith("50 ops · line ")
