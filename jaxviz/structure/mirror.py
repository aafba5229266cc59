"""The HLO view inherits the jaxpr view's structure through the links.

XLA's optimized HLO knows nothing of the user's program: its ENTRY computation is a flat list
of fusions and instructions. Each of them links to the jaxpr equations it implements (see
jaxviz/link.py), so each goes into the innermost jaxpr structure group that holds all of
them: a fusion of the forward pass of layer 2 lands in ``forward · jvp`` > ``unrolled loop
×4`` > ``iteration 2 · params['layers'][2]``, as it does in the jaxpr view. A fusion counts as
one box, placed by what it hands on; so does a while loop or a call, with all it runs. The
body of a while loop (a ``fori_loop`` around ``grad``) is structured the same way inside. A
box linked to nothing (a copy XLA inserted, a constant) goes where its neighbours are.
"""

from __future__ import annotations

import re
from collections import defaultdict

from jaxviz.grouping import NewGroup, common_prefix
from jaxviz.model import Graph, Node
from jaxviz.structure import STRUCTURE_OPS

#: jaxpr groups the HLO view mirrors: the user's structure (named scopes, modules, passes,
#: folded loops and their iterations; not each leaf of a per-leaf repeat, which XLA fuses
#: across) and the calls that are one box (a library's call, a jitted function, JAX's own
#: wrappers such as ``jnp.var``).
MIRRORED = STRUCTURE_OPS | {"jit", "pjit"}
#: Mirrored groups kept even around one HLO box: they say where in the program it is. The
#: others (a call) would only wrap the box in a frame.
_ALWAYS = STRUCTURE_OPS - {"library"}
#: HLO nodes that stay where the builder put them: the program's inputs and outputs.
_FIXED_KINDS = frozenset({"input", "output"})
_FIXED_GROUPS = frozenset({"inputs", "outputs"})
#: The op count at the end of a jaxpr group's label (``· 476 ops``, ``· 20 ops each``).
_COUNT = re.compile(r" · \d+ ops?(?: each)?$")

Chain = tuple[str, ...]


def mirror_structure(jaxpr: Graph, hlo: Graph, new_group: NewGroup) -> None:
    """Put the HLO view's boxes into copies of the jaxpr view's structure groups.

    A *level* is the ENTRY computation or a part of a while loop or conditional (its body,
    a branch); a *box* is a direct member of a level. Needs ``Node.links`` filled
    (:func:`jaxviz.link.link`); the copies link to the groups they mirror, both ways."""
    box_of = _boxes(hlo)
    boxes = [hlo.nodes[b] for b in dict.fromkeys(box_of.values())
             if _movable(hlo.nodes[b])]
    if not boxes:
        return
    chains = _Chains(jaxpr)
    linked = _linked(jaxpr, hlo, box_of)
    target: dict[str, Chain] = {}
    deeper: set[str] = set()  # boxes whose equations all sit further in than their target
    for box, links in linked.items():
        if links and _movable(hlo.nodes[box]):
            found = [chains.of(j) for j in links]
            target[box] = common_prefix(found)
            if all(len(c) > len(target[box]) for c in found):
                deeper.add(box)
    neighbours = _Neighbours(hlo, box_of)
    neighbours.place(boxes, target)
    neighbours.refine(boxes, target, deeper, chains, linked)
    _within_enclosing(hlo, boxes, box_of, target)
    _materialize(jaxpr, hlo, boxes, target, new_group)


def _movable(node: Node) -> bool:
    return node.kind not in _FIXED_KINDS and node.op not in _FIXED_GROUPS


def _boxes(hlo: Graph) -> dict[str, str]:
    """Every node -> the box holding it (a box: itself)."""
    box_of: dict[str, str] = {}

    def box(node_id: str) -> str:
        if node_id not in box_of:
            group = hlo.nodes[node_id].group
            # Levels: ENTRY (no group) and the parts of a while loop or a conditional.
            box_of[node_id] = node_id if group is None or hlo.nodes[group].op == "part" \
                else box(group)
        return box_of[node_id]

    for node_id in hlo.nodes:
        box(node_id)
    return box_of


def _linked(jaxpr: Graph, hlo: Graph, box_of: dict[str, str]) -> dict[str, list[str]]:
    """Box -> the jaxpr nodes of what it produces.

    A fusion is placed by the values it hands on (its results), not by everything inside:
    XLA copies cheap producers into their users' fusions, so a backward-pass fusion often
    recomputes a forward-pass op. Where no member's value leaves the box, every member
    counts. The program's own inputs and outputs say nothing of where a step belongs."""
    produces: dict[str, set[str]] = defaultdict(set)
    for edge in hlo.edges:
        box = box_of[edge.src]
        if box != edge.src and box_of[edge.dst] != box:
            produces[box].add(edge.src)
    linked: dict[str, dict[str, None]] = defaultdict(dict)
    everything: dict[str, dict[str, None]] = defaultdict(dict)
    for node in hlo.nodes.values():
        if not node.links:
            continue
        box = box_of[node.id]
        links = dict.fromkeys(j for j in node.links if jaxpr.nodes[j].kind not in _FIXED_KINDS)
        everything[box].update(links)
        if (box == node.id and node.kind != "group") or node.id in produces[box]:
            linked[box].update(links)
    return {box: list(linked.get(box) or links) for box, links in everything.items()}


class _Chains:
    """A jaxpr node's mirrored groups, outermost first (cached per group)."""

    def __init__(self, jaxpr: Graph):
        self._graph = jaxpr
        self._cache: dict[str | None, Chain] = {None: ()}

    def of(self, node_id: str) -> Chain:
        node = self._graph.nodes[node_id]
        mirrored = node.kind == "group" and node.op in MIRRORED and not (
            node.op == "iteration" and self._graph.nodes[node.group].op == "parallel")
        return self._group(node.group) + ((node_id,) if mirrored else ())

    def _group(self, group_id: str | None) -> Chain:
        if group_id not in self._cache:
            self._cache[group_id] = self.of(group_id)
        return self._cache[group_id]


class _Neighbours:
    """Which boxes of one level read from which. A box in a level further in counts as the
    box holding it there: the copies XLA makes of a while loop's initial state are read
    inside its body and condition, and belong with the loop."""

    def __init__(self, hlo: Graph, box_of: dict[str, str]):
        self.reads: dict[str, set[str]] = defaultdict(set)
        self.users: dict[str, set[str]] = defaultdict(set)
        for edge in hlo.edges:
            src, dst = box_of[edge.src], box_of[edge.dst]
            user = _lifted(hlo, box_of, dst, hlo.nodes[src].group)
            if user is None:
                src, user = _lifted(hlo, box_of, src, hlo.nodes[dst].group), dst
            if src is not None and src != user:
                self.reads[user].add(src)
                self.users[src].add(user)

    def place(self, boxes: list[Node], target: dict[str, Chain]) -> None:
        """Boxes linked to nothing go where all their placed neighbours agree: first by
        what they read (in program order, so chains of such boxes follow), then by their
        users."""
        for neighbours, order in ((self.reads, boxes), (self.users, boxes[::-1])):
            for box in order:
                if box.id not in target:
                    found = [target[n] for n in neighbours[box.id] if n in target]
                    if found:
                        target[box.id] = common_prefix(found)

    def refine(self, boxes: list[Node], target: dict[str, Chain], deeper: set[str],
               chains: _Chains, linked: dict[str, list[str]]) -> None:
        """A box whose equations are alike ones of several iterations (random bits drawn on
        one line of a loop) goes where its users are, as far as one of its equations goes
        (users first: a chain of such boxes follows its end)."""
        for box in reversed(boxes):
            if box.id not in deeper:
                continue
            mine = target[box.id]
            found = [target[n] for n in self.users[box.id] if n in target]
            if not found:
                continue
            theirs = common_prefix(found)
            if len(theirs) > len(mine) and theirs[:len(mine)] == mine:
                target[box.id] = max((common_prefix([theirs, chains.of(j)])
                                      for j in linked[box.id]), key=len)


def _lifted(hlo: Graph, box_of: dict[str, str], box: str, level: str | None) -> str | None:
    """The box of ``level`` that holds ``box`` (itself, or the loop whose body it is in), or
    None where ``level`` holds no box around it."""
    found: str | None = box
    while found is not None and hlo.nodes[found].group != level:
        group = hlo.nodes[found].group
        found = None if group is None else box_of[group]
    return found


def _within_enclosing(hlo: Graph, boxes: list[Node], box_of: dict[str, str],
                      target: dict[str, Chain]) -> None:
    """Inside a while body, only the structure below the loop's own box (a box that links
    elsewhere stays in the body as it is): a ``fori_loop`` around ``grad`` gets its forward
    and backward passes, the threefry loop of ``jax.random.normal`` no second copy of the
    groups around it."""
    where: dict[str | None, Chain] = {None: ()}  # a level or box -> its chain
    for box in boxes:  # a box comes before the levels inside it
        level = box.group
        if level not in where:
            where[level] = where.get(box_of[hlo.nodes[level].group], ())
        outer, mine = where[level], target.get(box.id, ())
        target[box.id] = mine[len(outer):] if mine[:len(outer)] == outer else ()
        where[box.id] = outer + target[box.id]


def _materialize(jaxpr: Graph, hlo: Graph, boxes: list[Node], target: dict[str, Chain],
                 new_group: NewGroup) -> None:
    """Make the HLO copies of the groups targeted (one per level), move the boxes in, order
    and label them."""
    level_boxes: dict[tuple, int] = defaultdict(int)  # (level, jaxpr group) -> boxes in it
    subgroups: dict[tuple, set[str]] = defaultdict(set)  # (level, jaxpr group) -> groups
    for box in boxes:
        chain = target.get(box.id, ())
        if chain:
            level_boxes[box.group, chain[-1]] += 1
        for outer, inner in zip(chain, chain[1:]):
            subgroups[box.group, outer].add(inner)
    copies: dict[tuple, Node] = {}

    def copy_of(level: str | None, chain: Chain) -> str | None:
        """The HLO copy for the innermost group of ``chain`` that is worth drawing."""
        parent = level
        for group_id in chain:
            original, key = jaxpr.nodes[group_id], (level, group_id)
            if original.op not in _ALWAYS and level_boxes[key] == 1 and not subgroups[key]:
                continue  # a frame around one box
            if key not in copies:
                copies[key] = new_group(
                    op=original.op, label=original.label, group=parent,
                    category=original.category, opens_by_default=original.opens_by_default,
                    source=original.source, caller=original.caller,
                    params={"mirrors": group_id, **_pass_of(original)}, links=[group_id])
                original.links.append(copies[key].id)
            parent = copies[key].id
        return parent

    for box in boxes:
        box.group = copy_of(box.group, target.get(box.id, ()))
    if copies:  # the default view shows the program's structure, not what XLA fused
        for fusion in hlo.find(op="fusion"):
            fusion.opens_by_default = False
        _name_expansions(jaxpr, hlo, boxes)
    _order(hlo, jaxpr, list(copies.values()))
    hlo.regrouped()
    counts = hlo.leaf_counts
    for copy in copies.values():
        if _COUNT.search(copy.label):
            ops = counts.get(copy.id, 0)
            copy.label = _COUNT.sub(f" · {ops} op{'s' if ops != 1 else ''}", copy.label)


def _name_expansions(jaxpr: Graph, hlo: Graph, boxes: list[Node]) -> None:
    """A call or loop XLA made of one equation (Flax's ``random_fold_in`` is a 73-op while
    loop on the CPU) stays closed, named after the equation: ``random bits · random_fold_in
    · call · 73 ops``."""
    kinds = ("call", "while", "conditional")
    inside: dict[str, set[str]] = defaultdict(set)  # box -> what its members link to
    for node in hlo.nodes.values():
        if node.links:
            for group in hlo.ancestors(node.id):
                if hlo.nodes[group].op in kinds:
                    inside[group].update(node.links)
    for box in boxes:
        if box.kind != "group" or box.op not in kinds or len(inside[box.id]) != 1:
            continue
        primitive = jaxpr.nodes[next(iter(inside[box.id]))].op
        words = "random bits · " if primitive.startswith(("random_", "threefry")) else ""
        box.label = f"{words}{primitive} · {box.label}"
        box.opens_by_default = False


def _order(hlo: Graph, jaxpr: Graph, copies: list[Node]) -> None:
    """Each copy where its first member is, so a level reads in program order; copies of
    one level (the iterations of a loop) in the jaxpr view's order."""
    ids = {copy.id for copy in copies}
    ordered: dict[str, Node] = {}

    def emit(node_id: str) -> None:
        node = hlo.nodes[node_id]
        if node.group in ids and node.group not in ordered:
            emit(node.group)
        ordered[node_id] = node

    for node_id in hlo.nodes:
        if node_id not in ids:  # every copy holds some node: it comes with the first
            emit(node_id)
    position_in_jaxpr = {node_id: i for i, node_id in enumerate(jaxpr.nodes)}
    rank = {copy.id: position_in_jaxpr[copy.params["mirrors"]] for copy in copies}
    slots: dict[str | None, list[int]] = defaultdict(list)
    order = list(ordered)
    for position, node_id in enumerate(order):
        if node_id in ids:
            slots[ordered[node_id].group].append(position)
    for positions in slots.values():
        for position, node_id in zip(positions, sorted((order[p] for p in positions),
                                                       key=rank.__getitem__)):
            order[position] = node_id
    hlo.nodes = {node_id: ordered[node_id] for node_id in order}


def _pass_of(group: Node) -> dict[str, str]:
    """The pass a jaxpr group stands for, which its HLO copy keeps (layout.py draws what
    one pass hands a later one as one edge)."""
    return {"pass": group.params["pass"]} if "pass" in group.params else {}
