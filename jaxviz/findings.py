"""What jaxviz tells the user about a traced program: a problem, where, and what to write instead."""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("error", "warning", "info")


@dataclass
class Finding:
    kind: str
    severity: str
    message: str
    hint: str = ""
    line: int | None = None
    filename: str | None = None
    #: The nodes of the jaxpr view it is about.
    node_ids: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        text = f"{self.severity}: {where}{self.message}"
        return f"{text}\n  fix: {self.hint}" if self.hint else text
