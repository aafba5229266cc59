"""ClosedJaxpr -> view graph.

Every equation becomes one node. An equation holding jaxprs (jit, scan, while, cond,
custom_jvp/vjp, remat, shard_map, and any primitive we have never heard of) becomes a group
whose members are the nested equations; named scopes become groups too. Edges run straight
from producer to consumer, across group borders, so collapsing a group only redirects them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from jaxviz import _compat, _gc
from jaxviz.structure import repeats
from jaxviz.structure.calls import group_library_calls
from jaxviz.structure.loops import name_iterations
from jaxviz.structure.names import library_function, pass_name, stack_levels, within_passes
from jaxviz.structure.sources import is_user_file, loop_frame, user_frames
from jaxviz.jaxpr import labels
from jaxviz.grouping import chunk_long_levels, common_prefix, group_pytree
from jaxviz.model import Edge, Graph, Node, SourceLoc

#: What an outer variable is inside the graph: the nodes whose output it is.
Producers = tuple[str, ...]


@dataclass
class _Frame:
    """One jaxpr being walked: its variable environment and the group it lives in."""

    env: dict[Any, Producers]
    group: str | None
    scope_prefix: tuple[str, ...] = ()
    open_scopes: list[tuple[str, str]] = field(default_factory=list)  # (scope name, group id)
    #: The last name stack asked for and its group: equations in a row mostly share one.
    last_scope: tuple[tuple[str, ...], str | None] | None = None


def build_jaxpr_graph(
    closed_jaxpr: Any,
    arg_names: Sequence[str] | None = None,
    result_names: Sequence[str] | None = None,
    const_names: Sequence[str | None] | None = None,
) -> Graph:
    """The jaxpr view of a traced function.

    ``arg_names`` / ``result_names`` default to what JAX recorded while tracing
    (``params[0]['W']``, ``result['loss']``); ``const_names`` names captured constants.
    """
    with _gc.paused():  # see jaxviz/_gc.py: big builds were slow and erratic otherwise
        return _Builder(closed_jaxpr, arg_names, result_names, const_names).graph


class _Builder:
    def __init__(self, closed_jaxpr, arg_names, result_names, const_names):
        self.graph = Graph(view="jaxpr")
        self._counts: dict[str, int] = {}
        #: The user's line and the user's frames of an equation, by its traceback (a loop's
        #: iterations share them).
        self._wheres: dict[Any, tuple[SourceLoc | None, tuple]] = {}
        #: An equation's label, types, params text and category, by what makes equations
        #: alike (the loop key, static indices, literals): a loop's iterations share them.
        self._looks: dict[Any, tuple[str, str, dict[str, str], str]] = {}
        #: Name stacks as scope tuples, by JAX's name-stack object (equations share it).
        self._stacks: dict[int, tuple[Any, tuple[str, ...]]] = {}
        jaxpr, consts = _compat.open_jaxpr(closed_jaxpr)
        recorded_args, recorded_results = _compat.debug_names(closed_jaxpr)
        arg_names = list(arg_names or recorded_args or ())
        result_names = list(result_names or recorded_results or ())
        const_names = list(const_names or ())

        top = _Frame(env={}, group=None)
        for i, var in enumerate(jaxpr.constvars):
            name = const_names[i] if i < len(const_names) and const_names[i] else None
            value = consts[i] if i < len(consts) else None
            top.env[var] = (self._const_node(var, name, value, None).id,)
        for i, var in enumerate(jaxpr.invars):
            name = arg_names[i] if i < len(arg_names) else f"arg{i}"
            node = self._add("i", kind="input", op="input", label=name,
                             shape=_compat.aval_str(var.aval), category="input")
            top.env[var] = (node.id,)
        group_pytree(self.graph.find(kind="input"), "inputs", self._new_group)
        self._walk(jaxpr.eqns, top)
        outputs = []
        for i, var in enumerate(jaxpr.outvars):
            name = result_names[i] if i < len(result_names) else f"out{i}"
            node = self._add("o", kind="output", op="output", label=name,
                             shape=_compat.aval_str(var.aval), category="output")
            if isinstance(var, _compat.Literal):
                node.label += " = " + labels.format_value(var.val)
            self._connect(top.env, var, node.id)
            outputs.append(node)
        group_pytree(outputs, "outputs", self._new_group)
        group_library_calls(self.graph, self._new_group)
        chunk_long_levels(self.graph, self._new_group)
        name_iterations(self.graph)
        for group in self.graph.groups:
            if group.op == "scope":
                ops = self.graph.leaf_counts.get(group.id, 0)
                group.label += f" · {ops} op{'s' if ops != 1 else ''}"

    # -- nodes and edges ---------------------------------------------------------------

    def _add(self, prefix: str, **fields: Any) -> Node:
        number = self._counts.get(prefix, 0)
        self._counts[prefix] = number + 1
        return self.graph.add(Node(id=f"{prefix}{number}", **fields))

    def _new_group(self, **fields: Any) -> Node:
        return self._add("g", kind="group", **fields)

    def _const_node(self, var: Any, name: str | None, value: Any, group: str | None) -> Node:
        shape = _compat.aval_str(var.aval)
        label = f"{name}" if name else "const"
        params = {}
        if value is not None:
            params = {"value": labels.shorten(labels.format_value(value), 200),
                      "nbytes": str(getattr(value, "nbytes", ""))}
        return self._add("c", kind="const", op="const", label=label, shape=shape,
                         group=group, params=params, category="const")

    def _connect(self, env: dict[Any, Producers], var: Any, dst: str) -> None:
        if isinstance(var, _compat.Literal):
            return
        label = _compat.aval_str(var.aval)
        for src in env.get(var, ()):
            self.graph.edges.append(Edge(src, dst, label))

    def _where(self, eqn: Any) -> tuple[SourceLoc | None, tuple]:
        """The user's line that made ``eqn`` (or the library's, when none is the user's) and
        the (file, line) of the user's frames around it."""
        key = _compat.traceback_key(eqn)
        found = self._wheres.get(key)
        if found is None:
            frame = _compat.user_frame(eqn)
            found = self._wheres[key] = (
                SourceLoc(frame.filename, frame.line, frame.function) if frame else None,
                _compat.frames_where(eqn, is_user_file))
        return found

    # -- walking -----------------------------------------------------------------------

    def _walk(self, eqns: Sequence[Any], frame: _Frame,
              sources: list[SourceLoc | None] | None = None, keys: list | None = None) -> None:
        """Add a jaxpr's equations, folding unrolled Python loops into "×N" groups.

        ``sources`` and loop ``keys`` of the equations, when an outer walk has them already.
        """
        if sources is None or keys is None:
            wheres = [self._where(eqn) for eqn in eqns]
            sources = [source for source, _ in wheres]
            # Where: JAX's line (often inside a library) and the user's lines that led to
            # it, so one helper (a norm) called from the loop body and after the loop, or a
            # library's op called from two lines of the user's, are different steps.
            keys = [repeats.equation_key(eqn, src and (src.filename, src.line, users))
                    for eqn, (src, users) in zip(eqns, wheres)]
        runs = {run.start: run for run in repeats.find_runs(keys, eqns)}
        taken = {i for run in runs.values() for i in range(run.start, run.stop)}
        parallel = {run.start: run for run in repeats.find_parallel_runs(keys, eqns)
                    if not taken.intersection(range(run.start, run.stop))}
        stacks = within_passes([self._name_stack(eqn) for eqn in eqns])
        i = 0
        while i < len(eqns):
            if i in runs or i in parallel:
                run = runs.get(i) or parallel[i]
                self._unrolled(eqns, run, sources, keys, frame, parallel=i in parallel)
                i = run.stop
                continue
            eqn = eqns[i]
            group = self._scope_group(stacks[i], frame)
            subs = list(_compat.sub_jaxprs(eqn.params))
            if subs:
                node = self._nested(eqn, subs, frame, group, sources[i])
            else:
                node = self._equation(eqn, frame.env, group, sources[i], keys[i])
            node.caller = _caller(sources[i], keys[i])
            i += 1

    def _unrolled(self, eqns: Sequence[Any], run: repeats.Run, sources: list[SourceLoc | None],
                  keys: list, frame: _Frame, parallel: bool = False) -> None:
        """One group for the whole run; one sub-group per iteration (unless 1 op each).

        ``parallel``: the iterations share no values (the same steps for each leaf of a
        pytree, or each item of a comprehension)."""
        body = eqns[run.start:run.stop]
        common = common_prefix([self._name_stack(eqn) for eqn in body])
        parent = self._scope_group(common, frame)
        prims = list(dict.fromkeys(eqn.primitive.name for eqn in body[:run.block]))
        each = f"{run.block} op{'s' if run.block != 1 else ''} each"
        node = self._add(
            "g", kind="group", op="parallel" if parallel else "unrolled",
            label=f"×{run.repeats} alike · {each}" if parallel
            else f"unrolled loop ×{run.repeats} · {each}",
            group=parent, source=self._loop_source(body[:run.block]) or sources[run.start],
            category="repeat", opens_by_default=False,
            params={"repeats": str(run.repeats), "block": str(run.block),
                    "body": ", ".join(prims[:6]) + (" …" if len(prims) > 6 else "")},
        )
        # The first iteration stands for them all; the others, alike, wait in one group
        # ("iterations 1–127 · alike"), so the loop can show one layer and one box.
        rest = None
        for r in range(run.repeats):
            holder = node.id
            if r == 1 and run.block > 1 and not parallel:
                rest = self._add("g", kind="group", op="alike", group=node.id,
                                 category="part", opens_by_default=False,
                                 label=f"iterations 1–{run.repeats - 1} · alike").id
            if run.block > 1:
                holder = self._add("g", kind="group", op="iteration",
                                   label=f"{'item' if parallel else 'iteration'} {r}",
                                   group=rest if r and rest else node.id, category="part").id
            inner = _Frame(env=frame.env, group=holder, scope_prefix=common)
            start, stop = run.start + r * run.block, run.start + (r + 1) * run.block
            self._walk(eqns[start:stop], inner, sources[start:stop], keys[start:stop])

    def _loop_source(self, iteration: Sequence[Any]) -> SourceLoc | None:
        """The user's ``for`` (or ``while``, comprehension) that traced this iteration."""
        stacks = [user_frames(_compat.frames(eqn)) for eqn in iteration]
        frame = loop_frame([stack for stack in stacks if stack])
        return SourceLoc(*frame) if frame else None

    def _scope_group(self, stack: tuple[str, ...], frame: _Frame) -> str | None:
        """The named-scope group for a name stack, opening and closing scopes as needed."""
        if frame.last_scope is not None and frame.last_scope[0] == stack:
            return frame.last_scope[1]  # the scopes it opened are still the open ones
        group = self._open_scopes(stack, frame)
        frame.last_scope = (stack, group)
        return group

    def _open_scopes(self, stack: tuple[str, ...], frame: _Frame) -> str | None:
        if stack[: len(frame.scope_prefix)] == frame.scope_prefix:
            stack = stack[len(frame.scope_prefix):]
        # "jvp(conv1)" is two groups: the forward pass, and the module conv1 inside it;
        # "layers[0]", "eqx.nn.Linear" one: the attribute and the class of one module.
        levels = stack_levels(stack)
        opened = frame.open_scopes
        keep = 0
        while keep < min(len(opened), len(levels)) and opened[keep][0] == levels[keep][0]:
            keep += 1
        del opened[keep:]
        for name, label in levels[keep:]:
            parent = opened[-1][1] if opened else frame.group
            transformation = pass_name(name)
            node = self._add("g", kind="group", op="scope", label=label, group=parent,
                             category="scope", params={"scope": name, **(
                                 {"pass": transformation} if transformation else {})})
            opened.append((name, node.id))
        return opened[-1][1] if opened else frame.group

    def _equation(self, eqn: Any, env: dict[Any, Producers], group: str | None,
                  source: SourceLoc | None, key: Any) -> Node:
        label, shape, params, category = self._looks_of(eqn, key)
        node = self._add("e", kind="op", op=eqn.primitive.name, label=label, shape=shape,
                         group=group, source=source, params=dict(params), category=category,
                         effectful=bool(eqn.effects))
        for var in eqn.invars:
            self._connect(env, var, node.id)
        for var in eqn.outvars:
            if not isinstance(var, _compat.DropVar):
                env[var] = (node.id,)
        return node

    def _looks_of(self, eqn: Any, key: Any) -> tuple[str, str, dict[str, str], str]:
        """(label, output types, params text, category) of an equation, made once for all
        the equations alike (formatting params costs more than the rest of a node)."""
        name = eqn.primitive.name
        literals = [v.val if isinstance(v, _compat.Literal) else None for v in eqn.invars]
        alike = (key, tuple([_literal_key(v) for v in literals]),
                 tuple([(k, v) for k, v in eqn.params.items() if k in repeats.INDEX_PARAMS]))
        try:
            return self._looks[alike]
        except KeyError:
            pass
        except TypeError:  # an unhashable literal or index: made for this equation alone
            alike = None
        looks = (labels.equation_label(name, eqn.params, literals), _outputs_text(eqn),
                 _params_text(eqn.params), labels.category(name))
        if alike is not None:
            self._looks[alike] = looks
        return looks

    def _name_stack(self, eqn: Any) -> tuple[str, ...]:
        stack = eqn.source_info.name_stack
        known = self._stacks.get(id(stack))
        if known is None:  # the object is kept with its tuple, so its id stays its own
            known = self._stacks[id(stack)] = (stack, _compat.name_stack(eqn))
        return known[1]

    def _nested(self, eqn: Any, subs: list[tuple[str, Any]], frame: _Frame,
                group: str | None, source: SourceLoc | None) -> Node:
        name = eqn.primitive.name
        node = self._add(
            "g", kind="group", op=name, label=name, shape=_outputs_text(eqn), group=group,
            source=source, params=_params_text(eqn.params),
            category="control" if name in ("scan", "while", "cond") else "call",
            effectful=bool(eqn.effects),
        )
        called = library_function(str(eqn.params.get("name", "")),
                                  _compat.jaxpr_function_file(subs[0][1])) \
            if name in ("jit", "pjit") else None
        if called:  # set before the walk inside: jax.random.normal calls jax.random.uniform
            node.params["function"] = called
        ops_before = self._counts.get("e", 0)
        inner_prefix = frame.scope_prefix + self._name_stack(eqn)
        feeds = _operand_map(eqn, subs)
        fed: set[int] = set()
        results: list[list[str]] = [[] for _ in eqn.outvars]
        for (param, sub), operand_indices in zip(subs, feeds):
            jaxpr, consts = _compat.open_jaxpr(sub)
            holder = node.id
            if len(subs) > 1:
                holder = self._add("g", kind="group", op="part",
                                   label=_part_name(name, param), group=node.id,
                                   category="part", params={"param": param}).id
            inner = _Frame(env={}, group=holder, scope_prefix=inner_prefix)
            for var, value in zip(jaxpr.constvars, consts):
                inner.env[var] = (self._const_node(var, None, value, holder).id,)
            for var, index in zip(jaxpr.invars, operand_indices):
                if index is None:
                    continue
                fed.add(index)
                outer = eqn.invars[index]
                if not isinstance(outer, _compat.Literal):
                    inner.env[var] = frame.env.get(outer, ())
            passed_through = {id(v) for v in jaxpr.invars}
            self._walk(jaxpr.eqns, inner)
            if _returns_results(name, param) and len(jaxpr.outvars) == len(eqn.outvars):
                for i, var in enumerate(jaxpr.outvars):
                    if isinstance(var, _compat.Literal) or id(var) in passed_through:
                        results[i].append(node.id)  # the value flows through the group
                    else:
                        results[i].extend(inner.env.get(var, ()))
        for index, var in enumerate(eqn.invars):
            if index not in fed:
                self._connect(frame.env, var, node.id)
        for var, producers in zip(eqn.outvars, results):
            if not isinstance(var, _compat.DropVar):
                frame.env[var] = tuple(dict.fromkeys(producers)) or (node.id,)
        node.label = _group_summary(eqn, len(subs), self._counts.get("e", 0) - ops_before)
        if called:  # JAX's own wrapper (jnp.var's _var): one box, named as the user called it
            random = called.startswith("jax.random.") and not any(
                self.graph.nodes[g].params.get("function", "").startswith("jax.random.")
                for g in self.graph.ancestors(node.id))
            words = "random bits · " if random else ""  # the outermost of a draw's wrappers
            node.label = words + called + node.label[node.label.index(" · "):]
            node.opens_by_default = False
        return node


def _literal_key(value: Any) -> Any:
    """A literal as a memo key: JAX 0.8+ writes scalar literals as unhashable arrays."""
    if isinstance(value, np.ndarray) and value.shape == ():
        return (value.dtype, value.tobytes())
    return value


def _caller(source: SourceLoc | None, key: Any) -> SourceLoc | None:
    """The user's innermost line (from the loop key's stack), when ``source`` is a library's."""
    stack = key[4][2] if key[4] else ()
    if source is None or not stack or is_user_file(source.filename):
        return None
    return SourceLoc(stack[0][0], stack[0][1], "")


def _operand_map(eqn: Any, subs: list[tuple[str, Any]]) -> list[list[int | None]]:
    """For each nested jaxpr, which of the equation's operands feeds each of its inputs."""
    n = len(eqn.invars)
    maps = []
    for param, sub in subs:
        jaxpr, _ = _compat.open_jaxpr(sub)
        k = len(jaxpr.invars)
        if eqn.primitive.name == "while":
            cond_n, body_n = eqn.params["cond_nconsts"], eqn.params["body_nconsts"]
            carry = list(range(cond_n + body_n, n))
            consts = range(cond_n) if param == "cond_jaxpr" else range(cond_n, cond_n + body_n)
            maps.append(list(consts) + carry)
        elif k <= n:  # same operands, or the trailing ones (cond's branches skip the index)
            maps.append(list(range(n - k, n)))
        else:
            maps.append([None] * k)
    return maps


def _returns_results(primitive: str, param: str) -> bool:
    return not (primitive == "while" and param == "cond_jaxpr")


def _part_name(primitive: str, param: str) -> str:
    if param.startswith("branches["):
        return "branch " + param[len("branches["):-1]
    return {"cond_jaxpr": "cond", "body_jaxpr": "body"}.get(param, param)


def _group_summary(eqn: Any, parts: int, ops: int) -> str:
    """Label of a collapsed nested-jaxpr group, e.g. ``scan ×1000 · 3 ops``."""
    name, params = eqn.primitive.name, eqn.params
    head = name
    if name == "scan":
        head = f"scan ×{params.get('length')}"
    elif name in ("jit", "pjit", "custom_jvp_call", "custom_vjp_call") and params.get("name"):
        head = f"{name} {labels.format_value(params['name'])}"
    if name == "cond":
        return f"{head} · {parts} branches"
    return f"{head} · {ops} op{'s' if ops != 1 else ''}"


def _outputs_text(eqn: Any) -> str:
    return ", ".join(_compat.aval_str(v.aval) for v in eqn.outvars)


def _params_text(params: dict[str, Any]) -> dict[str, str]:
    text = {}
    for key, value in params.items():
        if isinstance(value, (_compat.ClosedJaxpr, _compat.Jaxpr)):
            jaxpr, _ = _compat.open_jaxpr(value)
            text[key] = f"jaxpr with {len(jaxpr.eqns)} equations"
        elif isinstance(value, (tuple, list)) and value and all(
            isinstance(v, (_compat.ClosedJaxpr, _compat.Jaxpr)) for v in value
        ):
            text[key] = f"{len(value)} jaxprs"
        else:
            text[key] = labels.shorten(labels.format_value(value), 200)
    return text
