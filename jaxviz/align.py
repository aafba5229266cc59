"""Which box of one view graph is which box of another: an alignment by data flow and op.

Two programs that compute the same thing are rarely the same list of equations: operands
swap (``einsum`` puts the batch first, ``dot`` the weights), independent ops come in another
order, one version has an extra ``transpose``. So boxes are not paired by position but in
two steps:

1. **Same place in the data flow.** Each box gets digests of its op and everything
   upstream of it (operands in order), of its op and everything downstream, and of both as
   far as NEAR_STEPS boxes away (its surroundings). Boxes whose digests agree are paired:
   both whole ones, then one whole and the other's surroundings; then, once step 2 has
   grown what those pairs reach, one whole one alone (alone at first, it would pair the
   norm before a fifth layer with the final norm of a four-layer model: the same upstream).
   Among equal ones, in build order.
2. **Grown from the pairs.** The neighbours of a pair that are not paired yet are paired
   when their surroundings agree, then when they are the same op (operands at the same
   position first), and so on outward. Then again, looking two steps away through boxes
   not paired yet: that pairs the ``add`` after a ``dot_general`` in one program with the
   ``add`` after a ``dot_general`` and a ``transpose`` in the other, though the data above
   them differ.

Boxes left over are what one program does and the other does not. Groups are not paired:
what a group holds is paired box by box. Linear in the size of both graphs.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Callable, Container, Hashable

from jaxviz.model import Graph

#: How many unpaired neighbours of a pair are looked at before looking further away.
AROUND_LIMIT = 256
#: How far around a box its surroundings' digests look (step 1 and the first growth).
NEAR_STEPS = 6


class _Flow:
    """One graph's boxes (not groups) with their operands and users, in build order."""

    def __init__(self, graph: Graph):
        self.order = [n.id for n in graph.nodes.values() if n.kind != "group"]
        boxes = set(self.order)
        self.operands: dict[str, list[str]] = defaultdict(list)
        self.users: dict[str, list[str]] = defaultdict(list)
        for edge in graph.edges:
            if edge.src in boxes and edge.dst in boxes:
                self.operands[edge.dst].append(edge.src)
                self.users[edge.src].append(edge.dst)
        nodes = graph.nodes
        #: What pairing in step 2 needs to agree on: the kind of box and its op.
        self.op = {i: (nodes[i].kind, nodes[i].op) for i in self.order}
        #: What step 1 compares: also the label (params, a constant's name) and the shape;
        #: not an input's name (``x`` in one program is ``xs`` in the other).
        self.exact = {i: (self.op[i], nodes[i].shape, "" if nodes[i].kind in ("input", "output")
                          else nodes[i].label) for i in self.order}
        ranked = _topological(self.order, self.operands, self.users)
        self.up: dict[str, int] = {}
        for i in ranked:
            self.up[i] = hash((self.exact[i], *(self.up.get(p, 0) for p in self.operands[i])))
        self.down: dict[str, int] = {}
        for i in reversed(ranked):
            self.down[i] = hash((self.exact[i], *sorted(self.down.get(u, 0) for u in self.users[i])))
        #: The same, as far as NEAR_STEPS boxes away: what a box's surroundings look like.
        self.near = {i: (up, down) for i, up, down in zip(
            self.order, self._steps(self.operands, tuple).values(),
            self._steps(self.users, sorted).values())}

    def _steps(self, links: dict[str, list[str]], arrange: Callable) -> dict[str, int]:
        digest = {i: hash(self.exact[i]) for i in self.order}
        for _ in range(NEAR_STEPS):
            digest = {i: hash((digest[i], *arrange(digest[x] for x in links[i])))
                      for i in self.order}
        return digest


def align(left: Graph, right: Graph) -> dict[str, str]:
    """Left box id -> right box id, for the boxes that do the same in both graphs."""
    a, b = _Flow(left), _Flow(right)
    matches: dict[str, str] = {}
    taken: set[str] = set()

    def by(key: Callable[[_Flow, str], Hashable]) -> None:
        waiting: dict[Hashable, deque[str]] = defaultdict(deque)
        for i in b.order:
            if i not in taken:
                waiting[key(b, i)].append(i)
        for i in a.order:
            if i not in matches and waiting.get(key(a, i)):
                pair(i, waiting[key(a, i)].popleft())

    def pair(i: str, j: str) -> None:
        matches[i] = j
        taken.add(j)

    def grow(reach: int, alike: bool) -> None:
        """Pair the unpaired neighbours of pairs, outward (see the module docstring)."""
        def fits(x: str, y: str) -> bool:
            return a.op[x] == b.op[y] and (not alike or a.near[x] == b.near[y])

        grown = deque(matches.items())
        while grown:
            i, j = grown.popleft()
            for near in ("operands", "users"):
                if near == "operands":  # the same position first
                    for x, y in zip(a.operands[i], b.operands[j]):
                        if x not in matches and y not in taken and fits(x, y):
                            pair(x, y)
                            grown.append((x, y))
                free: dict[Hashable, deque[str]] = defaultdict(deque)
                for y in _around(b, j, near, reach, taken):
                    free[b.near[y] if alike else b.op[y]].append(y)
                for x in _around(a, i, near, reach, matches):
                    waiting = free.get(a.near[x] if alike else a.op[x])
                    while waiting and waiting[0] in taken:
                        waiting.popleft()
                    if waiting and x not in matches and fits(x, waiting[0]):
                        y = waiting.popleft()
                        pair(x, y)
                        grown.append((x, y))

    by(lambda flow, i: (flow.up[i], flow.down[i]))
    by(lambda flow, i: (flow.up[i], flow.near[i][1]))
    by(lambda flow, i: (flow.near[i][0], flow.down[i]))
    grow(1, alike=True)
    by(lambda flow, i: flow.up[i])
    by(lambda flow, i: flow.down[i])
    grow(1, alike=True)
    grow(1, alike=False)
    grow(2, alike=False)
    return matches


def _around(flow: _Flow, start: str, near: str, reach: int, paired: Container[str]) -> list[str]:
    """The boxes not paired yet among ``start``'s operands or users (``near``) and, up to
    ``reach`` steps away, theirs, through boxes not paired yet; nearest first. Two steps
    pair the ``add`` after ``dot_general`` with the ``add`` after ``dot_general`` and an
    extra ``transpose``. Past AROUND_LIMIT boxes, no further step is taken."""
    links = getattr(flow, near)
    found: dict[str, None] = {}
    ring = [start]
    for _ in range(reach):
        ring = [x for i in ring for x in links[i] if x not in paired and x not in found]
        found.update(dict.fromkeys(ring))
        if len(found) > AROUND_LIMIT:
            break
    return list(found)


def _topological(order: list[str], operands: dict[str, list[str]],
                 users: dict[str, list[str]]) -> list[str]:
    """Boxes with every operand before its users (Kahn); boxes on a cycle, in build order."""
    waiting = {i: len(operands[i]) for i in order}
    ready = deque(i for i in order if waiting[i] == 0)
    ranked = []
    while ready:
        i = ready.popleft()
        ranked.append(i)
        for user in users[i]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    if len(ranked) < len(order):
        seen = set(ranked)
        ranked += [i for i in order if i not in seen]
    return ranked
