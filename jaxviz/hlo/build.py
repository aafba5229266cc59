"""Parsed optimized HLO -> the HLO view graph.

The graph shows the ENTRY computation. Fusions, calls, while loops and conditionals are
collapsible groups holding the instructions of the computations they run (while loops get a
"condition" and a "body" part, conditionals one part per branch). Computations that only
parametrise one instruction (a reduce's ``add`` region, a sort comparator, a scatter's update)
are not drawn: the instruction's label says what they do (``reduce add``).

Edges run straight from producer to consumer across group borders, as in the jaxpr view:

* a called computation's ``parameter(i)`` is bound to the caller's operand ``i`` and draws
  no node; the computation's ROOT feeds the caller's users;
* ``tuple`` and ``get-tuple-element`` draw no node either: an edge runs from the producer of
  the element to its user; a value that only passes through a loop or branch comes from the
  group;
* constants of at most :data:`INLINE_ELEMENTS` elements are written into their users' labels
  (``multiply(·, 2)``); bigger ones are ``const`` nodes.

Node ids (stable for a module):

    p<k>   ENTRY parameter k                          kind "input"
    h<k>   instruction, in walk order                 kind "op"
    c<k>   constant too big to inline                 kind "const"
    f<k>   fusion / call / while / conditional group,
           the parts of while and conditional, and
           the groups every view gets: pytrees of
           parameters / results, chunks of long
           levels (see jaxviz.grouping)               kind "group"
    r<k>   element k of the ENTRY ROOT                kind "output"

Every instruction node keeps its HLO name in ``params["name"]`` and its metadata op_name in
``params["op_name"]`` (what :mod:`jaxviz.link` matches on).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Callable, Sequence

from jaxviz.hlo.parse import (
    HloComputation, HloInstruction, HloMetadata, HloModule, Shape,
)
from jaxviz.grouping import NewGroup, chunk_long_levels, group_pytree
from jaxviz.jaxpr.labels import shorten
from jaxviz.model import Edge, Graph, Node, SourceLoc

#: Constants with at most this many elements are inlined into their users' labels.
INLINE_ELEMENTS = 4
PARAM_LIMIT = 200

COLLECTIVES = frozenset({
    "all-reduce", "all-gather", "reduce-scatter", "all-to-all", "collective-permute",
    "collective-broadcast", "ragged-all-to-all",
})
_CATEGORIES = {
    "matmul": {"dot", "convolution", "ragged-dot"},
    "reduction": {"reduce", "reduce-window", "select-and-scatter"},
    "movement": {
        "broadcast", "reshape", "dynamic-reshape", "transpose", "bitcast", "copy", "copy-start",
        "copy-done", "concatenate", "slice", "dynamic-slice", "dynamic-update-slice", "gather",
        "scatter", "pad", "reverse", "iota", "sort", "convert", "bitcast-convert",
        "get-dimension-size", "set-dimension-size",
    },
    "other": {
        "custom-call", "rng", "rng-bit-generator", "rng-get-and-update-state", "infeed",
        "outfeed", "send", "send-done", "recv", "recv-done", "after-all", "partition-id",
        "replica-id", "add-dependency", "optimization-barrier", "domain", "async-start",
        "async-update", "async-done", "fft", "triangular-solve", "cholesky",
    },
}
_CATEGORY_OF = {opcode: cat for cat, opcodes in _CATEGORIES.items() for opcode in opcodes}

#: Members that say little about what a fusion computes (left out of its label when others exist).
_PLUMBING = frozenset({"bitcast", "broadcast", "reshape", "copy", "convert", "slice", "transpose"})
#: Attributes shown through the group structure or the source location, not in params.
_STRUCTURAL = frozenset({"metadata", "calls", "condition", "body", "branch_computations",
                         "true_computation", "false_computation"})
_PLAIN_KEYS = {
    "dimensions": "dims", "dynamic_slice_sizes": "sizes", "iota_dimension": "dim",
    "slice": "slice", "distribution": "",
}
_TRIP_COUNT = re.compile(r'"known_trip_count":\{"n":"(\d+)"')
#: Path parts of files that are libraries, not the user's code.
_LIBRARY_DIRS = frozenset({"site-packages", "dist-packages", "jaxlib"})
_JAXVIZ_DIR = str(Path(__file__).resolve().parents[1])


@dataclass(eq=False)
class _Value:
    """What an HLO value is in the view: the nodes producing it, an inlined literal, or a
    tuple of such values. ``passed`` marks a value that entered a called computation through
    its parameter, so that returning it unchanged can be drawn as coming from the group."""

    shape: Shape
    producers: tuple[str, ...] = ()
    literal: str | None = None
    elements: list[_Value] | None = None
    passed: bool = False

    def element(self, index: int) -> _Value:
        if self.elements is not None:
            return self.elements[index] if 0 <= index < len(self.elements) else _NOTHING
        shapes = self.shape.elements
        shape = shapes[index] if 0 <= index < len(shapes) else self.shape
        return _Value(shape, self.producers, passed=self.passed)

    def count(self) -> int:
        """How many values this is when flattened one level (a non-tuple is one)."""
        if self.elements is not None:
            return len(self.elements)
        return len(self.shape.elements) if self.shape.is_tuple else 1


_NOTHING = _Value(Shape("tuple"))


def build_hlo_graph(
    module: HloModule,
    arg_names: Sequence[str] | None = None,
    result_names: Sequence[str] | None = None,
    structure: Callable[[Graph, NewGroup], None] | None = None,
) -> Graph:
    """The HLO view of a compiled module (``view="hlo"``).

    ``arg_names`` name the ENTRY parameters by position, but only when there is one name per
    parameter (jit drops unused arguments, which shifts the numbering); otherwise a parameter
    is named by its metadata ``op_name`` (JAX writes the argument's name there) or its HLO
    name. ``result_names`` name the elements of the ENTRY ROOT likewise. ``structure`` groups
    the graph's boxes before long levels are chunked (the program's structure, from the
    jaxpr view: see jaxviz/structure/mirror.py).
    """
    return _Builder(module, arg_names, result_names, structure).graph


class _Builder:
    def __init__(self, module: HloModule, arg_names, result_names, structure):
        self.module = module
        self.graph = Graph(view="hlo")
        self._counts: dict[str, int] = {}
        self._walking: list[str] = []  # computations being walked (guards against cycles)
        self._sources: dict[int, SourceLoc | None] = {}
        entry = module.entry
        n_params = sum(inst.opcode == "parameter" for inst in entry.instructions)
        self._arg_names = list(arg_names) if arg_names and len(arg_names) == n_params else None
        root = self._walk(entry, None, None)
        self._outputs(root, list(result_names or ()))
        group_pytree(self.graph.find(kind="input"), "inputs", self._new_group)
        group_pytree(self.graph.find(kind="output"), "outputs", self._new_group)
        self._label_groups()
        if structure is not None:
            structure(self.graph, self._new_group)
        chunk_long_levels(self.graph, self._new_group)

    # -- nodes and edges ---------------------------------------------------------------

    def _add(self, prefix: str, **fields) -> Node:
        number = self._counts.get(prefix, 0)
        self._counts[prefix] = number + 1
        return self.graph.add(Node(id=f"{prefix}{number}", **fields))

    def _new_group(self, **fields) -> Node:
        return self._add("f", kind="group", **fields)

    def _source(self, metadata: HloMetadata | None) -> SourceLoc | None:
        """:func:`_source`, once per metadata object (instructions share them)."""
        if metadata is None:
            return None
        key = id(metadata)  # the module holds every metadata object while this builds
        if key not in self._sources:
            self._sources[key] = _source(metadata)
        return self._sources[key]

    def _connect(self, value: _Value, dst: str) -> None:
        if value.elements is not None:
            for element in value.elements:
                self._connect(element, dst)
            return
        for src in value.producers:
            self.graph.edges.append(Edge(src, dst, str(value.shape)))

    def _instruction_node(self, prefix: str, inst: HloInstruction, group: str | None,
                          **fields) -> Node:
        fields.setdefault("op", inst.opcode)
        node = self._add(prefix, shape=str(inst.shape), group=group,
                         source=self._source(inst.metadata), params=_params(inst), **fields)
        node.label += _sharding_suffix(node)
        return node

    # -- walking -----------------------------------------------------------------------

    def _walk(self, comp: HloComputation, args: list[_Value] | None, group: str | None) -> _Value:
        """Add a computation's instructions; the value of its ROOT.

        ``args`` bind the computation's parameters (None for ENTRY: they become inputs).
        """
        self._walking.append(comp.name)
        env: dict[str, _Value] = {}
        for inst in comp.instructions:
            operands = [env.get(name, _NOTHING) for name in inst.operands]
            env[inst.name] = self._instruction(inst, operands, args, group)
        self._walking.pop()
        return env[comp.root.name] if comp.root is not None else _NOTHING

    def _instruction(self, inst: HloInstruction, operands: list[_Value],
                     args: list[_Value] | None, group: str | None) -> _Value:
        opcode = inst.opcode
        if opcode == "parameter":
            if args is None:
                return self._parameter(inst)
            number = inst.parameter_number or 0
            return args[number] if number < len(args) else _NOTHING
        if opcode == "constant" and _inlined(inst):
            return _Value(inst.shape, literal=_literal_text(inst.literal or ""))
        if opcode == "get-tuple-element":
            index = inst.attributes.get("index", "")
            return operands[0].element(int(index)) if operands and index.isdigit() else _NOTHING
        if opcode == "tuple":
            return _Value(inst.shape, elements=operands)
        called = inst.called_computations
        callees = [self.module.computations_by_name.get(n) for n in called] if called else None
        if callees and all(callees) and not any(c.name in self._walking for c in callees):
            if opcode in ("fusion", "call"):
                return self._call(inst, callees[0], operands, group)
            if opcode == "while" and len(callees) == 2 and operands:
                return self._while(inst, callees, operands[0], group)
            if opcode == "conditional" and len(callees) == len(operands) - 1:
                return self._conditional(inst, callees, operands, group)
        if opcode == "constant":
            node = self._instruction_node("c", inst, group, kind="const",
                                          label=f"constant {inst.shape}", category="const")
            node.params["literal"] = shorten(inst.literal or "", PARAM_LIMIT)
            return _Value(inst.shape, (node.id,))
        node = self._instruction_node("h", inst, group, kind="op",
                                      label=self._label(inst, operands),
                                      category=self._category(inst))
        for value in operands:
            self._connect(value, node.id)
        return _Value(inst.shape, (node.id,))

    def _parameter(self, inst: HloInstruction) -> _Value:
        number = inst.parameter_number or 0
        op_name = inst.metadata.op_name if inst.metadata else None
        if self._arg_names is not None and number < len(self._arg_names):
            name = self._arg_names[number]
        else:
            name = op_name or inst.name
        node = self._add("p", kind="input", op="parameter", label=name, shape=str(inst.shape),
                         params=_params(inst), category="input")
        node.params.update(number=str(number), arg_name=name)
        node.label += _sharding_suffix(node)
        return _Value(inst.shape, (node.id,))

    def _group(self, inst: HloInstruction, parent: str | None, category: str) -> Node:
        return self._instruction_node("f", inst, parent, kind="group", label=inst.opcode,
                                      category=category)

    def _part(self, group: Node, label: str) -> str:
        return self._add("f", kind="group", op="part", label=label, group=group.id,
                         category="part").id

    def _call(self, inst: HloInstruction, callee: HloComputation, operands: list[_Value],
              parent: str | None) -> _Value:
        """A fusion or call: one group around the called computation."""
        node = self._group(inst, parent, "fusion" if inst.opcode == "fusion" else "call")
        root = self._walk(callee, [_passing(v) for v in operands], node.id)
        return _returned(root, node.id)

    def _while(self, inst: HloInstruction, callees: list[HloComputation], init: _Value,
               parent: str | None) -> _Value:
        """Condition and body both read the initial carry; the body's ROOT is the result
        (the loop-carried edge from the body back to itself is not drawn)."""
        node = self._group(inst, parent, "control")
        trip = _TRIP_COUNT.search(inst.attributes.get("backend_config", ""))
        if trip:
            node.params["trip_count"] = trip.group(1)
        condition, body = callees
        if inst.attributes.get("condition", "").lstrip("%") == body.name:
            condition, body = body, condition
        carry = _carried(init)
        self._walk(condition, [carry], self._part(node, "condition"))
        root = self._walk(body, [carry], self._part(node, "body"))
        return _returned(root, node.id)

    def _conditional(self, inst: HloInstruction, branches: list[HloComputation],
                     operands: list[_Value], parent: str | None) -> _Value:
        """The predicate / branch index feeds the group; branch i reads operand i + 1."""
        node = self._group(inst, parent, "control")
        self._connect(operands[0], node.id)
        if "true_computation" in inst.attributes:
            names = ["true", "false"]
        else:
            names = [f"branch {i}" for i in range(len(branches))]
        results = []
        for name, branch, operand in zip(names, branches, operands[1:]):
            root = self._walk(branch, [_passing(operand)], self._part(node, name))
            results.append(_returned(root, node.id))
        return _merged(results, inst.shape, node.id)

    def _outputs(self, root: _Value, names: list[str]) -> None:
        """One output per element of the ENTRY ROOT (JAX returns a flat tuple of results)."""
        if root.elements is not None or root.shape.is_tuple:
            values = [root.element(i) for i in range(root.count())]
        else:
            values = [root]
        if len(names) != len(values):
            names = [f"out{i}" for i in range(len(values))]
        for name, value in zip(names, values):
            node = self._add("r", kind="output", op="output", label=name,
                             shape=str(value.shape), category="output")
            if value.literal is not None:
                node.label += f" = {value.literal}"
            self._connect(value, node.id)

    # -- labels --------------------------------------------------------------------------

    def _label(self, inst: HloInstruction, operands: list[_Value]) -> str:
        """``opcode`` + inlined literal operands + the attributes that matter."""
        text = inst.opcode
        attrs = inst.attributes
        if "direction" in attrs:
            text += " " + attrs["direction"]
        if any(v.literal is not None for v in operands):
            shown = (v.literal if v.literal is not None else "·" for v in operands)
            text += "(" + ", ".join(shown) + ")"
        extra = []
        if "custom_call_target" in attrs:
            extra.append(_unquoted(attrs["custom_call_target"]))
        if "to_apply" in attrs:
            extra.append(self._region_summary(attrs["to_apply"]))
        if inst.opcode == "async-start" and inst.called_computations:
            extra.append(self._region_summary(inst.called_computations[0]))
        if inst.opcode == "convert":
            extra.append("→ " + inst.shape.dtype)
        if "lhs_contracting_dims" in attrs or "rhs_contracting_dims" in attrs:
            extra.append(f"contract {attrs.get('lhs_contracting_dims', '{}')}·"
                         f"{attrs.get('rhs_contracting_dims', '{}')}")
        if "lhs_batch_dims" in attrs:
            extra.append(f"batch {attrs['lhs_batch_dims']}·{attrs.get('rhs_batch_dims', '{}')}")
        for key, short in _PLAIN_KEYS.items():
            if key in attrs:
                extra.append(f"{short}={attrs[key]}" if short else attrs[key])
        return shorten(" ".join([text, *extra]))

    def _region_summary(self, name: str) -> str:
        """What a reduce region / comparator / wrapped computation does: its ROOT's opcode."""
        comp = self.module.computations_by_name.get(name.lstrip("%"))
        if comp is None or comp.root is None:
            return name.lstrip("%")
        root = comp.root
        return f"{root.opcode} {root.attributes['direction']}" if "direction" in root.attributes \
            else root.opcode

    def _category(self, inst: HloInstruction) -> str:
        opcode = inst.opcode.removesuffix("-start").removesuffix("-done")
        if opcode in COLLECTIVES:
            return "collective"
        if inst.opcode == "async-start" and inst.called_computations:
            comp = self.module.computations_by_name.get(inst.called_computations[0])
            if comp is not None and comp.root is not None and comp.root.opcode in COLLECTIVES:
                return "collective"
        if inst.opcode == "custom-call":
            target = inst.attributes.get("custom_call_target", "").lower()
            if any(word in target for word in ("gemm", "matmul", "conv", "dot")):
                return "matmul"
        return _CATEGORY_OF.get(inst.opcode, "elementwise")

    def _label_groups(self) -> None:
        """Collapsed-group labels, once every member is in (``leaf_counts`` is cached)."""
        counts = self.graph.leaf_counts
        for group in self.graph.groups:
            ops = counts.get(group.id, 0)
            if group.op == "fusion":
                members = [m.op for m in self.graph.children(group.id) if m.kind in ("op", "group")]
                main = [op for op in members if op not in _PLUMBING] or members
                main = list(dict.fromkeys(main))
                head = f"fusion {group.params.get('kind', '')}".rstrip()
                body = ", ".join(main[:3]) + (" …" if len(main) > 3 else "")
                group.label = f"{head} · {body}" if body else head
            elif group.op == "while":
                trip = group.params.get("trip_count")
                head = f"while ×{trip}" if trip else "while"
                group.label = f"{head} · {ops} op{'s' if ops != 1 else ''}"
            elif group.op == "conditional":
                parts = len(self.graph.children(group.id))
                group.label = f"conditional · {parts} branches"
            elif group.op == "call":
                group.label = f"call · {ops} op{'s' if ops != 1 else ''}"
            else:
                continue
            group.label += _sharding_suffix(group)


# -- values ------------------------------------------------------------------------------

def _passing(value: _Value) -> _Value:
    """``value`` as seen inside a called computation (marked as having come in)."""
    elements = None if value.elements is None else [_passing(e) for e in value.elements]
    return _Value(value.shape, value.producers, value.literal, elements, passed=True)


def _carried(value: _Value) -> _Value:
    """A loop's initial carry as seen inside the loop: like :func:`_passing`, but literals
    are not inlined (after the first iteration the value is another one)."""
    if value.elements is not None:
        return _Value(value.shape, elements=[_carried(e) for e in value.elements], passed=True)
    if value.literal is not None:
        return _Value(value.shape, passed=True)
    return _passing(value)


def _returned(value: _Value, group: str) -> _Value:
    """A called computation's result as seen by the caller: what merely passed through
    (or is a literal made inside) comes from the group."""
    if value.elements is not None:
        return _Value(value.shape, elements=[_returned(e, group) for e in value.elements])
    if value.passed or value.literal is not None or not value.producers:
        return _Value(value.shape, (group,))
    return value


def _merged(results: list[_Value], shape: Shape, group: str) -> _Value:
    """A conditional's result: element by element, whatever any branch produced."""
    if results and all(r.elements is not None and len(r.elements) == len(results[0].elements)
                       for r in results):
        elements = [_merged([r.elements[i] for r in results], r0.shape, group)
                    for i, r0 in enumerate(results[0].elements)]
        return _Value(shape, elements=elements)
    producers: list[str] = []
    for result in results:
        producers.extend(_flat_producers(result))
    return _Value(shape, tuple(dict.fromkeys(producers)) or (group,))


def _flat_producers(value: _Value) -> list[str]:
    if value.elements is None:
        return list(value.producers)
    return [p for element in value.elements for p in _flat_producers(element)]


# -- instruction text --------------------------------------------------------------------

def _inlined(inst: HloInstruction) -> bool:
    return not inst.shape.is_tuple and prod(max(d, 0) for d in inst.shape.dims) <= INLINE_ELEMENTS


def _literal_text(literal: str) -> str:
    """``{ {1, 2}, {3, 4} }`` -> ``[[1, 2], [3, 4]]``; scalars as printed."""
    text = " ".join(literal.split())
    return text.replace("{ ", "[").replace(" }", "]").replace("{", "[").replace("}", "]")


def _params(inst: HloInstruction) -> dict[str, str]:
    """The raw attributes worth showing in a node's details, plus name and op_name."""
    params = {"name": inst.name}
    if inst.metadata and inst.metadata.op_name:
        params["op_name"] = inst.metadata.op_name
    for key, value in inst.attributes.items():
        if key in _STRUCTURAL:
            continue
        params[key] = shorten(value, PARAM_LIMIT)
    return params


def _unquoted(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def instruction_nodes(graph: Graph) -> dict[str, Node]:
    """The boxes of a built HLO view by the name of the instruction each draws."""
    return {node.params["name"]: node for node in graph.nodes.values() if "name" in node.params}


def placed(node: Node | None) -> tuple[str | None, tuple[str, ...], SourceLoc | None]:
    """Where a measured instruction shows (its box, if it draws one): (its id in the HLO
    view, the jaxpr boxes it links to, the user's line)."""
    if node is None:
        return None, (), None
    return node.id, tuple(node.links), node.users_line


def _source(metadata: HloMetadata | None) -> SourceLoc | None:
    """The innermost frame of the user's code in an instruction's metadata."""
    if metadata is None or not metadata.stack:
        return None
    frames = [f for f in metadata.stack if f.line is not None]
    frame = next((f for f in frames if not _is_library(f.file)), frames[0] if frames else None)
    if frame is None:
        return None
    return SourceLoc(frame.file, frame.line, frame.function or "")


@functools.lru_cache(maxsize=4096)  # a few files, asked once per frame of every instruction
def _is_library(file: str) -> bool:
    parts = Path(file).parts
    if _LIBRARY_DIRS.intersection(parts) or file.startswith(_JAXVIZ_DIR):
        return True
    return "jax" in parts and "_src" in parts


def _sharding_suffix(node: Node) -> str:
    sharding = node.params.get("sharding")
    return f" ⟨{sharding_summary(sharding)}⟩" if sharding else ""


def sharding_summary(sharding: str) -> str:
    """Short text for an HLO sharding: ``2×4``, ``4×1 ×2 replicated``, ``replicated``,
    ``device 0``; tuples element by element."""
    text = sharding.strip()
    if text.startswith("{{") or text.startswith("{ {"):
        inner = _split_top(text[1:-1])
        return ", ".join(sharding_summary(part) for part in inner)
    body = text.strip("{} ")
    if body.startswith("replicated"):
        return "replicated"
    if body.startswith("manual"):
        return "manual"
    maximal = re.match(r"maximal device=(\d+)", body)
    if maximal:
        return f"device {maximal.group(1)}"
    tiles = re.match(r"devices=\[([\d,]+)\]", body)
    if tiles:
        dims = tiles.group(1).split(",")
        if "last_tile_dim_replicate" in body and len(dims) > 1:
            return "×".join(dims[:-1]) + f" ×{dims[-1]} replicated"
        return "×".join(dims)
    return shorten(body, 24)


def _split_top(text: str) -> list[str]:
    """Split ``{a}, {b, c}`` at top-level commas."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]
