"""Files people write by hand in YAML (price files, alert rules), read with every problem's line and column.

The document is composed, not loaded: each node keeps where it was written, so
a problem is reported as ``path:LINE:COL: message`` and a reader can go on to
the next entry and report every problem in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import yaml

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


class Reader:
    """Walks a composed YAML document, noting each problem with its line and column."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems

    def compose(self, text: str) -> yaml.Node | None:
        """The document's root node; None for an empty document or (noted) invalid YAML."""
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark
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
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                pairs.append((key, value))
            else:
                self.problem(key, f"{what}: a key must be a plain name")
        return pairs

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        """The items of a list (none for an empty value), noting anything else."""
        if is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{what} must be a list, not {shown(node)}")
            return []
        return list(node.value)

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


def is_null(node: yaml.Node) -> bool:
    """An empty value (``key:`` with nothing after it, ``~`` or ``null``)."""
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null" and node.value in _NULLS


def shown(node: yaml.Node) -> str:
    """A node as a message names it: its text, or what kind of thing it is."""
    if isinstance(node, yaml.ScalarNode):
        return "nothing" if is_null(node) else repr(node.value)
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
