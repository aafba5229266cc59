"""Reading XLA's HLO text into plain data: see :mod:`jaxviz.hlo.parse`."""

from jaxviz.hlo.parse import (
    HloComputation,
    HloInstruction,
    HloMetadata,
    HloModule,
    HloParseError,
    Shape,
    parse_hlo,
)

__all__ = [
    "HloComputation",
    "HloInstruction",
    "HloMetadata",
    "HloModule",
    "HloParseError",
    "Shape",
    "parse_hlo",
]
