"""What a compiled program computes, as one digest: two programs that differ only in
instruction names, metadata, layouts or the order of independent instructions get the same.

Each instruction's digest is made of its opcode, its shape (without layout), its attributes
(without names of other things) and, in order, the digests of its operands and of the
computations it calls. A computation's digest is that of its root, plus the digests of any
instructions the root does not reach (side effects), as a sorted list. Instructions are
printed after their operands and computations after their callees, so one pass in printed
order does it: linear in the size of the program, with no recursion.

XLA prints big constants elided (``constant({...})``): their values cannot be told apart,
so :func:`elided_constants` counts them, for the caller to say so.
"""

from __future__ import annotations

import hashlib

from jaxviz.hlo.parse import _CALLEE_ATTRIBUTES, HloComputation, HloModule

#: Attributes that say where an op came from or how it is scheduled, not what it computes.
_IGNORED = _CALLEE_ATTRIBUTES | {"metadata", "control-predecessors", "frontend_attributes",
                                 "statistics", "origin"}


def fingerprint(module: HloModule) -> str:
    """The digest of the ENTRY computation (see the module docstring)."""
    digests: dict[str, str] = {}
    for computation in module.computations:
        digests[computation.name] = _computation_digest(computation, digests)
    return digests[module.entry.name]


def elided_constants(module: HloModule) -> int:
    """How many constants the text leaves the values of out."""
    return sum(inst.opcode == "constant" and inst.literal is not None and "..." in inst.literal
               for computation in module.computations for inst in computation.instructions)


def _computation_digest(computation: HloComputation, called: dict[str, str]) -> str:
    own: dict[str, str] = {}
    for inst in computation.instructions:
        parts = [
            inst.opcode,
            str(inst.shape),  # without its layout
            repr(sorted((k, v) for k, v in inst.attributes.items() if k not in _IGNORED)),
            inst.literal or "",
            "" if inst.parameter_number is None else str(inst.parameter_number),
            *(own.get(name.removeprefix("%"), "?" + name) for name in inst.operands),
            "|",
            *(called.get(name.removeprefix("%"), "?" + name) for name in inst.called_computations),
        ]
        own[inst.name] = _digest(parts)
    root = computation.root
    if root is None:
        return _digest(["empty"])
    unreached = sorted(own[name] for name in own.keys() - _reached(computation, root.name))
    return _digest([own[root.name], *unreached])


def _reached(computation: HloComputation, root: str) -> set[str]:
    seen, stack = {root}, [root]
    while stack:
        for name in computation.instructions_by_name[stack.pop()].operands:
            name = name.removeprefix("%")
            if name not in seen and name in computation.instructions_by_name:
                seen.add(name)
                stack.append(name)
    return seen


def _digest(parts: list[str]) -> str:
    return hashlib.blake2b("\x00".join(parts).encode("utf-8"), digest_size=16).hexdigest()
