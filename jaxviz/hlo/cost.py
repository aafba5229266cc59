"""What one ENTRY instruction costs, estimated from shapes: the bytes it reads and writes, and
its floating-point operations. XLA's cost analysis gives whole programs only; a profile's
op needs its own figures to say how fast it ran (GFLOP/s, GB/s).

Bytes are the instruction's operands and result, as stored (what crosses the fusion's
boundary). FLOPs: 2·M·N·K for a dot, 2 per multiply-add of a convolution, one per element
read for a reduction, one per element made for other arithmetic, in the computations the instruction runs (a loop's body once: its trip
count is not known here).
"""

from __future__ import annotations

import re
from math import prod

from jaxviz.hlo.parse import HloComputation, HloInstruction, HloModule, Shape

#: Bytes per element of XLA's element types (sub-byte ones rounded up).
ELEMENT_BYTES = {"pred": 1, "s4": 1, "u4": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "f16": 2,
                 "bf16": 2, "s32": 4, "u32": 4, "f32": 4, "s64": 8, "u64": 8, "f64": 8,
                 "c64": 8, "c128": 16, "f8e4m3fn": 1, "f8e5m2": 1, "f8e4m3b11fnuz": 1,
                 "f8e4m3fnuz": 1, "f8e5m2fnuz": 1}
#: Opcodes that compute nothing (data movement, structure): no FLOPs of their own.
_NO_FLOPS = frozenset({
    "parameter", "constant", "tuple", "get-tuple-element", "bitcast", "broadcast", "reshape",
    "transpose", "copy", "convert", "slice", "dynamic-slice", "dynamic-update-slice",
    "concatenate", "pad", "reverse", "iota", "gather", "scatter", "fusion", "call", "while",
    "conditional", "custom-call", "after-all", "partition-id", "replica-id", "sort",
    "bitcast-convert", "copy-start", "copy-done", "optimization-barrier", "rng-bit-generator",
})
_DIMS = re.compile(r"\d+")


def shape_bytes(shape: Shape) -> int:
    if shape.is_tuple:
        return sum(shape_bytes(element) for element in shape.elements)
    return ELEMENT_BYTES.get(shape.dtype, 4) * prod(max(d, 0) for d in shape.dims)


def op_cost(module: HloModule, inst: HloInstruction) -> tuple[float, int]:
    """(FLOPs, bytes) of one ENTRY instruction (see the module docstring)."""
    entry = module.entry
    read = sum(shape_bytes(entry.instruction(name).shape) for name in inst.operands
               if name.removeprefix("%") in entry.instructions_by_name)
    return float(_flops(module, entry, inst, set())), read + shape_bytes(inst.shape)


def _flops(module: HloModule, computation: HloComputation, inst: HloInstruction,
           seen: set[str]) -> int:
    if inst.called_computations and inst.opcode in ("fusion", "call", "while", "conditional",
                                                    "async-start"):
        total = 0
        for name in inst.called_computations:
            callee = module.computation(name)
            if callee.name in seen:
                continue
            seen.add(callee.name)
            total += sum(_flops(module, callee, inner, seen) for inner in callee.instructions)
        return total
    if inst.opcode == "dot":
        lhs = computation.instruction(inst.operands[0]).shape
        contracted = [int(d) for d in _DIMS.findall(inst.attributes.get("lhs_contracting_dims", ""))]
        return 2 * prod(inst.shape.dims) * prod(lhs.dims[d] for d in contracted if d < len(lhs.dims))
    if inst.opcode == "convolution":
        kernel = computation.instruction(inst.operands[1]).shape
        labels = inst.attributes.get("dim_labels", "")
        kernel_labels = labels.split("_")[1].split("->")[0] if "_" in labels else ""
        out_features = (kernel.dims[kernel_labels.index("o")]
                        if "o" in kernel_labels and len(kernel_labels) == len(kernel.dims) else 1)
        return 2 * prod(inst.shape.dims) * prod(kernel.dims) // max(out_features, 1)
    if inst.opcode in ("reduce", "reduce-window"):  # one per element read
        return sum(prod(computation.instruction(name).shape.dims)
                   for name in inst.operands[: len(inst.operands) // 2])
    if inst.opcode in _NO_FLOPS or inst.shape.is_tuple:
        return 0
    return prod(inst.shape.dims)
