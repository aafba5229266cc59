"""What tests/test_real.py checks of one corpus program, as JSON-ready data: traced here, or
by ``python -m real.check MODULE NAME`` in a process with the program's devices."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

_EXPECT = re.compile(r"#\s*expect:\s*([\w\-, ]+)")


def expected(module_file: str, kinds: tuple[str, ...] | None) -> list[list]:
    """[kind, line] for every ``# expect:`` comment of the module (those of ``kinds``)."""
    found = []
    for number, text in enumerate(Path(module_file).read_text().splitlines(), start=1):
        if match := _EXPECT.search(text):
            found += [[kind.strip(), number] for kind in match[1].split(",")
                      if kind.strip() and (kinds is None or kind.strip() in kinds)]
    return found


def report(module: str, name: str) -> dict:
    import jaxviz
    from jaxviz.structure.sources import is_user_file
    from real import load

    program = next(p for p in load(module) if p.name == name)
    module_file = sys.modules[f"real.{module}"].__file__
    t = jaxviz.trace(program.fn, *program.args, static_argnums=program.static_argnums,
                     **program.kwargs)
    result: dict = {"errors": t.errors, "build": [], "file": module_file,
                    "expected": expected(module_file, program.expects)}
    if t.errors:
        return result
    with tempfile.TemporaryDirectory() as folder:
        steps = {"findings": lambda: t.findings, "repr": lambda: repr(t),
                 "notebook output": lambda: t._repr_mimebundle_()}
        for view in ("jaxpr", "hlo"):
            steps[f"{view} graph"] = lambda view=view: t.graph(view)
            for suffix in ("svg", "html", "dot"):
                steps[f"{view} .{suffix}"] = lambda view=view, suffix=suffix: t.export(
                    os.path.join(folder, f"{view}.{suffix}"), view=view)
        for step, run in steps.items():
            try:
                run()
            except Exception as exc:  # every failure is reported, not just the first
                result["build"].append(f"{step}: {type(exc).__name__}: {exc}")
    result["findings"] = [
        {"kind": f.kind, "file": f.filename, "line": f.line, "text": str(f),
         "user": f.filename is None or is_user_file(f.filename)} for f in t.findings]
    result["coverage"] = t.links.hlo_coverage if t.links else 1.0
    result["views"] = {view: structure(t.graph(view, linked=False)) for view in ("jaxpr", "hlo")}
    result["groups"], result["opens"] = list(program.groups), program.opens
    return result


def structure(graph) -> dict:
    """A view's structure groups by label (op counts left out), the default view's size and
    its open groups, and the chunks at its top level."""
    from jaxviz.model import expansion, project

    def label(node) -> str:
        return _COUNT.sub("", node.label)

    opened = expansion(graph)
    return {"groups": sorted({label(n) for n in graph.groups if n.op in _STRUCTURE}),
            "open": sorted({label(graph.nodes[g]) for g in opened}),
            "drawn": len(project(graph, opened).nodes),
            "top_chunks": [n.label for n in graph.children(None) if n.op == "chunk"]}


def has(labels: list[str], wanted: str) -> bool:
    """``forward`` is ``forward · jvp``; ``iteration 2 · params['layers'][2]`` itself."""
    return any(label == wanted or label.startswith(wanted + " · ") for label in labels)


_STRUCTURE = ("scope", "unrolled", "parallel", "alike", "iteration", "library", "jit", "pjit")
_COUNT = re.compile(r" · \d+ ops?(?: each)?$")


if __name__ == "__main__":
    print(json.dumps(report(sys.argv[1], sys.argv[2])))
