"""Source line <-> jaxpr equation <-> HLO instruction.

JAX writes each HLO instruction's origin into its metadata: ``op_name`` is the name stack
plus the primitive (``jit(fn)/jvp(layer)/dot_general``; before jax 0.7 with an extra
``jit(main)``) and the stack frames give the source line. An instruction is matched to jaxpr
nodes in tiers, the first tier with candidates wins:

1. equations (or nested-jaxpr groups: ``cond``, ``while``) of the same primitive that are on
   the same source line or whose enclosing groups explain the whole name stack (library code
   called through jit has no user line in the jaxpr; jax 0.7 records a ``shard_map`` body's
   ops at the call's line), narrowed to those whose enclosing groups (named scopes, ``jvp()``,
   ``transpose(jvp())``, ``jit(f)``, ``shard_map``, loop bodies, branches) agree best with
   the name stack;
2. a nested-jaxpr group on the same line that the name stack names (``scan`` lowers to
   ``while/body/...``: the loop counter, the slicing of ``xs``);
3. the nested-jaxpr group named by the innermost name-stack segment that names one
   (jax 0.7 gives some of a loop's own instructions no source line).

Several instructions may link to one equation (XLA splits or duplicates work) and one
instruction to several equations.

When several equations remain (a loop unrolled in Python leaves identical equations on one
line), the ones that read what the instruction's operands are linked to win, so ``x = x * x``
repeated links each multiply to its own. XLA drops metadata from some instructions (XLA:CPU's
``dot``, copies it inserts); those are linked the same way, to an equation of a primitive the
opcode implements that reads what their operands are linked to. Parameters link to inputs of
the same name, outputs to outputs by position, and a fusion to the union of its members.

Coverage is counted over HLO nodes whose metadata has an op_name (fusions count through their
members) and over jaxpr equations.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from jaxviz.model import Graph, Node

#: Name-stack segments a nested-jaxpr group shows up as in op_name, besides its primitive
#: (``jit(name)`` for jit and pjit is added separately).
_GROUP_ALIASES = {"scan": {"while"}, "remat2": {"checkpoint"}, "checkpoint": {"remat2"}}
#: HLO opcode -> the primitives it implements, for instructions without metadata.
_PRIMITIVES_OF = {
    "dot": {"dot_general"}, "convolution": {"conv_general_dilated"},
    "copy": {"copy", "copy_p"}, "add": {"add", "add_any"}, "subtract": {"sub"},
    "multiply": {"mul"}, "divide": {"div"}, "negate": {"neg"}, "tanh": {"tanh"},
    "exponential": {"exp"}, "log": {"log"}, "maximum": {"max"}, "minimum": {"min"},
    "transpose": {"transpose"}, "reshape": {"reshape"}, "broadcast": {"broadcast_in_dim"},
    "convert": {"convert_element_type"}, "reduce": {"reduce_sum", "reduce_max", "reduce_min",
                                                    "reduce_prod", "argmax", "argmin"},
    "select": {"select_n"}, "concatenate": {"concatenate"}, "slice": {"slice"},
}


@dataclass
class LinkReport:
    """How much of each view found its counterpart in the other."""

    #: HLO instruction nodes (fusion groups aside: they count through their members) whose
    #: metadata carries an op_name, and how many of them were linked.
    hlo_with_metadata: int
    hlo_linked: int
    #: jaxpr equation nodes, and how many of them were linked.
    jaxpr_equations: int
    jaxpr_linked: int
    #: jaxpr equations with no HLO counterpart: removed by JAX or XLA (or, rarely, kept by
    #: XLA under an instruction that lost its metadata).
    removed: list[str] = field(default_factory=list)
    #: HLO nodes with metadata that matched nothing.
    unlinked_hlo: list[str] = field(default_factory=list)
    #: HLO instructions without metadata, linked through their operands.
    inferred: int = 0

    @property
    def hlo_coverage(self) -> float:
        return self.hlo_linked / self.hlo_with_metadata if self.hlo_with_metadata else 1.0

    @property
    def jaxpr_coverage(self) -> float:
        return self.jaxpr_linked / self.jaxpr_equations if self.jaxpr_equations else 1.0


def link(jaxpr_graph: Graph, hlo_graph: Graph) -> LinkReport:
    """Fill ``Node.links`` on both graphs (replacing earlier links) and report coverage."""
    for node in (*jaxpr_graph.nodes.values(), *hlo_graph.nodes.values()):
        node.links = []
    index = _JaxprIndex(jaxpr_graph)
    flow = _Dataflow(jaxpr_graph, hlo_graph)
    direct: dict[str, list[str]] = {}
    inferred = 0
    for node in hlo_graph.nodes.values():  # producers come before their users
        if node.kind == "input":
            direct[node.id] = index.input_named(node)
        elif "op_name" in node.params and node.op != "fusion":
            direct[node.id] = flow.narrow(node.id, index.match(node), direct)
        elif node.kind == "op" and node.op in _PRIMITIVES_OF:
            found = flow.narrow(node.id, index.equations_of(_PRIMITIVES_OF[node.op]), direct,
                                required=True)
            if found:
                direct[node.id] = found
                inferred += 1
    _link_outputs(jaxpr_graph, hlo_graph, direct)
    _link_by_users(hlo_graph, index, flow, direct)

    for hlo_id, jaxpr_ids in direct.items():
        hlo_graph.nodes[hlo_id].links = list(jaxpr_ids)
        for jaxpr_id in jaxpr_ids:
            jaxpr_graph.nodes[jaxpr_id].links.append(hlo_id)
    _fusions_link_members(hlo_graph)

    counted = [n for n in hlo_graph.nodes.values()
               if "op_name" in n.params and n.kind in ("op", "const", "group")
               and n.op != "fusion" and n.category != "part"]
    equations = [n for n in jaxpr_graph.nodes.values() if n.kind == "op"]
    return LinkReport(
        hlo_with_metadata=len(counted),
        hlo_linked=sum(bool(n.links) for n in counted),
        jaxpr_equations=len(equations),
        jaxpr_linked=sum(bool(n.links) for n in equations),
        removed=[n.id for n in equations if not n.links],
        unlinked_hlo=[n.id for n in counted if not n.links],
        inferred=inferred,
    )


def split_op_name(op_name: str) -> tuple[list[str], str]:
    """``jit(f)/jvp(g)/dot_general[...]`` -> (``["jvp(g)"]``, ``"dot_general"``).

    Splits at ``/`` outside brackets, drops the outer ``jit(f)`` (and the ``jit(main)`` that
    jax < 0.7 added) and any ``[params]`` that old versions printed after the primitive.
    """
    segments, depth, start = [], 0, 0
    for i, char in enumerate(op_name):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif char == "/" and depth == 0:
            segments.append(op_name[start:i])
            start = i + 1
    segments.append(op_name[start:])
    if len(segments) > 1 and segments[0].startswith(("jit(", "pjit(")):
        segments = segments[1:]
        if len(segments) > 1 and segments[0] in ("jit(main)", "pjit(main)"):
            segments = segments[1:]
    primitive = segments[-1].split("[", 1)[0]
    return segments[:-1], primitive


class _JaxprIndex:
    """The jaxpr graph's nodes by primitive, by source line, and by scope."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.by_primitive_line: dict[tuple, list[str]] = defaultdict(list)
        self.by_primitive: dict[str, list[str]] = defaultdict(list)
        self.groups_by_line: dict[tuple, list[str]] = defaultdict(list)
        self.groups_by_token: dict[str, list[str]] = defaultdict(list)
        inputs: dict[str, list[str]] = defaultdict(list)
        self.paths: dict[str, list[frozenset[str]]] = {}
        self.path_tokens: dict[str, frozenset[str]] = {}
        self._matches: dict[tuple, list[str]] = {}
        self._group_paths: dict[str | None, list[frozenset[str]]] = {None: []}
        self._equations: dict[frozenset[str], list[str]] = {}
        for node in graph.nodes.values():
            if node.kind == "input":
                inputs[node.label].append(node.id)
            is_nested = node.kind == "group" and node.op != "scope" \
                and node.category not in ("repeat", "part")
            if node.kind != "op" and not is_nested:
                continue
            self.paths[node.id] = self._path(node)
            self.path_tokens[node.id] = frozenset().union(*self.paths[node.id])
            line = (node.source.filename, node.source.line) if node.source else None
            self.by_primitive[node.op].append(node.id)
            if line:
                self.by_primitive_line[(node.op, *line)].append(node.id)
                if is_nested:
                    self.groups_by_line[line].append(node.id)
            if is_nested:
                for token in _tokens(node):
                    self.groups_by_token[token].append(node.id)
        self.inputs = {label: ids[0] for label, ids in inputs.items() if len(ids) == 1}

    def _path(self, node: Node) -> list[frozenset[str]]:
        """The name-stack segments each enclosing group may appear as, outermost first
        (one list per group, shared by its members)."""
        group = node.group
        if group not in self._group_paths:
            outer = self._path(self.graph.nodes[group])
            tokens = _tokens(self.graph.nodes[group])
            self._group_paths[group] = [*outer, tokens] if tokens else outer
        return self._group_paths[group]

    def input_named(self, node: Node) -> list[str]:
        names = (node.params.get("arg_name"), node.params.get("op_name"))
        found = next((self.inputs[n] for n in names if n in self.inputs), None)
        return [found] if found else []

    def equations_of(self, primitives: set[str]) -> list[str]:
        key = frozenset(primitives)
        if key not in self._equations:
            self._equations[key] = [e for p in sorted(key) for e in self.by_primitive.get(p, ())
                                    if self.graph.nodes[e].kind == "op"]
        return self._equations[key]

    def match(self, node: Node) -> list[str]:
        """The jaxpr nodes an HLO node's metadata points at (see the module docstring)."""
        line = (node.source.filename, node.source.line) if node.source else None
        key = (node.params["op_name"], line)
        if key not in self._matches:
            # XLA joins the op_names of instructions it merged with ';'.
            found = [self._match(part, line) for part in key[0].split(";")]
            self._matches[key] = list(dict.fromkeys(c for part in found for c in part))
        return self._matches[key]

    def _match(self, op_name: str, line: tuple[str, int] | None) -> list[str]:
        if "/" not in op_name:  # an argument's name: an op JAX wrote for that input
            found = self.inputs.get(op_name)
            return [found] if found else []
        scopes, primitive = split_op_name(op_name)
        forms = _name_forms(scopes)
        found = self._match_scopes(scopes, forms, primitive, line)
        unwrapped, inner = _unwrapped(scopes), _unwrapped([primitive])[0]
        if not found and (unwrapped, inner) != (scopes, primitive):
            found = self._match_scopes(unwrapped, forms, inner, line)
        return found or self._expanded(scopes, line) or self._expanded(unwrapped, line)

    def _match_scopes(self, scopes: list[str], forms: set[str], primitive: str,
                      line: tuple[str, int] | None) -> list[str]:
        """The tiers of the module docstring; ``forms`` (see :func:`_name_forms`) rank the
        candidates."""
        segments = set(scopes)
        same_line = set(self.by_primitive_line.get((primitive, *line), ())) if line else set()
        candidates = [c for c in self.by_primitive.get(primitive, ())
                      if c in same_line or segments <= self.path_tokens[c]]
        if candidates:
            return self._best(candidates, forms, same_line)
        named = segments | {primitive}
        groups = [g for g in self.groups_by_line.get(line, ())
                  if _tokens(self.graph.nodes[g]) & named] if line else []
        if groups:
            return self._best(groups, segments)
        for segment in reversed([*scopes, primitive]):
            named = self.groups_by_token.get(segment)
            if named:
                return self._best(named, segments)
        return []

    def _expanded(self, scopes: list[str], line: tuple[str, int] | None) -> list[str]:
        """The equation a lowering rule expanded into many instructions: a ``random_bits``
        or ``random_fold_in`` becomes XLA's threefry code, under ``jit(_threefry_…)``
        segments no jaxpr group stands for."""
        for depth, segment in enumerate(scopes):
            if not (segment.startswith("jit(") and segment not in self.groups_by_token):
                continue
            primitive = _expanded_primitive(segment[4:-1])
            outer = set(scopes[:depth])
            candidates = [c for c in self.by_primitive.get(primitive, ())
                          if outer <= self.path_tokens[c]]
            same_line = set(self.by_primitive_line.get((primitive, *line), ())) if line else set()
            if candidates:
                return self._best(candidates, outer, same_line)
        return []

    def _best(self, candidates: list[str], segments: set[str],
              preferred: set[str] = frozenset()) -> list[str]:
        """The candidates whose enclosing groups agree best with the name stack: segments
        they explain count for them, segments they do not and groups the stack does not name
        against them; ties go to ``preferred`` (those on the instruction's line)."""
        def key(node_id: str) -> tuple[int, bool]:
            explained = len(segments & self.path_tokens[node_id])
            unnamed = sum(not (tokens & segments) for tokens in self.paths[node_id])
            return 2 * explained - len(segments) - unnamed, node_id in preferred

        keys = [key(c) for c in candidates]
        best = max(keys)
        return [c for c, k in zip(candidates, keys) if k == best]


#: A transformation around a name: ``jvp(jit(f))``; not ``transpose(jvp())``, which is a
#: scope of its own in the jaxpr too.
_TRANSFORMED = re.compile(r"(?:jvp|transpose|vmap|pmap|checkpoint|remat)\((?!\w*\(\)\)*$)(.+)\)")


def _unwrapped(scopes: list[str]) -> list[str]:
    """``jvp(jit(f))`` (a jit called under jvp) -> ``jit(f)``, as the jaxpr's group is named
    (the jvp is a scope around it there)."""
    result = []
    for segment in scopes:
        while match := _TRANSFORMED.fullmatch(segment):
            segment = match[1]
        result.append(segment)
    return result


def _name_forms(scopes: list[str]) -> set[str]:
    """The segments, with the forms a jaxpr names a transformed jit by: for
    ``transpose(jvp(jit(_var)))`` also ``jit(_var)`` (the group) and ``transpose(jvp())``
    (the scope around it), so the backward pass's equations score above the forward's."""
    forms = set(scopes)
    for segment in scopes:
        wrappers = []
        while match := _TRANSFORMED.fullmatch(segment):
            wrappers.append(segment[:segment.index("(")])
            segment = match[1]
        if wrappers:
            forms.add(segment)
            forms.add("(".join(wrappers) + "()" + ")" * (len(wrappers) - 1))
    return forms


def _expanded_primitive(function: str) -> str:
    """``_threefry_fold_in`` -> ``random_fold_in``, ``_threefry_random_bits`` ->
    ``random_bits``: the primitive whose lowering is that helper."""
    name = function.lstrip("_")
    for prefix in ("threefry_", "rbg_", "unsafe_rbg_"):
        name = name.removeprefix(prefix)
    return name if name.startswith(("random_", "threefry")) else "random_" + name


def _tokens(group: Node) -> frozenset[str]:
    """How a jaxpr group can appear as a name-stack segment (empty: it cannot)."""
    if group.kind != "group" or group.category == "repeat":
        return frozenset()
    if group.category == "part":  # a while's cond / body, a cond's branch k
        param = group.params.get("param", "")
        if param.startswith("branches["):
            return frozenset({f"branch_{param[len('branches['):-1]}_fun"})
        return frozenset({param.removesuffix("_jaxpr")} if param.endswith("_jaxpr") else ())
    if group.op == "scope":  # "layers[0]/eqx.nn.Linear": one group for two segments
        return frozenset(group.params.get("scope", group.label).split("/"))
    tokens = {group.op, *_GROUP_ALIASES.get(group.op, ())}
    name = group.params.get("name")
    if group.op in ("jit", "pjit") and name:
        tokens.add(f"jit({name})")
    return frozenset(tokens)


def _link_outputs(jaxpr_graph: Graph, hlo_graph: Graph, direct: dict[str, list[str]]) -> None:
    jaxpr_outputs = [n.id for n in jaxpr_graph.nodes.values() if n.kind == "output"]
    hlo_outputs = [n.id for n in hlo_graph.nodes.values() if n.kind == "output"]
    if len(jaxpr_outputs) == len(hlo_outputs):
        for hlo_id, jaxpr_id in zip(hlo_outputs, jaxpr_outputs):
            direct[hlo_id] = [jaxpr_id]


#: Most jaxpr equations one HLO instruction is linked to when its inputs cannot tell them apart.
MAX_AMBIGUOUS = 16


class _Dataflow:
    """Who reads what, in both graphs: tells identical candidates apart by their inputs."""

    def __init__(self, jaxpr_graph: Graph, hlo_graph: Graph):
        self.jaxpr_graph = jaxpr_graph
        self._loop_of: dict[str, str | None] = {}
        self.jaxpr_readers: dict[str, list[str]] = defaultdict(list)
        self.jaxpr_producers: dict[str, list[str]] = defaultdict(list)
        for edge in jaxpr_graph.edges:
            self.jaxpr_readers[edge.src].append(edge.dst)
            self.jaxpr_producers[edge.dst].append(edge.src)
        self._position = {node_id: i for i, node_id in enumerate(jaxpr_graph.nodes)}
        self._loops: dict[int, tuple[list[str], list[str]]] = {}
        self.hlo_operands: dict[str, list[str]] = defaultdict(list)
        for edge in hlo_graph.edges:
            self.hlo_operands[edge.dst].append(edge.src)
        #: id(candidate list) -> (the list, its set): many HLO nodes share one cached list
        #: of thousands of candidates (a long program's adds on one line); making its set
        #: for each of them was quadratic.
        self._sets: dict[int, tuple[list[str], set[str]]] = {}

    def _as_set(self, candidates: list[str]) -> set[str]:
        key = id(candidates)
        if key not in self._sets:
            self._sets[key] = (candidates, set(candidates))  # the list kept: ids stay unique
        return self._sets[key][1]

    def narrow(self, hlo_id: str, candidates: list[str], direct: dict[str, list[str]],
               required: bool = False) -> list[str]:
        """The candidates that read the most of what the HLO node's operands are linked to
        (or that its operands are linked to themselves: the rest of an equation XLA split).

        Several candidates stay when their inputs do not tell them apart (or, unless
        ``required``, when none reads any of them); with ``required`` none stay then.
        """
        if len(candidates) <= 1 and not required:
            return candidates
        wanted = self._as_set(candidates)
        # In operand order (a set's would vary from run to run, and with it the links').
        feeds = dict.fromkeys(j for src in self.hlo_operands[hlo_id]
                              for j in direct.get(src, ()))
        # Counted in plain dicts: a Counter apiece cost more than the counting for the
        # one or two values most instructions read.
        reads: dict[str, int] = {}
        for j in feeds:
            for reader in self.jaxpr_readers[j]:
                if reader in wanted:
                    reads[reader] = reads.get(reader, 0) + 1
        for j in feeds:  # XLA split one equation in two
            if j in wanted:
                reads[j] = reads.get(j, 0) + 1
        if not reads:  # XLA folded the step between (a broadcast, a convert) away
            for j in feeds:
                for reader in self.jaxpr_readers[j]:
                    for second in self.jaxpr_readers[reader]:
                        if second in wanted:
                            reads[second] = reads.get(second, 0) + 1
        if not reads:
            found = [] if required else candidates
        else:
            best = max(reads.values())
            found = [c for c, count in reads.items() if count == best]
        # Past a few, candidates are guesses (a long program repeating one op on one line,
        # where XLA simplified away the op before): linking them all would also make every
        # later instruction as ambiguous, and the linking quadratic. When they are the
        # iterations of one unrolled loop, the instruction is that loop's.
        if len(found) <= MAX_AMBIGUOUS:
            return found
        if found is not candidates:
            return self._one_loop(found)
        key = id(candidates)  # one cached list of thousands, again and again: one answer
        if key not in self._loops:
            self._loops[key] = (candidates, self._one_loop(candidates))
        return self._loops[key][1]

    def _one_loop(self, found: list[str]) -> list[str]:
        """[the unrolled loop] when every one of ``found`` is in the same one, else []."""
        loop = self.loop_of(found[0]) if found else None
        if loop is None or any(self.loop_of(c) != loop for c in found[1:]):
            return []
        return [loop]

    def feeding(self, wanted: set[str], candidates: list[str]) -> list[str]:
        """The candidates that are, or feed, what is ``wanted`` (else those that feed
        what feeds it: XLA folded the step between away), in graph order. Walks from
        ``wanted``, not over the candidates: those can be thousands on one line."""
        pool = self._as_set(candidates)
        near = wanted | {p for w in wanted for p in self.jaxpr_producers[w]}
        found = near & pool
        if not found:
            found = {p for w in near for p in self.jaxpr_producers[w]} & pool
        return sorted(found, key=self._position.__getitem__)

    def loop_of(self, node_id: str) -> str | None:
        """The innermost unrolled Python loop holding a jaxpr node (remembered)."""
        if node_id not in self._loop_of:
            graph = self.jaxpr_graph
            self._loop_of[node_id] = next(
                (g for g in graph.ancestors(node_id) if graph.nodes[g].category == "repeat"),
                None)
        return self._loop_of[node_id]


def _link_by_users(hlo_graph: Graph, index: "_JaxprIndex", flow: "_Dataflow",
                   direct: dict[str, list[str]]) -> None:
    """Instructions their operands cannot place (one scalar broadcast feeding a hundred
    per-leaf updates of an optimizer, each on the same library line) are placed by their
    users instead: the candidates that feed, or are, what the users are linked to.

    Users come after their producers, so the walk goes backwards and a chain of such
    instructions is placed from its end; an instruction XLA made (no metadata) passes what
    its users are linked to on to its operands."""
    users: dict[str, list[str]] = defaultdict(list)
    for edge in hlo_graph.edges:
        users[edge.src].append(edge.dst)
    passed: dict[str, set[str]] = {}
    for node in reversed(list(hlo_graph.nodes.values())):
        if direct.get(node.id) or node.op == "fusion":
            continue
        wanted: set[str] = set()
        for user in users[node.id]:
            wanted.update(direct.get(user) or passed.get(user, ()))
        if not wanted:
            continue
        if "op_name" in node.params:
            found = flow.feeding(wanted, index.match(node))
            if 0 < len(found) <= MAX_AMBIGUOUS:
                direct[node.id] = found
                continue
        if len(wanted) <= MAX_AMBIGUOUS:
            passed[node.id] = wanted


def _fusions_link_members(hlo_graph: Graph) -> None:
    """A fusion links to everything its members link to (the jaxpr side links to the members).

    Chunks (a long level split up, see grouping.py) are looked through."""
    union: dict[str, dict[str, None]] = defaultdict(dict)
    for node in hlo_graph.nodes.values():
        group = node.group
        while group is not None and hlo_graph.nodes[group].op in ("fusion", "chunk"):
            if hlo_graph.nodes[group].op == "fusion":
                union[group].update(dict.fromkeys(node.links))
            group = hlo_graph.nodes[group].group
    for fusion, links in union.items():
        hlo_graph.nodes[fusion].links = list(links)
