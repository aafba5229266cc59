"""Tests for jaxviz.hlo.parse: live HLO from the installed jax, stored samples
(tests/data/hlo/README.md says where each came from), errors, and fuzzing."""

from __future__ import annotations

import inspect
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jax import lax

from jaxviz.hlo import HloModule, HloParseError, Shape, parse_hlo
from jaxviz.hlo.parse import UNBOUNDED_DIM, SourceFrame

DATA = Path(__file__).parent / "data" / "hlo"
GENERATOR = DATA / "generate.py"
SAMPLES = sorted(DATA.glob("*.hlo"))
JAX_SAMPLES = [path for path in SAMPLES if ".jax" in path.name]
TABLE_SAMPLES = [path for path in JAX_SAMPLES if "FileNames" in path.read_text()]
INLINE_SAMPLES = [path for path in JAX_SAMPLES if "source_file=" in path.read_text()]

# Counted independently of the parser: every `[ROOT] [%]name = ...` line is an instruction.
INSTRUCTION_LINE = re.compile(r"^\s*(?:ROOT\s+)?%?[\w.\-]+\s*=\s*\S", re.M)


def compiled_hlo(fn, *args) -> str:
    return jax.jit(fn).trace(*args).lower().compile().as_text()


def check_module(module: HloModule, text: str) -> None:
    """Structural checks that hold for every well-formed module."""
    instructions = [inst for comp in module.computations for inst in comp.instructions]
    assert len(instructions) == len(INSTRUCTION_LINE.findall(text))
    assert module.entry.is_entry and module.entry in module.computations
    assert sum(comp.is_entry for comp in module.computations) == 1
    lines = text.splitlines()
    for comp in module.computations:
        assert module.computation(comp.name) is comp
        assert comp.root is not None and comp.root in comp.instructions
        assert sum(inst.is_root for inst in comp.instructions) <= 1
        for inst in comp.instructions:
            assert comp.instruction(inst.name) is inst
            assert re.match(rf"\s*(ROOT\s+)?%?{re.escape(inst.name)}\s*=", lines[inst.line - 1])
            for callee in inst.called_computations:
                assert callee in module.computations_by_name, (inst.name, callee)
            if inst.opcode == "fusion":
                assert module.computation(inst.attributes["calls"]).name == inst.called_computations[0]
            for operand in inst.operands:
                assert operand in comp.instructions_by_name, (inst.name, operand)


def line_containing(fn_or_path, needle: str) -> int:
    """1-based line number of the only line containing `needle` in a function or file."""
    if isinstance(fn_or_path, Path):
        source, first = fn_or_path.read_text().splitlines(), 1
    else:
        source, first = inspect.getsourcelines(fn_or_path)
    hits = [first + i for i, line in enumerate(source) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def by_op_name(module: HloModule, suffix: str):
    return [
        inst
        for comp in module.computations
        for inst in comp.instructions
        if inst.metadata and inst.metadata.op_name and inst.metadata.op_name.endswith(suffix)
    ]


# --- programs compiled live ------------------------------------------------------------


def matmul_bias(x, w, b):
    return x @ w + b


def elementwise_chain(x):
    return jnp.tanh(jnp.exp(x) * 2.0 - 1.0) / (1.0 + x * x)


def scan_cumsum(xs):
    return lax.scan(lambda c, x: (c + x, c * x), 0.0, xs)


def fori(x):
    return lax.fori_loop(0, 7, lambda i, v: v * 1.5 + i, x)


def while_loop(x):
    return lax.while_loop(lambda v: v.sum() < 100.0, lambda v: v * 2.0 + 1.0, x)


def cond(p, x):
    return lax.cond(p, jnp.sin, jnp.cos, x)


def switch(i, x):
    return lax.switch(i, [jnp.sin, jnp.cos, lambda v: v * 3.0], x)


def reductions(x):
    return x.sum(axis=0), x.max(), jnp.argmin(x, axis=1), x.mean()


def gather_scatter(x, idx):
    return x[idx], x.at[idx].add(1.0)


@jax.custom_jvp
def softplus(x):
    return jnp.log1p(jnp.exp(x))


@softplus.defjvp
def softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t * jax.nn.sigmoid(x)


def custom_jvp_grad(x):
    return jax.grad(lambda v: softplus(v).sum())(x)


def sort(x):
    return jnp.sort(x, axis=-1), lax.sort((x[0], x[1]), num_keys=1)


# name: (program, arguments, opcodes its HLO must have)
LIVE_PROGRAMS = {
    "matmul_bias": (matmul_bias, (jnp.ones((2, 3)), jnp.ones((3, 4)), jnp.ones(4)), {"fusion", "dot"}),
    "elementwise_chain": (elementwise_chain, (jnp.ones((4, 8)),), {"fusion"}),
    "scan": (scan_cumsum, (jnp.ones(5),), {"while"}),
    "fori": (fori, (jnp.ones(3),), {"while"}),
    "while_loop": (while_loop, (jnp.ones(3),), {"while"}),
    "cond": (cond, (True, jnp.ones(3)), {"conditional"}),
    "switch": (switch, (1, jnp.ones(3)), {"conditional"}),
    "reductions": (reductions, (jnp.ones((3, 4)),), {"reduce"}),
    "gather_scatter": (gather_scatter, (jnp.ones(6), jnp.array([0, 2, 4])), {"gather", "scatter"}),
    "custom_jvp": (custom_jvp_grad, (jnp.ones(4),), set()),
    "sort": (sort, (jnp.ones((2, 5)),), {"sort"}),
}
# Each program is one line, whose ops carry its line number; custom_jvp's come from the jvp rule.
OPS_WRITTEN_IN = {"custom_jvp": softplus_jvp}


@pytest.mark.parametrize("name", sorted(LIVE_PROGRAMS))
def test_live_program(name):
    fn, args, opcodes = LIVE_PROGRAMS[name]
    text = compiled_hlo(fn, *args)
    module = parse_hlo(text)
    check_module(module, text)
    found = {inst.opcode for comp in module.computations for inst in comp.instructions}
    assert opcodes <= found
    metadata = [inst.metadata for comp in module.computations for inst in comp.instructions if inst.metadata]
    assert any(meta.op_name and meta.op_name.startswith("jit(") for meta in metadata)
    own_lines = {meta.source_line for meta in metadata if meta.source_file == __file__}
    source, first = inspect.getsourcelines(OPS_WRITTEN_IN.get(name, fn))
    last_line = first + len(source) - 1
    assert last_line in own_lines, (last_line, own_lines)


def test_fusion_resolves_and_matmul_has_kloop():
    text = compiled_hlo(matmul_bias, jnp.ones((2, 3)), jnp.ones((3, 4)), jnp.ones(4))
    module = parse_hlo(text)
    (fusion,) = [inst for inst in module.entry.instructions if inst.opcode == "fusion"]
    assert fusion.attributes["kind"] == "kLoop"
    fused = module.computation(fusion.attributes["calls"])
    assert str(fused.result_shape) == str(fusion.shape) == "f32[2,4]"
    assert len(fused.parameters) == len(fusion.operands)
    numbers = sorted(inst.parameter_number for inst in fused.instructions if inst.opcode == "parameter")
    assert numbers == list(range(len(fusion.operands)))


def _inner_helper(x):
    return jnp.sin(x) + 1.0


def _outer_program(x):
    y = jnp.cos(x)
    return _inner_helper(y) * 3.0


def test_live_source_lines_resolve_to_this_file():
    module = parse_hlo(compiled_hlo(_outer_program, jnp.ones(3)))
    (sin,) = by_op_name(module, "/sin")
    (cos,) = by_op_name(module, "/cos")
    sin_line = line_containing(_inner_helper, "jnp.sin(x)")
    call_line = line_containing(_outer_program, "_inner_helper(y)")
    assert (sin.metadata.source_file, sin.metadata.source_line) == (__file__, sin_line)
    assert (cos.metadata.source_file, cos.metadata.source_line) == (
        __file__,
        line_containing(_outer_program, "cos"),
    )
    if sin.metadata.stack_frame_id is None:  # jax <= 0.7: only the innermost frame is printed
        assert sin.metadata.stack == [SourceFrame(__file__, sin_line, None)]
        return
    assert sin.metadata.source_function == "_inner_helper"
    assert sin.metadata.stack[0] == SourceFrame(__file__, sin_line, "_inner_helper")
    assert sin.metadata.stack[1] == SourceFrame(__file__, call_line, "_outer_program")
    this_test = inspect.currentframe().f_code.co_name
    assert any(frame.function == this_test for frame in sin.metadata.stack[2:])
    assert sin.metadata.extra["source_column"].isdigit()


def test_live_sharded_program_in_subprocess():
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "sharded"], capture_output=True, text=True, timeout=120, check=True
    )
    module = parse_hlo(result.stdout)
    check_module(module, result.stdout)
    _check_sharded(module)


def _check_sharded(module: HloModule) -> None:
    instructions = [inst for comp in module.computations for inst in comp.instructions]
    all_reduces = [inst for inst in instructions if inst.opcode == "all-reduce"]
    assert all_reduces and all(inst.channel_id and inst.replica_groups for inst in all_reduces)
    assert {"all-gather", "collective-permute"} <= {inst.opcode for inst in instructions}
    for inst in all_reduces:
        (reducer,) = inst.called_computations
        assert module.computation(reducer).root.opcode == "add"
    params = [inst for inst in module.entry.instructions if inst.opcode == "parameter"]
    assert all(inst.sharding and inst.sharding.startswith("{devices=") for inst in params)
    assert module.attributes["num_partitions"] == "8"
    (psum,) = [
        inst for inst in instructions if inst.opcode == "all-reduce" and "psum" in inst.metadata.op_name
    ]
    assert Path(psum.metadata.source_file).name == GENERATOR.name
    if psum.metadata.stack_frame_id is None:  # jax <= 0.7 names the shard_map call instead
        assert psum.metadata.source_line == line_containing(GENERATOR, "return body(a, w)")
    else:
        assert psum.metadata.source_line == line_containing(GENERATOR, "marker: psum")
        assert psum.metadata.source_function == "_sharded_body"


# --- stored samples ----------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_stored_sample_structure(path):
    text = path.read_text()
    check_module(parse_hlo(text), text)


def test_samples_cover_both_metadata_styles():
    assert any("0.7." in path.name for path in INLINE_SAMPLES)
    assert any("0.10." in path.name for path in TABLE_SAMPLES)


@pytest.mark.parametrize("path", JAX_SAMPLES, ids=lambda path: path.name)
def test_stored_sample_source_lines_point_into_generator(path):
    module = parse_hlo(path.read_text())
    generator_lines = GENERATOR.read_text().splitlines()
    for comp in module.computations:
        for inst in comp.instructions:
            meta = inst.metadata
            if meta is None or meta.source_file is None:
                continue
            assert Path(meta.source_file).name == GENERATOR.name
            assert 1 <= meta.source_line <= len(generator_lines)
            for frame in meta.stack:
                assert frame.line <= len(generator_lines)
    program = path.name.split(".jax")[0]
    if program == "matmul_bias":
        (dot,) = by_op_name(module, "/dot_general")
        assert dot.metadata.source_line == line_containing(GENERATOR, "marker: dot")
    if program == "scan_loop":
        for sin in by_op_name(module, "/sin"):
            assert sin.metadata.source_line == line_containing(GENERATOR, "marker: body sin")
    if program == "sharded":
        _check_sharded(module)


@pytest.mark.parametrize("path", TABLE_SAMPLES, ids=lambda path: path.name)
def test_table_sample_stacks_follow_parents(path):
    module = parse_hlo(path.read_text())
    for comp in module.computations:
        for inst in comp.instructions:
            meta = inst.metadata
            if meta is None or meta.stack_frame_id is None:
                continue
            assert meta.stack[0] == (meta.source_file, meta.source_line, meta.source_function)
            # The generator calls main() from <module>; ops of the entry computation carry
            # that whole chain (reducers traced on their own may carry a shorter one).
            if comp.is_entry:
                assert [frame.function for frame in meta.stack[-3:]] == ["hlo_text", "main", "<module>"]
    if path.name.startswith("scan_loop"):
        sin = by_op_name(module, "/sin")[0]
        # jax 0.10 repeats the frame of the lax.scan call (three times here).
        functions = [frame.function for frame in sin.metadata.stack]
        deduplicated = [name for i, name in enumerate(functions) if i == 0 or functions[i - 1] != name]
        assert deduplicated == ["scan_loop.<locals>.body", "scan_loop", "hlo_text", "main", "<module>"]
        assert sin.metadata.stack[1].line == line_containing(GENERATOR, "lax.scan(body")


def test_inline_sample_keeps_one_frame():
    module = parse_hlo((DATA / "matmul_bias.jax0.7.0.hlo").read_text())
    (dot,) = by_op_name(module, "/dot_general")
    assert dot.metadata.stack_frame_id is None and dot.metadata.source_function is None
    assert dot.metadata.stack == [SourceFrame(dot.metadata.source_file, dot.metadata.source_line, None)]


@pytest.mark.parametrize("path", sorted(DATA.glob("scan_loop.jax*.hlo")), ids=lambda path: path.name)
def test_cpu_while_is_wrapped_in_call(path):
    module = parse_hlo(path.read_text())
    call = next(inst for inst in module.entry.instructions if inst.opcode == "call")
    assert call.attributes["frontend_attributes"] == '{xla_cpu_small_call="true"}'
    wrapper = module.computation(call.called_computations[0])
    assert wrapper.root.opcode == "while"
    condition, body = wrapper.root.called_computations
    assert module.computation(condition).root.shape == Shape("pred")
    assert module.computation(body).root.opcode == "tuple"
    assert '"known_trip_count":{"n":"5"}' in wrapper.root.attributes["backend_config"]


def test_gpu_style_sample():
    module = parse_hlo((DATA / "gpu_style.hlo").read_text())
    entry = module.entry
    assert module.attributes["frontend_attributes"] == '{fingerprint_before_lhs="5e1f2c9d"}'
    assert [name for name, _ in entry.parameters] == ["x.1", "w.2", "b.3", "step.4"]
    assert str(entry.result_shape) == "(f32[128,512], f32[])"

    gemm = entry.instruction("%custom-call.1")
    assert gemm.attributes["custom_call_target"] == '"__cublas$gemm"'
    assert gemm.attributes["backend_config"].startswith('{"operation_queue_id":"0"')
    assert gemm.attributes["backend_config"].endswith('"force_earliest_schedule":false}')
    assert gemm.metadata.source_file == '/home/user/train "v2".py'
    kinds = {inst.attributes["kind"] for inst in entry.instructions if inst.opcode == "fusion"}
    assert kinds == {"kLoop", "kInput", "kOutput", "kCustom"}

    start = entry.instruction("all-reduce-start")
    assert (start.channel_id, start.replica_groups) == ("3", "{ {0,1} }")
    assert start.called_computations == ["add.clone"]
    assert entry.instruction("all-gather-start").replica_groups == "[1,2]<=[2]"
    assert entry.instruction("all-gather-start").attributes["control-predecessors"] == "{%all-reduce-done}"
    assert entry.instruction("reduce-scatter-start").called_computations == ["reduce-scatter.wrapped"]
    assert entry.instruction("reduce-scatter-done").operands == ["reduce-scatter-start"]
    assert entry.instruction("while.1").called_computations == ["cond", "body"]
    assert entry.instruction("cond.loss").called_computations == ["on_true", "on_false"]
    assert module.computation("host_compute").attributes == {"execution_thread": '"host"'}

    literals = {inst.name: inst.literal for inst in entry.instructions if inst.opcode == "constant"}
    assert literals == {
        "matrix": "{ {1, 2}, {3, 4} }",
        "vector": "{1, 2, 3}",
        "flag": "true",
        "cplx": "(1, -2.5)",
        "zero": "0",
    }
    assert module.computation("fused_reduce").instruction("constant_3").literal == "-inf"
    assert entry.instruction("partition-id").operands == []
    assert entry.instruction("after-all").shape == Shape("token")

    ann = entry.instruction("ann")
    assert ann.attributes["custom_call_target"] == '"annotate{\\"x\\"}"'
    assert ann.attributes["backend_config"].startswith('"{\\"note\\"')
    assert ann.metadata.op_name == 'jit(train_step)/say "hi"'
    assert (ann.metadata.source_line, ann.metadata.extra["source_end_line"]) == (12, "13")

    dyn = entry.instruction("dyn")
    assert dyn.shape.dims == (128, UNBOUNDED_DIM) and dyn.shape.dynamic == (True, True)
    assert str(dyn.shape) == "f32[<=128,?]"
    assert dyn.sharding == "{{replicated}, {maximal device=0}}"
    many = entry.instruction("many")
    assert len(many.operands) == 7 and len(many.shape.elements) == 7
    assert entry.root.sharding == "{{devices=[2,1]<=[2]}, {replicated}}"
    param = module.computation("triton_gemm_computation").instruction("parameter_1")
    assert (param.shape.layout, param.parameter_number) == ("{1,0:T(8,128)(2,1)S(1)}", 1)


def test_legacy_sample_operands_with_shapes():
    module = parse_hlo((DATA / "legacy_style.hlo").read_text())
    fusion = module.entry.instruction("fusion")
    assert fusion.operands == ["parameter.1", "tuple.1"]
    multiply = module.computation("fused_computation").root
    assert multiply.operands == ["param_0.1", "get-tuple-element.3"]
    assert multiply.metadata.op_type == "mul"
    assert multiply.metadata.extra == {
        "source_end_line": "7",
        "source_column": "11",
        "source_end_column": "20",
    }
    assert module.entry.root.metadata.op_name == "jit(f)/reduce_sum[axes=(0,)]"
    assert module.entry.name == "jit_f.7"


def test_short_sample_without_sigils_or_signatures():
    module = parse_hlo((DATA / "short_style.hlo").read_text())
    assert [comp.name for comp in module.computations] == ["add_F32.v3", "MapBinaryAdder.v3"]
    assert module.entry.parameters == [] and module.entry.result_shape is None
    assert module.entry.root.called_computations == ["add_F32.v3"]
    assert module.computation("add_F32.v3").root.operands == ["lhs", "rhs"]


# --- small hand-written cases -------------------------------------------------------------


def test_shape_strings():
    text = (
        "HloModule m\n\nENTRY %e () -> (f32[2], (s32[], f32[])) {\n"
        "  ROOT %t = (f32[2]{0}, (s32[], f32[])) tuple()\n}\n"
    )
    module = parse_hlo(text)
    shape = module.entry.root.shape
    assert str(shape) == "(f32[2], (s32[], f32[]))" == str(module.entry.result_shape)
    assert shape.elements[0] == Shape("f32", (2,), "{0}", dynamic=(False,))
    assert shape.elements[1].is_tuple and shape.elements[1].elements[0] == Shape("s32")


def test_missing_entry_keyword_takes_last_computation():
    module = parse_hlo(
        "HloModule m\n\n%a {\n  ROOT %x = f32[] constant(1)\n}\n\n%b {\n  ROOT %y = f32[] constant(2)\n}\n"
    )
    assert module.entry.name == "b" and module.entry.is_entry


TABLES = """HloModule m

FileNames
1 "a.py"

FunctionNames
1 "outer"
2 "inner"

FileLocations
1 {{file_name_id=1 function_name_id=1 line=10}}
2 {{file_name_id=1 function_name_id=2 line=20 column=3}}

StackFrames
{frames}

ENTRY %e () -> f32[] {{
  ROOT %c = f32[] constant(1), metadata={{op_name="c" stack_frame_id=2}}
}}
"""


def test_stack_frame_parent_is_printed_one_high():
    # What XLA prints today: a root frame says 1 and frame 2's parent (frame 1) says 2.
    module = parse_hlo(
        TABLES.format(
            frames="1 {file_location_id=1 parent_frame_id=1}\n2 {file_location_id=2 parent_frame_id=2}"
        )
    )
    meta = module.entry.root.metadata
    assert meta.stack == [SourceFrame("a.py", 20, "inner"), SourceFrame("a.py", 10, "outer")]
    assert (meta.source_file, meta.source_line, meta.source_function) == ("a.py", 20, "inner")
    assert meta.extra == {"source_column": "3"}


def test_stack_frame_parent_printed_as_plain_id():
    # Should XLA ever print the plain id (0 or nothing for a root), take it as is.
    module = parse_hlo(
        TABLES.format(frames="1 {file_location_id=1}\n2 {file_location_id=2 parent_frame_id=1}")
    )
    assert [frame.line for frame in module.entry.root.metadata.stack] == [20, 10]


def test_unknown_stack_frame_is_an_error():
    text = TABLES.format(frames="1 {file_location_id=1 parent_frame_id=1}").replace(
        "stack_frame_id=2", "stack_frame_id=9"
    )
    with pytest.raises(HloParseError, match=r"line 18, column \d+: unknown stack_frame_id 9"):
        parse_hlo(text)


def test_escaped_utf8_strings():
    text = (
        "HloModule m\n\nENTRY %e () -> f32[] {\n"
        '  ROOT %c = f32[] constant(1), metadata={op_name="caf\\303\\251 \\"q\\"\\n"}\n}\n'
    )
    assert parse_hlo(text).entry.root.metadata.op_name == 'café "q"\n'


# --- errors -------------------------------------------------------------------------------

MATMUL_SAMPLE = (DATA / "matmul_bias.jax0.10.2.hlo").read_text()


@pytest.mark.parametrize(
    "text, line",
    [
        ("", 1),
        ("garbage", 1),
        ("HloModule m\n", 1),
        ("HloModule m\n\nENTRY %e {\n  ROOT %c = f32[] constant(1)\n", 5),
        ("HloModule m\n\nENTRY %e {\n  ROOT %c = f32[] add(%a, %b\n}\n", 4),
        ("HloModule m\n\nENTRY %e {\n  %c = f32[] add(%a), dims={1\n}\n", 4),
        ("HloModule m\n\nENTRY %e {\n  %c = f32[] add(%a), dims={1]\n}\n", 4),
        ('HloModule m\n\nENTRY %e {\n  %c = f32[] add(%a), x="open\n}\n', 4),
        ("HloModule m\n\nENTRY %e {\n  %c = f32[2 add(%a)\n}\n", 4),
        ("HloModule m\n\nENTRY %e {\n  %c = f32[x] add(%a)\n}\n", 4),
        ("HloModule m\n\nENTRY %e {\n  %c = f32[] add(%a) trailing\n}\n", 4),
        ("HloModule m\n\nENTRY %e {\n  %c = f32[] parameter(x)\n}\n", 4),
        ("HloModule m\n\nENTRY %e {\n  %c = f32[] add(%a), metadata={op_name=}\n}\n", 4),
        ("HloModule m\n\nENTRY %e {\n  %c = f32[] add(%a), metadata={source_line=x}\n}\n", 4),
        ("HloModule m\n\nENTRY %e {\n  %c = f32[] add(%a), to_apply={%f, 3+}\n}\n", 4),
        ("HloModule m\n\nENTRY %e {\n  %c = f32[] add(%a)\n  %c = f32[] add(%a)\n}\n", 5),
        ("HloModule m\n\nENTRY %e {\n  ROOT %c = f32[] add(%a)\n  ROOT %d = f32[] add(%a)\n}\n", 5),
        ("HloModule m\n\nENTRY %e {\n}\n\nENTRY %f {\n}\n", 6),
        ("HloModule m\n\nFileNames\n1 oops\n", 4),
        (
            MATMUL_SAMPLE[: MATMUL_SAMPLE.index("calls=") + 3],
            MATMUL_SAMPLE[: MATMUL_SAMPLE.index("calls=")].count("\n") + 1,
        ),
    ],
)
def test_errors_name_line_and_column(text, line):
    with pytest.raises(HloParseError) as error:
        parse_hlo(text)
    assert re.match(r"line \d+, column \d+: \S", str(error.value))
    assert error.value.line == line


@pytest.mark.parametrize("name, step", [("matmul_bias.jax0.10.2.hlo", 1), ("gpu_style.hlo", 11)])
def test_every_truncation_of_a_sample_fails_cleanly(name, step):
    text = (DATA / name).read_text()
    complete = len(parse_hlo(text).computations)
    for cut in range(0, len(text.rstrip()), step):
        try:
            module = parse_hlo(text[:cut])
        except HloParseError as error:
            assert re.match(r"line \d+, column \d+: ", str(error))
        else:  # only a cut right after a computation's closing brace leaves valid HLO
            assert text[:cut].rstrip().endswith("}") and len(module.computations) < complete


def test_five_megabyte_module_parses_quickly():
    text = (DATA / "scan_loop.jax0.10.2.hlo").read_text()
    header, body = text.split("\n\n\n", 1)
    copies = 5_000_000 // len(body) + 1
    # Rename each copy's computations and instructions so the module stays well formed.
    big = (
        header
        + "\n\n\n"
        + "".join(
            re.sub(r"%([\w.\-]+)", rf"%\1_{i}", body.replace("ENTRY ", "") if i else body)
            for i in range(copies)
        )
    )
    started = time.perf_counter()
    module = parse_hlo(big)
    elapsed = time.perf_counter() - started
    assert len(module.computations) == copies * len(parse_hlo(text).computations)
    assert elapsed < 5, f"{len(big) / 1e6:.1f} MB took {elapsed:.1f} s"  # about 1 s on a 2-core machine


# --- fuzzing ------------------------------------------------------------------------------

FUZZ_BASES = [
    (DATA / name).read_text()
    for name in ("matmul_bias.jax0.10.2.hlo", "cond_switch.jax0.7.0.hlo", "gpu_style.hlo")
]
HLO_PIECES = st.sampled_from(
    list('{}()[]<>"\\%=,.:/* \t\r\n-_0123456789abcfsuxROTENYé') + ["/*", "*/", "ROOT ", "ENTRY "]
)


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    """Turn a hang into a failure (hypothesis' deadline only reports slow examples that end)."""

    def alarm(signum, frame):
        raise Hang(f"parse_hlo ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def mutated_hlo(draw):
    text = draw(st.sampled_from(FUZZ_BASES))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "swap_lines", "replace"]))
        start = draw(st.integers(0, len(text)))
        end = min(len(text), start + draw(st.integers(0, 40)))
        if kind == "delete":
            text = text[:start] + text[end:]
        elif kind == "insert":
            text = text[:start] + "".join(draw(st.lists(HLO_PIECES, min_size=1, max_size=8))) + text[start:]
        elif kind == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        elif kind == "replace":
            text = text[:start] + draw(HLO_PIECES) + text[start + 1 :]
        else:
            lines = text.split("\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


@settings(
    max_examples=400,
    deadline=timedelta(seconds=2),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated_hlo())
def test_mutated_hlo_never_hangs_crashes_or_drops_lines(text):
    with time_limit(5):
        try:
            module = parse_hlo(text)
        except HloParseError as error:
            assert re.match(r"line \d+, column \d+: ", str(error))
        else:
            parsed = sum(len(comp.instructions) for comp in module.computations)
            assert parsed == len(INSTRUCTION_LINE.findall(text))


@settings(max_examples=200, deadline=timedelta(seconds=2), derandomize=True, database=None)
@given(st.lists(HLO_PIECES, max_size=300).map(lambda pieces: "HloModule m\n\n" + "".join(pieces)))
def test_random_text_never_hangs_or_crashes(text):
    with time_limit(5), suppress(HloParseError):
        parse_hlo(text)


def test_the_same_metadata_text_is_read_once_and_shared():
    """A layer loop repeats each line's metadata once per layer: read once, one object."""
    text = (
        "HloModule m\n\nENTRY %e (x: f32[2]) -> f32[2] {\n"
        "  %x = f32[2]{0} parameter(0)\n"
        '  %a = f32[2]{0} sine(%x), metadata={op_name="jit(f)/sin" source_file="f.py" source_line=3}\n'
        '  %b = f32[2]{0} sine(%a), metadata={op_name="jit(f)/sin" source_file="f.py" source_line=3}\n'
        '  ROOT %c = f32[2]{0} cosine(%b), metadata={op_name="jit(f)/cos" source_file="f.py" source_line=4}\n'
        "}\n")
    a, b, c = parse_hlo(text).entry.instructions[1:]
    assert a.metadata is b.metadata and a.metadata.source_line == 3
    assert c.metadata.op_name == "jit(f)/cos" and c.metadata.stack == [SourceFrame("f.py", 4, None)]
