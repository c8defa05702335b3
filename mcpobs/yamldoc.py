"""Files people write by hand in YAML (price files, alert rules), read with every problem's line and column.

The document is composed, not loaded: each node keeps where it was written, so
a problem is reported as ``path:LINE:COL: message`` and a reader can go on to
the next entry and report every problem in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from mcpobs.errors import UsageError

_NULLS = ("", "~", "null", "Null", "NULL")


@dataclass(frozen=True)
class Problem:
    """Something in a file that cannot be used: where, and what."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class ProblemsError(UsageError):
    """A hand-written file with problems: all of them, each a line of its own (exit 2)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def read_text(path: Path, what: str, hint: str = "") -> str:
    """The text of a file the user names for its settings; a missing or unreadable one is a usage error."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such {what}{hint}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read the {what}: {getattr(e, 'strerror', None) or e}") from None


class Reader:
    """Walks a composed YAML document, noting each problem with its line and column."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        self.source = ""

    def compose(self, text: str) -> yaml.Node | None:
        """The document's root node; None for an empty document or (noted) invalid YAML."""
        self.source = text
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except RecursionError:
            self.problems.append(Problem(self.path, 1, 1, "not valid YAML: nested too deeply to read"))
            return None
        except yaml.reader.ReaderError as e:  # a character YAML does not allow, such as a control character
            before = text[: e.position]
            line, column = before.count("\n") + 1, e.position - (before.rfind("\n") + 1) + 1
            self.problems.append(
                Problem(self.path, line, column, f"not valid YAML: character {e.character:#06x} is not allowed")
            )
            return None
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark
            if e.context_mark is not None and "quoted scalar" in (e.context or ""):
                # a quote never closed: where it opens, not the end of the file where YAML noticed
                mark, e.problem = e.context_mark, "this quote is never closed"
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            self.problems.append(Problem(self.path, line, column, f"not valid YAML: {e.problem}"))
            return None

    def problem(self, node: yaml.Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.path, mark.line + 1, mark.column + 1, message))

    def mapping(self, node: yaml.Node, what: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
        """The key/value pairs of a mapping (none for an empty value), noting anything else."""
        if is_null(node):
            return []
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping of names to values, not {shown(node)}")
            return []
        pairs: list[tuple[yaml.ScalarNode, yaml.Node]] = []
        first: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                self.problem(key, f"{what}: a key must be a plain name")
            else:
                if key.value in first:
                    # YAML would keep the last silently: a key written twice is a mistake to show (and
                    # its value is still read, so the problems in it are shown too)
                    self.problem(key, f"duplicate key {key.value!r} (first at line {first[key.value]})")
                first.setdefault(key.value, key.start_mark.line + 1)
                pairs.append((key, value))
        return pairs

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        """The items of a list (none for an empty value), noting anything else."""
        if is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{what} must be a list, not {shown(node)}")
            return []
        return list(node.value)

    def positions(self, node: yaml.Node) -> list[tuple[int, int]] | None:
        """The 1-based line and column in the file of each character of a scalar's value, then of
        the place just after it; None where that cannot be told (a block or multi-line scalar)."""
        if not isinstance(node, yaml.ScalarNode) or node.start_mark.line != node.end_mark.line:
            return None
        line, start, end = node.start_mark.line + 1, node.start_mark.index, node.end_mark.index
        raw = self.source[start:end]
        offset = 0
        if raw.startswith("!"):  # a tag such as !!str before the value
            offset = len(raw) - len(raw.split(None, 1)[1]) if len(raw.split(None, 1)) == 2 else len(raw)
        chars, ends = _decoded(raw, offset, node.style)
        if "".join(chars) != node.value:
            return None
        column = node.start_mark.column + 1
        return [(line, column + i) for i in ends]

    def text(self, node: yaml.Node, what: str) -> str | None:
        """A scalar as the text it was written as, or None (noted) for a list, a mapping or nothing."""
        if isinstance(node, yaml.ScalarNode) and not is_null(node):
            return str(node.value)
        self.problem(node, f"{what} must be text, not {shown(node)}")
        return None

    def count(self, node: yaml.Node, what: str) -> int | None:
        """A whole number >= 0, or None (noted)."""
        text = node.value if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:bool" else None
        try:
            number = int(str(text).replace("_", "")) if isinstance(text, str) else None
        except ValueError:
            number = None
        if number is None or number < 0:
            self.problem(node, f"{what} must be a whole number of 0 or more, not {shown(node)}")
            return None
        return number

    def amount(self, node: yaml.Node, what: str) -> Decimal | None:
        """A number >= 0, read from the scalar's own text so no float ever rounds it; None (noted) if not."""
        text = node.value if isinstance(node, yaml.ScalarNode) else None
        try:
            amount = Decimal(str(text).replace("_", "")) if isinstance(text, str) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            self.problem(node, f"{what} must be a number, got {shown(node)}")
            return None
        if amount < 0:
            self.problem(node, f"{what} must not be negative, got {text}")
            return None
        return amount


_ESCAPE_LENGTH = {"x": 2, "u": 4, "U": 8}


def _decoded(raw: str, start: int, style: str | None) -> tuple[list[str], list[int]]:
    """A one-line scalar's characters as YAML decodes them, each with its offset in ``raw``, and the
    offset just past the value last."""
    chars: list[str] = []
    offsets: list[int] = []
    if style not in ("'", '"'):
        text = raw[start:].rstrip()
        return list(text), [*range(start, start + len(text)), start + len(text)]
    i, end = start + 1, len(raw) - 1  # inside the quotes
    while i < end:
        offsets.append(i)
        if style == "'" and raw.startswith("''", i):
            chars.append("'")
            i += 2
        elif style == '"' and raw[i] == "\\" and i + 1 < end:
            code = raw[i + 1]
            size = _ESCAPE_LENGTH.get(code, 0)
            chars.append(chr(int(raw[i + 2 : i + 2 + size], 16)) if size else _SIMPLE_ESCAPES.get(code, code))
            i += 2 + size
        else:
            chars.append(raw[i])
            i += 1
    return chars, [*offsets, end]


_SIMPLE_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", "e": "\x1b"}


def is_null(node: yaml.Node) -> bool:
    """An empty value (``key:`` with nothing after it, ``~`` or ``null``)."""
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null" and node.value in _NULLS


def shown(node: yaml.Node) -> str:
    """A node as a message names it: its text, or what kind of thing it is."""
    if isinstance(node, yaml.ScalarNode):
        return "nothing" if is_null(node) else repr(node.value)
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
