"""Where in the user's function a name is read or ``print`` is called (for findings' lines)."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class FunctionSource:
    filename: str
    first_line: int
    lines: list[str]

    def line_of_name(self, name: str) -> int | None:
        """First line of the body that reads ``name``."""
        pattern = re.compile(rf"(?<![\w.]){re.escape(name)}\b")
        for offset, text in enumerate(self.lines[1:], start=1):
            code = text.split("#", 1)[0]
            if pattern.search(code):
                return self.first_line + offset
        return None

    def print_lines(self) -> list[int]:
        """Lines of ``print(...)`` calls in the function (not of ``jax.debug.print``)."""
        try:
            tree = ast.parse(textwrap.dedent("".join(self.lines)))
        except SyntaxError:
            return []
        return sorted(
            self.first_line + node.lineno - 1
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "print"
        )


def function_source(fn: Callable) -> FunctionSource | None:
    """The source of the user's (unwrapped) function, cell code included via linecache."""
    try:
        fn = inspect.unwrap(fn)
        lines, first = inspect.getsourcelines(fn)
        filename = inspect.getsourcefile(fn) or fn.__code__.co_filename
    except (OSError, TypeError, AttributeError):
        return None
    return FunctionSource(filename, first, lines)
