"""What jaxviz tells the user about a traced program: a problem, where, and what to write instead."""

from __future__ import annotations

from dataclasses import dataclass, field

from jaxviz.formatting import place

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

    @property
    def where(self) -> str:
        """The place in the user's words: ``Cell In[2], line 4``, ``model.py:204``."""
        return place(self.filename, self.line)

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        text = f"{self.severity}: {where}{self.message}"
        return f"{text}\n  fix: {self.hint}" if self.hint else text
