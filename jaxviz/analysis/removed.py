"""Dead code: equations whose results no output depends on, which the compiled program drops.

An equation no output depends on, and with no side effect (a callback, a debug print), is
gone from what runs: JAX drops most such code when lowering, XLA the rest. That is read off
the jaxpr graph alone, so the finding needs no HLO parsing or linking (which take seconds on
big programs). One finding per source line: writing that code cost tracing and compile time
and did nothing.

Equations inside autodiff scopes (``jvp(...)``, ``transpose(...)``) are left out: forward
values a gradient does not need are autodiff's business, not code the user wrote in vain.
So are equations of library code (an optimizer's unused statistics): the user cannot
delete them.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from jaxviz.findings import Finding
from jaxviz.model import Graph, Node
from jaxviz.structure.sources import is_user_file

#: (singular, plural) for the primitives people write most; others read "<primitive> op(s)".
_NOUNS = {
    "mul": ("multiply", "multiplies"), "add": ("addition", "additions"),
    "sub": ("subtraction", "subtractions"), "div": ("division", "divisions"),
    "dot_general": ("matrix product", "matrix products"), "neg": ("negation", "negations"),
    "exp": ("exponential", "exponentials"), "log": ("logarithm", "logarithms"),
    "sin": ("sine", "sines"), "cos": ("cosine", "cosines"), "tanh": ("tanh", "tanhs"),
    "integer_pow": ("power", "powers"), "pow": ("power", "powers"),
    "reduce_sum": ("sum", "sums"), "reduce_max": ("max", "maxes"),
    **{cmp: ("comparison", "comparisons") for cmp in ("lt", "le", "gt", "ge", "eq", "ne")},
    "scan": ("loop", "loops"), "while": ("loop", "loops"),
    "cond": ("cond", "conds"), "jit": ("jit call", "jit calls"), "pjit": ("jit call", "jit calls"),
}
#: Loops keep everything in their body alive while the loop is: iterations feed each other
#: through carries the graph does not draw.
_LOOPS = {"while", "scan"}
#: jaxpr group categories that are no nested jaxpr (Python loops, named scopes, loop parts).
_NOT_NESTED = {"repeat", "scope", "part"}
_AUTODIFF_SCOPES = ("jvp(", "transpose(")

HINT = ("delete the dead code, or, if the work was meant to happen, return or use its result: "
        "the compiled program keeps only what its outputs depend on")


def removed_findings(jaxpr_graph: Graph) -> list[Finding]:
    """One info finding per source line of dead equations (the compiled program drops them).

    A dead loop, cond or nested jit counts as one (``1 loop``), not as its body.
    """
    needed = needed_nodes(jaxpr_graph)
    units: dict[str, None] = {}
    for node in jaxpr_graph.nodes.values():
        if node.kind == "op" and node.id not in needed and _users_own(jaxpr_graph, node):
            units[_outermost_dead(jaxpr_graph, node.id, needed)] = None
    by_line: dict[tuple[str | None, int | None], list[str]] = defaultdict(list)
    for unit in units:
        source = jaxpr_graph.nodes[unit].source
        by_line[(source.filename, source.line) if source else (None, None)].append(unit)

    findings = []
    for (filename, line), ids in by_line.items():
        counts = Counter(jaxpr_graph.nodes[i].op for i in ids)
        what = _and(_counted(op, n) for op, n in counts.most_common())
        were, its = ("was", "its result is") if len(ids) == 1 else ("were", "their results are")
        findings.append(Finding(
            "removed-by-xla", "info", f"{what} {were} removed by XLA: {its} never used",
            HINT, line=line, filename=filename, node_ids=ids,
        ))
    return findings


def dead_nodes(findings: list[Finding], graph: Graph) -> frozenset[str]:
    """What to draw dimmed: the nodes of the "removed by XLA" findings, everything inside
    them, and the groups (a folded Python loop, a scope) holding nothing else."""
    units = {i for f in findings if f.kind == "removed-by-xla" for i in f.node_ids}
    dead = {n.id for n in graph.nodes.values()
            if n.id in units or any(g in units for g in graph.ancestors(n.id))}
    groups = sorted((n.id for n in graph.groups if n.id not in dead), key=graph.depth, reverse=True)
    for group in groups:  # innermost first, so that a group sees its sub-groups decided
        members = graph.children(group)
        if members and all(m.id in dead for m in members):
            dead.add(group)
    return frozenset(dead)


def needed_nodes(graph: Graph) -> set[str]:
    """The nodes some output or side effect depends on, following edges backwards.

    A needed node makes its enclosing groups needed, and a needed group makes what feeds it
    (a ``cond`` index) needed; a needed loop makes its whole body needed.
    """
    feeds: dict[str, list[str]] = defaultdict(list)
    for edge in graph.edges:
        feeds[edge.dst].append(edge.src)
    members: dict[str, list[str]] = defaultdict(list)
    for node in graph.nodes.values():
        if node.group is not None:
            members[node.group].append(node.id)
    needed: set[str] = set()
    todo = [n.id for n in graph.nodes.values() if n.kind == "output" or n.effectful]
    while todo:
        node_id = todo.pop()
        if node_id in needed:
            continue
        needed.add(node_id)
        node = graph.nodes[node_id]
        todo.extend(feeds[node_id])
        if node.group is not None and node.group not in needed:
            todo.append(node.group)
        if node.op in _LOOPS and node.kind == "group":
            inside = list(members[node_id])
            while inside:
                member = inside.pop()
                todo.append(member)
                inside.extend(members[member])
    return needed


def _outermost_dead(graph: Graph, node_id: str, needed: set[str]) -> str:
    """The outermost unneeded nested-jaxpr group (loop, cond, jit...) around a node, or the node."""
    unit, group = node_id, graph.nodes[node_id].group
    while group is not None and group not in needed:
        if graph.nodes[group].category not in _NOT_NESTED:
            unit = group
        group = graph.nodes[group].group
    return unit


def _users_own(graph: Graph, node: Node) -> bool:
    """Code the user wrote and could delete: on a line of theirs, not made by autodiff (a
    ``jvp`` / ``transpose`` scope, at any depth: ``vmap(jvp(loss))`` too) or a library."""
    if node.source is None or not is_user_file(node.source.filename):
        return False
    return not any(graph.nodes[g].op == "scope" and
                   any(s in graph.nodes[g].params.get("scope", "") for s in _AUTODIFF_SCOPES)
                   for g in graph.ancestors(node.id))


def _counted(primitive: str, count: int) -> str:
    singular, plural = _NOUNS.get(primitive, (f"{primitive} op", f"{primitive} ops"))
    return f"{count} {singular if count == 1 else plural}"


def _and(parts) -> str:
    parts = list(parts)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
