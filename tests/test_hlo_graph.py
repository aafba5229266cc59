"""The HLO view graph (jaxviz.hlo.build): live HLO of the seed programs, the stored samples
(tests/data/hlo/README.md), an 8-device sharded program, and malformed input."""

from __future__ import annotations

import html
import json
import math
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest
from jax import lax

import jaxviz
import programs as P
from jaxviz.hlo import HloModule, parse_hlo
from jaxviz.hlo.build import INLINE_ELEMENTS, build_hlo_graph, sharding_summary
from jaxviz.layout import CATEGORY_COLORS, Layouter
from jaxviz.model import Graph, expansion, project

DATA = Path(__file__).parent / "data" / "hlo"
SAMPLES = sorted(DATA.glob("*.hlo"))
#: Instructions that draw no node of their own.
FOLDED = {"get-tuple-element", "tuple"}
#: Opcodes whose called computations are drawn as groups.
GROUPING = {"fusion", "call", "while", "conditional"}


def scan_fn(xs):
    def body(carry, x):
        carry = carry + jnp.sin(x)
        return carry, carry * 2.0

    return lax.scan(body, 0.0, xs)


def fori_used(x):
    def body(i, v):
        return v * 2.0 + i

    return lax.fori_loop(0, 10, body, x)


def grad_fn(params, x):
    return jax.grad(lambda p: P.dummy_loss_fn(p, x)[0])(params)


LIVE = {
    "fn": (P.fn, (P.W, P.B, P.X)),
    "stupid_fn": (P.stupid_fn, (P.X,)),
    "cond_fn": (P.cond_fn, (P.X,)),
    "is_even_fast": (P.is_even_fast, (3,)),
    "feed_forward": (P.feed_forward, (P.make_params(), jnp.ones(8))),
    "dummy_loss_fn": (P.dummy_loss_fn, (P.make_params(), jnp.ones(8))),
    "grad_fn": (grad_fn, (P.make_params(), jnp.ones(8))),
    "scan_fn": (scan_fn, (jnp.ones(5),)),
    "fori_used": (fori_used, (P.X,)),
}


def traced(fn, *args):
    """(Trace, jaxpr graph, HLO graph), the HLO parameters and outputs named as the jaxpr's."""
    t = jaxviz.trace(fn, *args)
    assert not t.errors, t.errors
    jaxpr_graph = t.graph("jaxpr")
    names = [n.label for n in jaxpr_graph.find(kind="input")]
    results = [n.label for n in jaxpr_graph.find(kind="output")]
    return t, jaxpr_graph, build_hlo_graph(parse_hlo(t.hlo_text), names, results)


def sample_graph(name: str) -> tuple[HloModule, Graph]:
    module = parse_hlo((DATA / name).read_text())
    return module, build_hlo_graph(module)


def check_graph(module: HloModule, graph: Graph) -> None:
    """Every instruction drawn once or folded; edges and groups point at real nodes."""
    assert graph.view == "hlo"
    for edge in graph.edges:
        assert edge.src in graph.nodes and edge.dst in graph.nodes, edge
        assert edge.label, edge
    for node in graph.nodes.values():
        assert node.group is None or graph.nodes[node.group].kind == "group", node
        assert node.kind in ("op", "input", "const", "output", "group")
        assert node.category in CATEGORY_COLORS or node.category == "fusion", node

    expected: Counter[str] = Counter()
    todo, seen = [module.entry], set()
    while todo:
        comp = todo.pop()
        if comp.name in seen:
            continue
        seen.add(comp.name)
        for inst in comp.instructions:
            folded = inst.opcode in FOLDED or (inst.opcode == "parameter" and not comp.is_entry) \
                or (inst.opcode == "constant" and not inst.shape.is_tuple
                    and math.prod(inst.shape.dims) <= INLINE_ELEMENTS)
            if not folded:
                expected[inst.name] += 1
            if inst.opcode in GROUPING:
                todo.extend(module.computation(c) for c in inst.called_computations)
    drawn = Counter(n.params["name"] for n in graph.nodes.values() if "name" in n.params)
    assert drawn == expected

    root = module.entry.root
    outputs = graph.find(kind="output")
    assert len(outputs) == (len(root.shape.elements) if root.shape.is_tuple else 1)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_stored_samples_draw_every_instruction_once(path):
    module, graph = sample_graph(path.name)
    check_graph(module, graph)


@pytest.mark.parametrize("name", LIVE)
def test_live_programs_draw_every_instruction_once(name):
    fn, args = LIVE[name]
    t, _, graph = traced(fn, *args)
    check_graph(parse_hlo(t.hlo_text), graph)
    # Ids follow the documented scheme and are stable from one build to the next.
    for node in graph.nodes.values():
        prefix = {"input": "p", "op": "h", "const": "c", "group": "f", "output": "r"}[node.kind]
        assert node.id[0] == prefix and node.id[1:].isdigit(), node.id
    again = build_hlo_graph(parse_hlo(t.hlo_text))
    assert [(n.id, n.op) for n in again.nodes.values()] == \
        [(n.id, n.op) for n in graph.nodes.values()]


def test_matmul_bias_shows_the_fusion():
    _, _, g = traced(P.fn, P.W, P.B, P.X)
    inputs = g.find(kind="input")
    assert [n.label for n in inputs] == ["W", "b", "x"]
    assert [n.shape for n in inputs] == ["f32[4,2]", "f32[2]", "f32[4]"]
    fusions = g.find(op="fusion")
    assert len(fusions) == 1
    fusion = fusions[0]
    assert fusion.kind == "group" and fusion.category == "fusion"
    assert fusion.label.startswith("fusion k") and "add" in fusion.label
    assert fusion.params["kind"] in ("kLoop", "kOutput")
    members = g.children(fusion.id)
    assert "add" in [m.op for m in members]
    assert all(m.op != "parameter" for m in members)
    assert [n.category for n in g.find(op="dot")] == ["matmul"]
    (output,) = g.find(kind="output")
    assert output.label == "result" and output.shape == "f32[2]"
    (into_output,) = [e for e in g.edges if e.dst == output.id]
    assert g.nodes[into_output.src].group == fusion.id  # straight from the fused ROOT
    assert into_output.label == "f32[2]"
    # b reaches the add inside the fusion directly, across the group border.
    b = inputs[1]
    assert any(e.src == b.id and g.nodes[e.dst].op == "add" for e in g.edges)
    line = P.fn.__code__.co_firstlineno + 1
    add = next(m for m in members if m.op == "add")
    assert add.source.filename == P.__file__ and add.source.line == line
    assert add.params["op_name"].endswith("/add")


def test_stupid_fn_is_a_single_copy():
    _, _, g = traced(P.stupid_fn, P.X)
    assert [n.op for n in g.find(kind="op")] == ["copy"]
    assert [n.kind for n in g.nodes.values()] == ["input", "op", "output"]
    assert {(e.src, e.dst) for e in g.edges} == {("p0", "h0"), ("h0", "r0")}


def test_scan_is_a_call_around_a_while_with_condition_and_body():
    _, _, g = traced(scan_fn, jnp.ones(5))
    (call,) = g.find(op="call")
    (loop,) = g.find(op="while")
    assert loop.group == call.id and loop.category == "control"
    assert loop.label.startswith("while ×5 · ")
    assert loop.params["trip_count"] == "5"
    parts = g.children(loop.id)
    assert [(p.op, p.label, p.category) for p in parts] == [("part", "condition", "part"), ("part", "body", "part")]
    assert not g.find(op="get-tuple-element") and not g.find(op="tuple")
    assert [n.label for n in g.find(kind="output")] == ["result[0]", "result[1]"]
    # The constant 2.0 is inlined into the multiply inside the body's fusion.
    (multiply,) = g.find(op="multiply")
    assert multiply.label == "multiply(·, 2)"
    # xs flows from the parameter into the body's slicing, through call, while and fusion.
    (xs,) = g.find(kind="input")
    sliced = [g.nodes[e.dst] for e in g.edges if e.src == xs.id]
    assert [n.op for n in sliced] == ["dynamic-slice"]
    assert g.depth(sliced[0].id) == 4  # call > while > body > fusion


def test_loop_carried_literals_are_not_inlined():
    """An initial carry of 0 is 0 only in the first iteration."""
    _, g = sample_graph("gpu_style.hlo")
    labels = {n.label for n in g.find(kind="op")}
    assert "compare LT(·, 4)" in labels and "add(·, 1)" in labels
    (loop,) = g.find(op="while")
    (output,) = [n for n in g.find(kind="output") if n.shape == "f32[128,512]"]
    # The loop passes element 1 through unchanged: the output comes from the loop group.
    assert [e.src for e in g.edges if e.dst == output.id] == [loop.id]


def test_conditional_branches_are_parts():
    _, g = sample_graph("cond_switch.jax0.10.2.hlo")
    first, second = g.find(op="conditional")
    assert first.label == "conditional · 2 branches"
    assert second.label == "conditional · 3 branches"
    assert [p.label for p in g.children(second.id)] == ["branch 0", "branch 1", "branch 2"]
    # The branch index feeds the group; the output is fed by every branch.
    assert any(e.dst == second.id and e.label == "s32[]" for e in g.edges)
    (output,) = g.find(kind="output")
    feeding = {g.nodes[e.src].op for e in g.edges if e.dst == output.id}
    assert feeding == {"sine", "cosine", "tanh"}


def test_small_constants_are_inlined_and_big_ones_are_nodes():
    _, g = sample_graph("gpu_style.hlo")
    assert "reduce(·, -inf) add dims={0,1}" in {n.label for n in g.find(kind="op")}
    assert not g.find(kind="const")  # the 2×2 matrix, the vector and the scalars are unused
    big = jaxviz.trace(lambda x: x + jnp.arange(100.0), jnp.ones(100))
    g = build_hlo_graph(parse_hlo(big.hlo_text))
    consts = g.find(kind="const")
    if consts:  # XLA may also turn the arange into an iota
        assert consts[0].label == "constant f32[100]" and consts[0].category == "const"
        assert consts[0].params["literal"].startswith("{")


def test_parameter_names():
    _, g = sample_graph("matmul_bias.jax0.10.2.hlo")
    assert [n.label for n in g.find(kind="input")] == ["x", "w", "b"]  # metadata op_name
    module = parse_hlo((DATA / "matmul_bias.jax0.10.2.hlo").read_text())
    g = build_hlo_graph(module, ["lhs", "rhs", "bias"], ["y"])
    assert [n.label for n in g.find(kind="input")] == ["lhs", "rhs", "bias"]
    assert [n.label for n in g.find(kind="output")] == ["y"]
    # A name list that does not fit (jit dropped an unused argument) is not used by position.
    g = build_hlo_graph(module, ["unused", "lhs", "rhs", "bias"], ["y", "z"])
    assert [n.label for n in g.find(kind="input")] == ["x", "w", "b"]
    assert [n.label for n in g.find(kind="output")] == ["out0"]
    _, g = sample_graph("short_style.hlo")  # no metadata: the HLO names
    assert [n.label for n in g.find(kind="input")] == ["param0", "param1"]
    assert [n.label for n in g.find(kind="op")] == ["map add dims={0}"]


def test_categories_labels_and_params_of_gpu_style_hlo():
    _, g = sample_graph("gpu_style.hlo")
    by_name = {n.params["name"]: n for n in g.nodes.values() if "name" in n.params}
    expected = {
        "custom-call.1": "matmul", "all-reduce-start": "collective",
        "all-reduce-done": "collective", "all-gather-start": "collective",
        "reduce-scatter-start": "collective", "reduce.4": "reduction", "convert.x": "movement",
        "neg": "elementwise", "while.1": "control", "cond.loss": "control", "host": "call",
        "triton": "fusion", "partition-id": "other", "x.1": "input",
    }
    assert {name: by_name[name].category for name in expected} == expected
    assert by_name["triton"].label == "fusion kCustom · dot"
    assert by_name["output_fusion"].label == "fusion kOutput · dot, add"
    assert by_name["custom-call.1"].label == "custom-call __cublas$gemm"
    assert by_name["reduce-scatter-start"].label == "async-start reduce-scatter"
    assert by_name["ann"].label == 'custom-call annotate{"x"}'
    assert len(by_name["custom-call.1"].params["backend_config"]) <= 200
    assert by_name["all-gather-start"].params["replica_groups"] == "[1,2]<=[2]"
    assert by_name["all-reduce-start"].params["channel_id"] == "3"
    assert by_name["x.1"].label == "x ⟨2×1⟩"
    assert by_name["step.4"].label == "step.4 ⟨device 0⟩"
    assert by_name["dyn"].label.endswith("⟨replicated, device 0⟩")
    assert by_name["dyn"].shape == "f32[<=128,?]"
    ann = by_name["ann"]
    assert ann.source.filename == '/home/user/train "v2".py' and ann.source.line == 12
    assert ann.source.function == "loss_fn"


@pytest.mark.parametrize("version", ["0.7.0", "0.10.2"])
def test_stored_sharded_sample_shows_collectives_and_shardings(version):
    _, g = sample_graph(f"sharded.jax{version}.hlo")
    collectives = [n.op for n in g.nodes.values() if n.category == "collective"]
    assert collectives == ["all-reduce", "all-gather", "collective-permute", "all-reduce"]
    a, w = g.find(kind="input")
    assert a.params["sharding"] == "{devices=[2,4]<=[8]}" and a.label == "a ⟨2×4⟩"
    assert w.label == "w ⟨4×1 ×2 replicated⟩"
    permute = g.find(op="collective-permute")[0]
    assert permute.params["source_target_pairs"].startswith("{{0,1}")
    assert g.find(op="all-gather")[0].params["replica_groups"] == "{{0,4},{1,5},{2,6},{3,7}}"


def test_sharding_summary():
    assert sharding_summary("{replicated}") == "replicated"
    assert sharding_summary("{maximal device=3}") == "device 3"
    assert sharding_summary("{devices=[2,4]<=[8]}") == "2×4"
    assert sharding_summary("{devices=[4,1,2]<=[2,4]T(1,0) last_tile_dim_replicate}") \
        == "4×1 ×2 replicated"
    assert sharding_summary("{{devices=[2,1]<=[2]}, {replicated}}") == "2×1, replicated"
    assert sharding_summary("{manual}") == "manual"


SHARDED_SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    import jax, jax.numpy as jnp
    from jax import lax
    from jax.sharding import NamedSharding, PartitionSpec as P
    import jaxviz
    from jaxviz.hlo import parse_hlo
    from jaxviz.hlo.build import build_hlo_graph
    from jaxviz.link import link

    mesh = jax.make_mesh((2, 4), ("x", "y"))
    shard_map = getattr(jax, "shard_map", None)
    if shard_map is None:  # jax < 0.7.1
        from jax.experimental.shard_map import shard_map

    def body(a, w):
        s = jnp.sin(a) @ w
        total = lax.psum(s, "y")
        return lax.all_gather(total, "x", tiled=True)

    def program(a, w):
        out = shard_map(body, mesh=mesh, in_specs=(P("x", "y"), P("y", None)),
                        out_specs=P("x", None))(a, w)
        return jnp.tanh(out).sum(axis=0)

    a = jax.device_put(jnp.ones((8, 16)), NamedSharding(mesh, P("x", "y")))
    w = jax.device_put(jnp.ones((16, 4)), NamedSharding(mesh, P("y", None)))
    t = jaxviz.trace(program, a, w)
    if t.errors:
        sys.exit(str(t.errors))
    hlo = build_hlo_graph(parse_hlo(t.hlo_text), ["a", "w"], ["result"])
    report = link(t.graph("jaxpr"), hlo)
    print(json.dumps({
        "devices": jax.device_count(),
        "nodes": [{"op": n.op, "kind": n.kind, "label": n.label, "category": n.category,
                   "sharding": n.params.get("sharding"),
                   "replica_groups": n.params.get("replica_groups"), "links": n.links}
                  for n in hlo.nodes.values()],
        "coverage": report.hlo_coverage,
    }))
""")


def test_sharded_program_on_eight_cpu_devices():
    done = subprocess.run([sys.executable, "-c", SHARDED_SCRIPT], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["devices"] == 8
    nodes = result["nodes"]
    collectives = {n["op"] for n in nodes if n["category"] == "collective"}
    assert {"all-reduce", "all-gather"} <= collectives
    for node in nodes:
        if node["op"] in ("all-reduce", "all-gather"):
            assert node["replica_groups"], node
    inputs = [n for n in nodes if n["kind"] == "input"]
    assert [n["sharding"] for n in inputs] == [
        "{devices=[2,4]<=[8]}", "{devices=[4,1,2]<=[2,4]T(1,0) last_tile_dim_replicate}"]
    assert [n["label"] for n in inputs] == ["a ⟨2×4⟩", "w ⟨4×1 ×2 replicated⟩"]
    # The psum and all_gather of the shard_map body link back to their equations.
    assert all(n["links"] for n in nodes if n["op"] in ("all-gather",))
    assert result["coverage"] >= 0.9


MALFORMED = """HloModule broken

%loops (p: f32[]) -> f32[] {
  %p = f32[] parameter(0)
  ROOT %again = f32[] call(%p), to_apply=%loops
}

%cond (t: (f32[])) -> pred[] {
  %t = (f32[]) parameter(0)
  ROOT %c = pred[] constant(true)
}

ENTRY %main (x: f32[]) -> (f32[], f32[], f32[]) {
  %x = f32[] parameter(0)
  %y = f32[] add(%x, %nowhere)
  %z = f32[] call(%y), to_apply=%loops
  %bad = f32[] get-tuple-element(%y), index=7
  %odd = f32[] get-tuple-element(%x), index=oops
  %w = (f32[]) while(%x), condition=%cond, body=%missing
  %extra = f32[] parameter(5)
  ROOT %out = (f32[], f32[], f32[]) tuple(%z, %bad, %w)
}
"""


def test_malformed_modules_do_not_crash():
    """The parser does not check references; the builder must not trip over them."""
    module = parse_hlo(MALFORMED)
    g = build_hlo_graph(module, ["only one name"])
    assert [n.label for n in g.find(kind="input")] == ["x", "extra"]
    assert {n.op for n in g.find(kind="group")} == {"call"}
    assert {n.op for n in g.find(kind="op")} >= {"add", "call", "while"}
    for edge in g.edges:
        assert edge.src in g.nodes and edge.dst in g.nodes
    assert len(g.find(kind="output")) == 3


def test_hlo_graph_lays_out_with_stable_ids():
    _, _, g = traced(scan_fn, jnp.ones(5))
    (call,) = g.find(op="call")
    (loop,) = g.find(op="while")
    svg = html.unescape(Layouter(g).layout(expansion(g, "all")).svg)
    assert 'id="n-p0"' in svg and 'id="n-r1"' in svg and f'id="c-{loop.id}"' in svg
    closed = html.unescape(Layouter(g).layout(expansion(g, "none")).svg)
    assert f'id="n-{call.id}"' in closed  # the collapsed call around the loop


def deep_matmuls(w, layers, x):
    first = jnp.sin(x @ w)
    for layer in layers:
        x = jnp.tanh(x @ w + layer)
    return x * first  # a value from the first chunk, used in the last


def test_a_long_hlo_level_is_chunked_and_its_chunks_drawn_as_a_chain():
    """XLA leaves a deep unrolled program as hundreds of ENTRY instructions: chunks keep every
    level small, parameters group by pytree path, and the drawing links neighbour chunks only."""
    import pygraphviz

    t = jaxviz.trace(deep_matmuls, jnp.eye(4), [jnp.ones(4)] * 160, jnp.ones(4))
    # The HLO alone, without the loop the trace's HLO view inherits from the jaxpr view.
    g = build_hlo_graph(parse_hlo(t.hlo_text), t._cap.arg_names, t._cap.result_names)
    steps = lambda group: [n for n in g.children(group)  # noqa: E731
                           if n.category not in ("input", "output", "const")]
    assert all(len(steps(group)) <= 150 for group in [None, *(n.id for n in g.groups)])
    chunks = [n.id for n in g.children(None) if n.op == "chunk"]
    assert len(chunks) >= 3
    (layers,) = [n for n in g.children(None) if n.op == "inputs"]
    assert layers.label == "layers · 160 arrays"
    layout = Layouter(g).layout(expansion(g))
    assert layout.node_count <= 60
    position = {chunk: i for i, chunk in enumerate(chunks)}
    flows = project(g, layout.expanded).edges
    assert any(abs(position[a] - position[b]) > 1 for a, b in flows
               if a in position and b in position)
    drawn = [(str(a), str(b)) for a, b in pygraphviz.AGraph(string=layout.dot).edges()]
    between = [(position[a], position[b]) for a, b in drawn if a in position and b in position]
    assert between and all(abs(a - b) == 1 for a, b in between)
    # Every flow is still in the graph (and in the details): only the drawing leaves some out.
    assert t.links.hlo_coverage > 0.9
