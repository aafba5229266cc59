"""A library called from one line of the user's, as one group: an optimizer's update is a
thousand small ops (``optax · tx.update(grads, opt_state, params)``), which would otherwise
spill over the top level of the graph and into structure-free chunks."""

from __future__ import annotations

import linecache
import re
from collections import Counter
from typing import Iterator

from jaxviz.grouping import NewGroup
from jaxviz.model import Graph, Node, SourceLoc
from jaxviz.structure.sources import library_of

#: Fewest ops a library call needs to become a group of its own.
CALL_GROUP_MIN = 8
_ASSIGNED = re.compile(r"^[\w\s,.\[\]()*]+=(?!=)\s*")


def group_library_calls(graph: Graph, new_group: NewGroup) -> None:
    """At every level, each stretch of members that one line of the user's made through one
    library becomes a group (a member that is a group counts when everything in it agrees;
    a member with no source line, JAX's own code inside a ``jnp`` wrapper, goes along)."""
    keys: dict[str, object] = {}
    for node in sorted(graph.nodes.values(), key=lambda n: graph.depth(n.id), reverse=True):
        keys[node.id] = _key(graph, node, keys)
    for level in [None, *(g.id for g in graph.groups)]:
        members = graph.children(level)
        for key, stretch in _stretches(members, keys):
            if isinstance(key, tuple) and len(stretch) < len(members) and \
                    _ops(graph, stretch) >= CALL_GROUP_MIN:
                _group(graph, stretch, key, level, new_group)
    graph.regrouped()


#: The key of an op with no source line: it goes along with its neighbours.
_ANY = object()


def _stretches(members: list[Node], keys: dict[str, object]) -> Iterator[tuple[object, list]]:
    """(key, members) for each longest stretch of members with one key (``_ANY`` ones join
    any); a member keyed None ends a stretch and joins none."""
    stretch: list[Node] = []
    key: object = _ANY
    for member in members:
        mine = keys[member.id]
        if mine is None or (mine is not _ANY and key is not _ANY and mine != key):
            if stretch:
                yield key, stretch
            stretch, key = ([], _ANY) if mine is None else ([member], mine)
            continue
        stretch.append(member)
        key = mine if mine is not _ANY else key
    if stretch:
        yield key, stretch


def _key(graph: Graph, node: Node, keys: dict[str, object]) -> object:
    """(the user's file, line) for an op a library made; a group's when all of its members
    share one; ``_ANY`` for an op (or a group of them) with no source line; None for
    anything else (the user's own code, inputs, named scopes and modules). One line's call
    may go through several libraries (``nnx.Optimizer.update`` runs Optax's rule): one key."""
    own = None
    if node.source is not None and node.caller is not None and library_of(node.source.filename):
        own = (node.caller.filename, node.caller.line)
    if node.kind == "op":
        return own if node.source is not None else _ANY
    if node.kind != "group" or node.op in ("inputs", "outputs", "scope"):
        return None  # a named scope or module is structure of its own
    found = {keys.get(m.id) for m in graph.children(node.id) if m.kind in ("op", "group")}
    found.discard(_ANY)
    if not found:
        return own or _ANY
    return found.pop() if len(found) == 1 and (own is None or own in found) else None


def _ops(graph: Graph, members: list[Node]) -> int:
    return sum(graph.leaf_counts.get(m.id, 0) if m.kind == "group" else m.kind == "op"
               for m in members)


def _group(graph: Graph, stretch: list[Node], key: tuple, level: str | None,
           new_group: NewGroup) -> None:
    filename, line = key
    library = ", ".join(_libraries(graph, stretch))
    call = _ASSIGNED.sub("", linecache.getline(filename, line).strip(), count=1)
    call = call if len(call) <= 48 else call[:47] + "…"
    group = new_group(op="library", label=f"{library} · {call or f'line {line}'} · "
                                          f"{_ops(graph, stretch)} ops",
                      group=level, category="call", opens_by_default=False,
                      params={"library": library}, source=SourceLoc(filename, line, ""))
    for member in stretch:
        member.group = group.id


def _libraries(graph: Graph, members: list[Node]) -> list[str]:
    """The libraries that made the ops of ``members``, the one with the most ops first."""
    made: Counter[str] = Counter()
    todo = list(members)
    while todo:
        node = todo.pop()
        if node.kind == "group":
            todo.extend(graph.children(node.id))
        elif node.kind == "op" and node.source is not None:
            made[library_of(node.source.filename) or ""] += 1
    made.pop("", None)
    return [library for library, _ in made.most_common()]
