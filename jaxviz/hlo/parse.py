"""Parse the HLO text that ``jax.jit(f).trace(*args).lower().compile().as_text()`` prints.

Pure text processing (stdlib only, no jax import) so that stored HLO can be read
without a backend and so that the parser does not depend on the installed XLA.

Both metadata styles are understood:

* jax <= 0.7 prints the source position inline:
  ``metadata={op_name="jit(f)/add" source_file="/x.py" source_line=5}``.
* jax >= 0.8 prints tables (``FileNames``, ``FunctionNames``, ``FileLocations``,
  ``StackFrames``) after the module header and refers to them with
  ``metadata={op_name="jit(f)/add" stack_frame_id=4}``.

Either way :class:`HloMetadata` ends up with ``source_file``/``source_line`` of the
innermost frame (the user's line that created the op) and ``stack``, the whole call
chain, innermost frame first.

The parser is syntactic: it does not check that operands or called computations
exist. It raises :class:`HloParseError` (with line and column) for anything it
cannot read, and nothing else.
"""

from __future__ import annotations

import gc
import functools
import re
from dataclasses import dataclass, field, replace
from typing import NamedTuple

__all__ = [
    "HloComputation",
    "HloInstruction",
    "HloMetadata",
    "HloModule",
    "HloParseError",
    "Shape",
    "SourceFrame",
    "UNBOUNDED_DIM",
    "parse_hlo",
]

#: ``Shape.dims`` entry for an unbounded dynamic dimension, printed ``?``.
UNBOUNDED_DIM = -1

# Attributes whose value names called computations: ``%c`` or ``{%a, %b}``.
_CALLEE_ATTRIBUTES = frozenset(
    {
        "calls",
        "to_apply",
        "condition",
        "body",
        "branch_computations",
        "true_computation",
        "false_computation",
        "called_computations",
        "select",
        "scatter",
    }
)
_MAX_SHAPE_DEPTH = 64  # tuple nesting; deeper is garbage, and would exhaust the stack

_SPACE = re.compile(r"(?:[ \t\r\n]++|/\*(?:[^*\n]++|\*(?!/))*+\*/)*+")
_INLINE_SPACE = re.compile(r"(?:[ \t\r]++|/\*(?:[^*\n]++|\*(?!/))*+\*/)*+")
_COMMENT = re.compile(r"/\*(?:[^*\n]|\*(?!/))*\*/")
_STRING = re.compile(r'"(?:[^"\\\n]++|\\.)*+"')
_TOP_LEVEL_STOP = re.compile(r'[\n,(){}\[\]"/]')
_NESTED_STOP = re.compile(r'[\n(){}\[\]"/]')
_CLOSERS = {")": "(", "]": "[", "}": "{"}

_HEADER = re.compile(r"HloModule[ \t]+")
_ENTRY = re.compile(r"ENTRY[ \t]+")
_ROOT = re.compile(r"ROOT[ \t]+")
#: The common instruction start, ``[ROOT] %name = f32[2,4]{1,0} opcode(``, in one match
#: (three in four lines of a big module; anything else takes the general path).
_SIMPLE_START = re.compile(
    r"(ROOT[ \t]+)?%?([\w.\-]+)[ \t]*=[ \t]*([a-z][a-z0-9]*\[[^\]\n]*\](?:\{[^{}\n]*\})?)"
    r"[ \t]+([A-Za-z][\w\-]*)\(")
#: ``, key=`` of an attribute, in one match.
_ATTRIBUTE_START = re.compile(r"[ \t]*,[ \t]*([\w.\-]+)=")
#: The common attribute values, in one match: a bare word (``to_apply=%add.1``), or one
#: pair of braces holding no brackets but quoted strings (``metadata={op_name="..." ...}``,
#: ``{1,0}``), ending the attribute. Anything else takes :meth:`_Cursor.scan`. Possessive
#: (``++``, ``*+``): a run of plain text goes in one step, and nothing is tried again.
_PLAIN_VALUE = re.compile(
    r'(?:[^\s,(){}\[\]"/]++|\{(?:[^{}()\[\]"\n/]++|"(?:[^"\\\n]++|\\.)*+")*+\})(?=[ \t\r]*(?:,|\n|$))')
#: ``, key=value`` with a common value (as above), in one match.
_PLAIN_ATTRIBUTE = re.compile(_ATTRIBUTE_START.pattern + "(" + _PLAIN_VALUE.pattern + ")")
#: A computation's parameter with an array shape, ``p.1: f32[2,4]{1,0}`` and the ``,`` or
#: ``)`` after it, in one match.
_PLAIN_PARAMETER = re.compile(
    r"[ \t]*%?([\w.\-]+)[ \t]*:[ \t]*([a-z][a-z0-9]*\[[^\]\n]*\](?:\{[^{}\n]*\})?)[ \t]*([,)])")
#: Plain operands, ``%a, %b)``, in one match (an operand with a shape or a comment in the
#: list takes the general path).
_PLAIN_OPERANDS = re.compile(r"[ \t]*((?:%?[\w.\-]+[ \t]*,[ \t]*)*%?[\w.\-]+)?[ \t]*\)")
_NAME = re.compile(r"%?([\w.\-]+)")
_OPCODE = re.compile(r"[A-Za-z][\w\-]*")
_ATTRIBUTE_KEY = re.compile(r"[\w.\-]+")
_INT = re.compile(r"-?\d+")
_SECTION = re.compile(r"([A-Z]\w*)[ \t\r]*\n")
_TABLE_ID = re.compile(r"(\d+)[ \t]+")
_ARRAY_SHAPE = re.compile(r"([a-z][a-z0-9]*)\[([^\]\n]*)\](\{[^{}\n]*\})?")
_DIM = re.compile(r"\s*(?:(<=)?(\d+)|(\?))\s*")
_SHAPE_START = re.compile(r"\(|[a-z][a-z0-9]*\[")
_KEY_VALUE = re.compile(r'\s*([\w.\-]+)=("(?:[^"\\\n]|\\.)*"|\{[^{}]*\}|[^\s"{}]+)\s*')
_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


class HloParseError(ValueError):
    """The text is not HLO this parser understands; says where (1-based line and column)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Shape:
    """An array shape (``f32[2,4]{1,0}``) or a tuple of shapes (``dtype == 'tuple'``).

    Dynamic dimensions: ``<=4`` is kept as ``4`` in ``dims`` with ``dynamic[i]`` True;
    ``?`` (unbounded) is :data:`UNBOUNDED_DIM` with ``dynamic[i]`` True.
    ``layout`` is the raw text including braces (``'{1,0:T(8,128)}'``), or None.
    """

    dtype: str
    dims: tuple[int, ...] = ()
    layout: str | None = None
    elements: tuple[Shape, ...] = ()
    dynamic: tuple[bool, ...] = ()

    @property
    def is_tuple(self) -> bool:
        return self.dtype == "tuple"

    def __str__(self) -> str:
        return self._text

    @functools.cached_property
    def _text(self) -> str:
        """The shape as XLA writes it, without the layout (made once: a module's shapes are
        shared objects, and every edge of the HLO view is labelled with one)."""
        if self.is_tuple:
            return "(" + ", ".join(str(element) for element in self.elements) + ")"
        dims = []
        for size, is_dynamic in zip(self.dims, self.dynamic or (False,) * len(self.dims), strict=True):
            if size == UNBOUNDED_DIM and is_dynamic:
                dims.append("?")
            else:
                dims.append(f"<={size}" if is_dynamic else str(size))
        return f"{self.dtype}[{','.join(dims)}]"


class SourceFrame(NamedTuple):
    """One Python frame an op came from; ``function`` is None in jax <= 0.7 metadata."""

    file: str
    line: int | None
    function: str | None


@dataclass
class HloMetadata:
    """``metadata={...}`` of an instruction, with the source position resolved.

    ``stack`` lists the call chain innermost frame first, so ``stack[0]`` is the
    line that created the op and equals ``(source_file, source_line, source_function)``.
    Inline (jax <= 0.7) metadata gives a one-frame stack. ``extra`` keeps every other
    key with its unquoted value; with stack-frame tables the innermost frame's
    ``source_column``, ``source_end_line`` and ``source_end_column`` land there too,
    the keys inline metadata uses for them.

    Instructions whose metadata text is the same share one object (a 128-layer module has
    18k metadata and 1.3k distinct ones): treat it as read-only.
    """

    op_name: str | None = None
    op_type: str | None = None
    source_file: str | None = None
    source_line: int | None = None
    source_function: str | None = None
    stack_frame_id: int | None = None
    stack: list[SourceFrame] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class HloInstruction:
    """One ``[ROOT] %name = shape opcode(operands), attr=value, ...`` line.

    ``attributes`` holds the raw text of every attribute value (``metadata`` too).
    ``literal`` is the text inside ``constant(...)``; ``parameter_number`` the
    number inside ``parameter(...)``; operands of both are empty.
    """

    name: str
    opcode: str
    shape: Shape
    operands: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    metadata: HloMetadata | None = None
    is_root: bool = False
    line: int = 0
    literal: str | None = None
    parameter_number: int | None = None
    called_computations: list[str] = field(default_factory=list)

    @property
    def sharding(self) -> str | None:
        return self.attributes.get("sharding")

    @property
    def channel_id(self) -> str | None:
        return self.attributes.get("channel_id")

    @property
    def replica_groups(self) -> str | None:
        return self.attributes.get("replica_groups")


@dataclass
class HloComputation:
    """A named computation; ``parameters`` is the printed signature (empty when the
    text omits it); ``root`` is the ROOT instruction, else the last one."""

    name: str
    is_entry: bool
    parameters: list[tuple[str, Shape]]
    result_shape: Shape | None
    instructions: list[HloInstruction]
    root: HloInstruction | None
    attributes: dict[str, str] = field(default_factory=dict)
    line: int = 0
    instructions_by_name: dict[str, HloInstruction] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.instructions_by_name = {inst.name: inst for inst in self.instructions}

    def instruction(self, name: str) -> HloInstruction:
        """The instruction called ``name`` (with or without ``%``); KeyError if absent."""
        return self.instructions_by_name[name.removeprefix("%")]


@dataclass
class HloModule:
    """A parsed module; computations in printed order (callees before callers)."""

    name: str
    attributes: dict[str, str]
    computations: list[HloComputation]
    entry: HloComputation
    computations_by_name: dict[str, HloComputation] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.computations_by_name = {comp.name: comp for comp in self.computations}

    def computation(self, name: str) -> HloComputation:
        """The computation called ``name`` (with or without ``%``); KeyError if absent."""
        return self.computations_by_name[name.removeprefix("%")]


class _Cursor:
    """A position in the text plus the bracket-aware scanning the grammar is built on.

    ``pos`` only moves forward, and every loop of the grammar consumes at least one
    character per round or raises, so parsing cannot loop forever.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.shapes: dict[str, Shape] = {}  # array shapes by their text: modules repeat a few
        self.metadata: dict[str, HloMetadata] = {}  # metadata by its text, likewise
        self._line = 1  # line number at self._line_pos, so counting stays linear
        self._line_pos = 0

    def location(self, pos: int) -> tuple[int, int]:
        return self.line_at(pos), pos - self.text.rfind("\n", 0, pos)

    def line_at(self, pos: int) -> int:
        if pos < self._line_pos:
            self._line, self._line_pos = 1, 0
        self._line += self.text.count("\n", self._line_pos, pos)
        self._line_pos = pos
        return self._line

    def error(self, message: str, pos: int | None = None) -> HloParseError:
        return HloParseError(message, *self.location(self.pos if pos is None else pos))

    def found(self) -> str:
        token = re.match(r"\S{1,20}", self.text[self.pos : self.pos + 20])
        if token:
            return repr(token.group())
        return "end of text" if self.at_end() else "end of line"

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip(self, newlines: bool = True) -> None:
        """Skip blanks and ``/*...*/`` comments (XLA writes ``/*index=5*/`` in long lists)."""
        if self.text.startswith((" ", "\n", "\t", "\r", "/*"), self.pos):  # saves a regex call
            self.pos = (_SPACE if newlines else _INLINE_SPACE).match(self.text, self.pos).end()

    def accept(self, literal: str) -> bool:
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str) -> None:
        if not self.accept(literal):
            raise self.error(f"expected {literal!r}, found {self.found()}")

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.match(self.text, self.pos)
        if found:
            self.pos = found.end()
        return found

    def require(self, pattern: re.Pattern[str], what: str) -> re.Match[str]:
        found = self.match(pattern)
        if found is None:
            raise self.error(f"expected {what}, found {self.found()}")
        return found

    def end_line(self) -> None:
        if self.text.startswith("\n", self.pos):  # the common case, no regex
            self.pos += 1
            return
        self.skip(newlines=False)
        if not self.at_end() and not self.accept("\n"):
            raise self.error(f"expected end of line, found {self.found()}")

    def scan(self, *, separators: bool = True, one_group: bool = False) -> str:
        """Raw text up to the first unmatched closing bracket or the end of the line,
        skipping over strings, comments and balanced brackets (XLA prints every
        instruction, constants included, on one line, so a bracket still open at the
        end of the line is an error). With ``separators`` a comma outside brackets
        also ends it and trailing blanks are left out (values may hold spaces outside
        brackets: ``replica_groups=mesh['x'=2,'y'=4] {'x'}``); with ``one_group`` it
        ends after one bracket group."""
        text, start, pos = self.text, self.pos, self.pos
        open_brackets: list[tuple[str, int]] = []
        while True:
            stop = (_NESTED_STOP if open_brackets or not separators else _TOP_LEVEL_STOP).search(text, pos)
            if stop is None:
                if open_brackets:
                    raise self.error(f"{open_brackets[-1][0]!r} is never closed", open_brackets[-1][1])
                pos = len(text)
                break
            pos = stop.start()
            char = text[pos]
            if char == "\n" and open_brackets:
                raise self.error(f"{open_brackets[-1][0]!r} is never closed", open_brackets[-1][1])
            if char == '"':
                string = _STRING.match(text, pos)
                if string is None:
                    raise self.error("unterminated string", pos)
                pos = string.end()
            elif text.startswith("/*", pos):
                comment = _COMMENT.match(text, pos)
                if comment is None:  # else every later "/*" on the line would be rescanned
                    raise self.error("unterminated comment", pos)
                pos = comment.end()
            elif char == "/":
                pos += 1
            elif char in "([{":
                open_brackets.append((char, pos))
                pos += 1
            elif char in _CLOSERS:
                if not open_brackets:
                    break
                opener, opener_pos = open_brackets.pop()
                if opener != _CLOSERS[char]:
                    line, column = self.location(opener_pos)
                    raise self.error(
                        f"{char!r} does not match {opener!r} at line {line}, column {column}", pos
                    )
                pos += 1
                if one_group and not open_brackets:
                    break
            else:  # a separator outside brackets
                break
        if separators:
            pos = start + len(text[start:pos].rstrip(" \t\r"))
        self.pos = pos
        return text[start:pos]


def parse_hlo(text: str) -> HloModule:
    """Parse one module of HLO text; raises :class:`HloParseError` on anything unreadable."""
    if not isinstance(text, str):
        raise TypeError(f"parse_hlo expects str, not {type(text).__name__}")
    # Parsing allocates many objects and no reference cycles, so the cyclic collector
    # only costs time here (about half of it on a 5 MB module): pause it meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse_module(_Cursor(text))
    finally:
        if collecting:
            gc.enable()


def _parse_module(cursor: _Cursor) -> HloModule:
    cursor.skip()
    header_line = cursor.line_at(cursor.pos)
    cursor.require(_HEADER, "'HloModule'")
    name = cursor.require(_NAME, "module name").group(1)
    attributes, _ = _parse_attributes(cursor)
    cursor.end_line()
    frames = _StackFrames(cursor, _parse_tables(cursor))

    computations: list[HloComputation] = []
    names: set[str] = set()
    entry: HloComputation | None = None
    cursor.skip()
    while not cursor.at_end():
        start = cursor.pos
        computation = _parse_computation(cursor, frames)
        if computation.name in names:
            raise cursor.error(f"duplicate computation {computation.name!r}", start)
        if computation.is_entry:
            if entry is not None:
                raise cursor.error("second ENTRY computation", start)
            entry = computation
        names.add(computation.name)
        computations.append(computation)
        cursor.skip()
    if not computations:
        raise HloParseError(f"module {name!r} has no computations", header_line, 1)
    if entry is None:  # XLA's convention when no computation is marked ENTRY
        entry = computations[-1]
        entry.is_entry = True
    return HloModule(name=name, attributes=attributes, computations=computations, entry=entry)


def _parse_attributes(cursor: _Cursor) -> tuple[dict[str, str], dict[str, int]]:
    """``, key=value`` pairs to the end of the line: raw values and where each starts."""
    attributes: dict[str, str] = {}
    positions: dict[str, int] = {}
    text = cursor.text
    while True:
        if text.startswith("\n", cursor.pos):  # the end of the line, at once
            return attributes, positions
        plain = _PLAIN_ATTRIBUTE.match(text, cursor.pos)  # the common case, in one match
        if plain:
            key = plain.group(1)
            if key in attributes:
                raise cursor.error(f"duplicate attribute {key!r}", plain.start(1))
            attributes[key] = plain.group(2)
            positions[key] = plain.start(2)
            cursor.pos = plain.end()
            continue
        start = cursor.match(_ATTRIBUTE_START)
        if start:
            key_pos, key = start.start(1), start.group(1)
        else:
            cursor.skip(newlines=False)
            if not cursor.accept(","):
                return attributes, positions
            cursor.skip(newlines=False)
            key_pos = cursor.pos
            key = cursor.require(_ATTRIBUTE_KEY, "attribute name").group()
            cursor.expect("=")
        value_pos = cursor.pos
        plain = cursor.match(_PLAIN_VALUE)
        value = plain.group() if plain else cursor.scan()
        if not value:
            raise cursor.error(f"expected a value for {key!r}, found {cursor.found()}")
        if key in attributes:
            raise cursor.error(f"duplicate attribute {key!r}", key_pos)
        attributes[key] = value
        positions[key] = value_pos


def _parse_tables(cursor: _Cursor) -> dict[str, dict[int, tuple[str | dict[str, str], int]]]:
    """The ``FileNames``/``StackFrames``/... sections: ``{section: {id: (value, position)}}``."""
    tables: dict[str, dict[int, tuple[str | dict[str, str], int]]] = {}
    while True:
        cursor.skip()
        section = cursor.match(_SECTION)
        if section is None:
            return tables
        rows = tables.setdefault(section.group(1), {})
        while True:
            cursor.skip()
            row = cursor.match(_TABLE_ID)
            if row is None:
                break
            value_pos = cursor.pos
            raw = cursor.scan()
            if _STRING.fullmatch(raw):
                rows[int(row.group(1))] = (_unquote(raw), value_pos)
            elif raw.startswith("{") and raw.endswith("}"):
                rows[int(row.group(1))] = (_parse_key_values(cursor, raw, value_pos), value_pos)
            else:
                raise cursor.error('expected a "string" or {key=value ...}', value_pos)
            cursor.end_line()


class _StackFrames:
    """Resolves ``stack_frame_id`` to a call chain (innermost first) via the module tables."""

    def __init__(
        self, cursor: _Cursor, tables: dict[str, dict[int, tuple[str | dict[str, str], int]]]
    ) -> None:
        self._cursor = cursor
        self._files = {
            i: name for i, (name, _) in tables.get("FileNames", {}).items() if isinstance(name, str)
        }
        self._functions = {
            i: name for i, (name, _) in tables.get("FunctionNames", {}).items() if isinstance(name, str)
        }
        self._locations = tables.get("FileLocations", {})
        frames = tables.get("StackFrames", {})
        # XLA prints parent_frame_id one higher than the parent's id (a root prints 1,
        # so frame 1 names itself), the StackFrames proto holds the plain id (0 = none).
        # If a later XLA prints the plain id, no frame names itself: take it as is.
        printed = {i: self._int(row, "parent_frame_id", pos, 0) for i, (row, pos) in frames.items()}
        shift = 1 if any(parent == i for i, parent in printed.items()) else 0
        self._stacks: dict[int, tuple[list[SourceFrame], dict[str, str]]] = {}
        for frame_id in sorted(frames):
            row, pos = frames[frame_id]
            frame, columns = self._location(self._int(row, "file_location_id", pos), pos)
            parent = printed[frame_id] - shift
            if parent <= 0:
                self._stacks[frame_id] = ([frame], columns)
            elif parent in self._stacks and parent < frame_id:
                self._stacks[frame_id] = ([frame, *self._stacks[parent][0]], columns)
            else:
                raise cursor.error(f"stack frame {frame_id} has no earlier parent frame {parent}", pos)

    def _int(self, row: str | dict[str, str], key: str, pos: int, default: int | None = None) -> int:
        value = row.get(key) if isinstance(row, dict) else None
        if value is None and default is not None:
            return default
        if value is None or not _INT.fullmatch(value):
            raise self._cursor.error(f"expected an integer {key}", pos)
        return int(value)

    def _location(self, location_id: int, pos: int) -> tuple[SourceFrame, dict[str, str]]:
        if location_id not in self._locations:
            raise self._cursor.error(f"unknown file location {location_id}", pos)
        row, row_pos = self._locations[location_id]
        if not isinstance(row, dict):
            raise self._cursor.error("expected {file_name_id=... line=...}", row_pos)
        file_id = self._int(row, "file_name_id", row_pos)
        function_id = self._int(row, "function_name_id", row_pos)
        if file_id not in self._files or function_id not in self._functions:
            raise self._cursor.error("file location names an unknown file or function", row_pos)
        frame = SourceFrame(
            self._files[file_id], self._int(row, "line", row_pos), self._functions[function_id]
        )
        columns = {f"source_{key}": row[key] for key in ("column", "end_line", "end_column") if key in row}
        return frame, columns

    def resolve(self, frame_id: int, pos: int) -> tuple[list[SourceFrame], dict[str, str]]:
        if frame_id not in self._stacks:
            raise self._cursor.error(f"unknown stack_frame_id {frame_id}", pos)
        stack, columns = self._stacks[frame_id]
        return list(stack), dict(columns)


def _parse_computation(cursor: _Cursor, frames: _StackFrames) -> HloComputation:
    """``[ENTRY] %name [(params) -> shape] {`` instruction lines ``}``."""
    line = cursor.line_at(cursor.pos)
    is_entry = cursor.match(_ENTRY) is not None
    name = cursor.require(_NAME, "computation name").group(1)
    cursor.skip(newlines=False)
    parameters: list[tuple[str, Shape]] = []
    result_shape = None
    if cursor.accept("("):
        parameters = _parse_signature(cursor)
        cursor.skip(newlines=False)
        cursor.expect("->")
        cursor.skip(newlines=False)
        result_shape = _parse_shape(cursor)
        cursor.skip(newlines=False)
    cursor.expect("{")
    cursor.end_line()

    instructions: list[HloInstruction] = []
    names: set[str] = set()
    root = None
    while True:
        cursor.skip()
        if cursor.accept("}"):
            break
        if cursor.at_end():
            raise cursor.error(f"expected '}}' to close computation {name!r}, found end of text")
        start = cursor.pos
        instruction = _parse_instruction(cursor, frames)
        if instruction.name in names:
            raise cursor.error(f"duplicate instruction {instruction.name!r}", start)
        if instruction.is_root:
            if root is not None:
                raise cursor.error(f"second ROOT in computation {name!r}", start)
            root = instruction
        names.add(instruction.name)
        instructions.append(instruction)
    attributes, _ = _parse_attributes(cursor)  # e.g. execution_thread="host"
    cursor.end_line()
    if root is None and instructions:
        root = instructions[-1]
    return HloComputation(
        name=name,
        is_entry=is_entry,
        parameters=parameters,
        result_shape=result_shape,
        instructions=instructions,
        root=root,
        attributes=attributes,
        line=line,
    )


def _parse_signature(cursor: _Cursor) -> list[tuple[str, Shape]]:
    """``name: shape, ...)`` after the opening parenthesis of a computation signature."""
    parameters: list[tuple[str, Shape]] = []
    cursor.skip(newlines=False)
    if cursor.accept(")"):
        return parameters
    while True:
        plain = _PLAIN_PARAMETER.match(cursor.text, cursor.pos)  # the common case
        if plain:
            cursor.pos = plain.end()
            parameters.append((plain.group(1), _matched_shape(cursor, plain, 2)))
            if plain.group(3) == ")":
                return parameters
            continue
        cursor.skip(newlines=False)
        name = cursor.require(_NAME, "parameter name").group(1)
        cursor.skip(newlines=False)
        cursor.expect(":")
        cursor.skip(newlines=False)
        parameters.append((name, _parse_shape(cursor)))
        cursor.skip(newlines=False)
        if cursor.accept(")"):
            return parameters
        if not cursor.accept(","):
            raise cursor.error(f"expected ',' or ')', found {cursor.found()}")


def _parse_instruction(cursor: _Cursor, frames: _StackFrames) -> HloInstruction:
    line = cursor.line_at(cursor.pos)
    simple = cursor.match(_SIMPLE_START)
    if simple:
        is_root, name, opcode = simple.group(1) is not None, simple.group(2), simple.group(4)
        shape = _matched_shape(cursor, simple, 3)
    else:
        is_root = cursor.match(_ROOT) is not None
        name = cursor.require(_NAME, "instruction name").group(1)
        cursor.skip(newlines=False)
        cursor.expect("=")
        cursor.skip(newlines=False)
        shape = _parse_shape(cursor)
        cursor.skip(newlines=False)
        opcode = cursor.require(_OPCODE, "opcode").group()
        cursor.expect("(")
    operands: list[str] = []
    literal: str | None = None
    parameter_number: int | None = None
    if opcode == "constant":
        literal = cursor.scan(separators=False).strip()
        cursor.expect(")")
    elif opcode == "parameter":
        cursor.skip(newlines=False)
        parameter_number = int(cursor.require(_INT, "parameter number").group())
        cursor.skip(newlines=False)
        cursor.expect(")")
    else:
        operands = _parse_operands(cursor)
    attributes, positions = _parse_attributes(cursor)
    cursor.end_line()
    metadata = None
    if "metadata" in attributes:  # a module repeats a few (one per line of the program)
        raw = attributes["metadata"]
        if raw not in cursor.metadata:
            cursor.metadata[raw] = _parse_metadata(cursor, raw, positions["metadata"], frames)
        metadata = cursor.metadata[raw]
    called = []
    if not _CALLEE_ATTRIBUTES.isdisjoint(attributes):
        for key, value in attributes.items():
            if key in _CALLEE_ATTRIBUTES:
                called.extend(_computation_names(cursor, value, positions[key]))
    return HloInstruction(
        name=name,
        opcode=opcode,
        shape=shape,
        operands=operands,
        attributes=attributes,
        metadata=metadata,
        is_root=is_root,
        line=line,
        literal=literal,
        parameter_number=parameter_number,
        called_computations=called,
    )


def _parse_operands(cursor: _Cursor) -> list[str]:
    """Operand names up to ``)``; an operand may carry a shape (older XLA: ``f32[2]{0} %a``)."""
    plain = cursor.match(_PLAIN_OPERANDS)
    if plain:
        names = plain.group(1)
        return [name.strip().lstrip("%") for name in names.split(",")] if names else []
    operands: list[str] = []
    cursor.skip(newlines=False)
    if cursor.accept(")"):
        return operands
    while True:
        cursor.skip(newlines=False)
        if _SHAPE_START.match(cursor.text, cursor.pos):
            _parse_shape(cursor)
            cursor.skip(newlines=False)
        operands.append(cursor.require(_NAME, "operand name").group(1))
        cursor.skip(newlines=False)
        if cursor.accept(")"):
            return operands
        if not cursor.accept(","):
            raise cursor.error(f"expected ',' or ')', found {cursor.found()}")


def _parse_shape(cursor: _Cursor, depth: int = 0) -> Shape:
    if depth > _MAX_SHAPE_DEPTH:
        raise cursor.error("tuple shape nested too deeply")
    if cursor.accept("("):
        elements = []
        cursor.skip(newlines=False)
        while not cursor.accept(")"):
            if elements and not cursor.accept(","):
                raise cursor.error(f"expected ',' or ')', found {cursor.found()}")
            cursor.skip(newlines=False)
            elements.append(_parse_shape(cursor, depth + 1))
            cursor.skip(newlines=False)
        return Shape("tuple", elements=tuple(elements))
    array = cursor.require(_ARRAY_SHAPE, "a shape")
    if array.group(3) is None and cursor.text.startswith("{", cursor.pos):  # layout with nested braces
        return _array_shape(cursor, array, cursor.scan(one_group=True))
    if array.group() not in cursor.shapes:
        cursor.shapes[array.group()] = _array_shape(cursor, array, array.group(3))
    return cursor.shapes[array.group()]


def _matched_shape(cursor: _Cursor, found: re.Match[str], group: int) -> Shape:
    """The array shape a fast-path match found as ``group`` (remembered by its text)."""
    shape = cursor.shapes.get(found.group(group))
    if shape is None:
        array = _ARRAY_SHAPE.match(cursor.text, found.start(group))  # errors point into the text
        shape = cursor.shapes[found.group(group)] = _array_shape(cursor, array, array.group(3))
    return shape


def _array_shape(cursor: _Cursor, array: re.Match[str], layout: str | None) -> Shape:
    dims: list[int] = []
    dynamic: list[bool] = []
    if array.group(2).strip():
        for text in array.group(2).split(","):
            dim = _DIM.fullmatch(text)
            if dim is None:
                raise cursor.error(f"bad dimension {text.strip()!r}", array.start())
            dims.append(UNBOUNDED_DIM if dim.group(3) else int(dim.group(2)))
            dynamic.append(bool(dim.group(1) or dim.group(3)))
    return Shape(array.group(1), tuple(dims), layout, dynamic=tuple(dynamic))


def _parse_metadata(cursor: _Cursor, raw: str, pos: int, frames: _StackFrames) -> HloMetadata:
    values = _parse_key_values(cursor, raw, pos)
    metadata = HloMetadata(
        op_name=values.pop("op_name", None),
        op_type=values.pop("op_type", None),
        source_file=values.pop("source_file", None),
        source_line=_optional_int(cursor, values.pop("source_line", None), "source_line", pos),
        source_function=values.pop("source_function", None),
        stack_frame_id=_optional_int(cursor, values.pop("stack_frame_id", None), "stack_frame_id", pos),
        extra=values,
    )
    if metadata.stack_frame_id is not None:
        metadata.stack, columns = frames.resolve(metadata.stack_frame_id, pos)
        if metadata.source_file is None:
            metadata.source_file, metadata.source_line, metadata.source_function = metadata.stack[0]
            for key, value in columns.items():
                metadata.extra.setdefault(key, value)
    elif metadata.source_file is not None:
        metadata.stack = [SourceFrame(metadata.source_file, metadata.source_line, metadata.source_function)]
    return metadata


def _optional_int(cursor: _Cursor, value: str | None, key: str, pos: int) -> int | None:
    if value is None:
        return None
    if not _INT.fullmatch(value):
        raise cursor.error(f"{key} must be an integer, not {value!r}", pos)
    return int(value)


def _parse_key_values(cursor: _Cursor, raw: str, pos: int) -> dict[str, str]:
    """``{key=value key="string" ...}`` (metadata, table rows) with strings unquoted."""
    if not (raw.startswith("{") and raw.endswith("}")):
        raise cursor.error("expected {key=value ...}", pos)
    values: dict[str, str] = {}
    offset, end = 1, len(raw) - 1
    while offset < end:
        pair = _KEY_VALUE.match(raw, offset, end)
        if pair is None:
            raise cursor.error("expected key=value", pos + offset)
        key, value = pair.groups()
        values[key] = _unquote(value) if value.startswith('"') else value
        offset = pair.end()
    return values


def _computation_names(cursor: _Cursor, value: str, pos: int) -> list[str]:
    """``%c`` or ``{%a, %b}`` as names without ``%``."""
    items = value[1:-1].split(",") if value.startswith("{") and value.endswith("}") else [value]
    names = []
    for item in items:
        name = _NAME.fullmatch(item.strip())
        if name is None:
            if not item.strip() and len(items) == 1:
                continue  # an empty list: {}
            raise cursor.error(f"expected a computation name, not {item.strip()!r}", pos)
        names.append(name.group(1))
    return names


def _unquote(quoted: str) -> str:
    """Undo XLA's C escaping (non-ASCII is escaped as octal UTF-8 bytes)."""
    body = quoted[1:-1]
    if "\\" not in body:
        return body
    out = bytearray()
    last = 0
    for escape in _ESCAPE.finditer(body):
        out += body[last : escape.start()].encode("utf-8", "surrogatepass")
        code = escape.group()[1:]
        if code[0] == "x" and len(code) > 1:
            out.append(int(code[1:], 16))
        elif code[0] in "01234567":
            out.append(int(code, 8) & 0xFF)
        else:
            out += _SIMPLE_ESCAPES.get(code, code).encode("utf-8", "surrogatepass")
        last = escape.end()
    out += body[last:].encode("utf-8", "surrogatepass")
    return out.decode("utf-8", errors="replace")
