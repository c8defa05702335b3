"""The condition language of alert rules and ``--where`` filters: parsed by hand, never ``eval``.

::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := number | duration | percent | string | name | "(" condition ")"

A duration (``150ms``, ``2s``, ``1.5m``, ``1h``) is a number of milliseconds,
the unit of every ``*_ms`` metric; a percent (``5%``) is a fraction, the unit
of every rate. A name is a metric (``error_rate``), a metric of the baseline
(``baseline.latency_p95_ms``) or, in a ``where`` filter, a field (``tool``).

Evaluation is three-valued: a metric with no value (no calls, no baseline)
makes a comparison unknown (``None``), and ``and``/``or``/``not`` follow
Kleene's logic, so a rule with too little data neither fires nor passes.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Value = float | str | bool | None
Kind = Literal["number", "string", "bool"]

DURATION_MS = {"ms": 1.0, "s": 1_000.0, "m": 60_000.0, "h": 3_600_000.0}
COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")
# Parentheses and prefix operators nested deeper than this are refused, not a RecursionError.
MAX_DEPTH = 64
# Operators in one condition past this are refused: the tree they make is walked recursively.
MAX_OPERATORS = 200
KEYWORDS = ("and", "or", "not")


class ExprError(Exception):
    """A condition that cannot be parsed or checked; ``column`` is 1-based."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


# ------------------------------------------------------------------------------------------------
# syntax tree: frozen dataclasses; equal when the same condition, wherever it was written
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: float
    column: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return repr(self.value) if not self.value.is_integer() else str(int(self.value))


@dataclass(frozen=True)
class String:
    value: str
    column: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Name:
    name: str
    column: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node
    column: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"(-{self.operand})" if self.op == "-" else f"(not {self.operand})"


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node
    column: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"({self.left} {self.op} {self.right})"


Node = Number | String | Name | Unary | Binary


# ------------------------------------------------------------------------------------------------
# tokens
# ------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:ms|s|m|h|%)?(?![A-Za-z0-9_]))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\))
    """,
    re.VERBOSE | re.ASCII,  # digits are 0-9, names are ASCII: no other script's numerals
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, string, op, keyword, end
    text: str
    column: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            char = text[pos]
            hint = " (use == to compare)" if char == "=" else " (use and, or, not)" if char in "&|!" else ""
            raise ExprError(f"unexpected {char!r}{hint}", pos + 1)
        kind = match.lastgroup or ""
        if kind != "space":
            token_text = match.group()
            if kind == "name" and token_text in KEYWORDS:
                kind = "keyword"
            out.append(_Token(kind, token_text, pos + 1))
        pos = match.end()
    out.append(_Token("end", "", len(text) + 1))
    return out


# ------------------------------------------------------------------------------------------------
# parser
# ------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0
        self.operators = 0

    def deeper(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"nested too deeply (more than {MAX_DEPTH} parentheses or prefix operators)", token.column)

    def binary(self, op: _Token, left: Node, right: Node) -> Binary:
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            raise ExprError(f"too long: more than {MAX_OPERATORS} operators in one condition", op.column)
        return Binary(op.text, left, right, op.column)

    @property
    def token(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.token.kind in ("op", "keyword") and self.token.text in texts

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise ExprError("empty expression", 1)
        node = self.or_()
        if self.token.kind != "end":
            if self.at(*COMPARISONS):
                raise ExprError("a second comparison: join the two with and/or", self.token.column)
            raise ExprError(f"unexpected {self.token.text!r}", self.token.column)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            op = self.take()
            node = self.binary(op, node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("and"):
            op = self.take()
            node = self.binary(op, node, self.not_())
        return node

    def not_(self) -> Node:
        if self.at("not"):
            op = self.take()
            self.deeper(op)
            node = Unary("not", self.not_(), op.column)
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        node = self.sum()
        if self.at(*COMPARISONS):
            op = self.take()
            node = self.binary(op, node, self.sum())
        return node

    def sum(self) -> Node:
        node = self.product()
        while self.at("+", "-"):
            op = self.take()
            node = self.binary(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.at("*", "/"):
            op = self.take()
            right = self.unary()
            if op.text == "/" and constant(right) == 0:
                raise ExprError("division by zero", _column(right))
            node = self.binary(op, node, right)
        return node

    def unary(self) -> Node:
        if self.at("-"):
            op = self.take()
            self.deeper(op)
            node = Unary("-", self.unary(), op.column)
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.take()
            return Number(_number(token), token.column)
        if token.kind == "string":
            self.take()
            return String(_unquote(token.text), token.column)
        if token.kind == "name":
            self.take()
            return Name(token.text, token.column)
        if self.at("("):
            self.take()
            self.deeper(token)
            node = self.or_()
            self.depth -= 1
            if not self.at(")"):
                raise ExprError(f"expected ')' to close the '(' at column {token.column}", self.token.column)
            self.take()
            return node
        found = "the end of the condition" if token.kind == "end" else repr(token.text)
        raise ExprError(f"expected a number, a metric or '(', found {found}", token.column)


def _number(token: _Token) -> float:
    match = re.fullmatch(r"(.+?)(ms|s|m|h|%)?", token.text)
    assert match is not None  # the tokenizer matched the same shape
    value = float(match.group(1))
    unit = match.group(2)
    if unit == "%":
        value /= 100
    elif unit:
        value *= DURATION_MS[unit]
    if not math.isfinite(value):
        raise ExprError(f"number {token.text} is too large", token.column)
    return value


def constant(node: Node) -> float | None:
    """The number ``node`` works out to whatever the data, when it names no metric (``0``, ``-0%``,
    ``(1 - 1)``); else None. A rule dividing by a constant 0 would never have a verdict."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Unary) and node.op == "-":
        value = constant(node.operand)
        return None if value is None else -value
    if isinstance(node, Binary) and node.op in _FOLD:
        left, right = constant(node.left), constant(node.right)
        if left is None or right is None or (node.op == "/" and right == 0):
            return None
        return _FOLD[node.op](left, right)
    return None


_FOLD: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse(text: str) -> Node:
    """The syntax tree of ``text``, or :class:`ExprError` with the column where it goes wrong."""
    return _Parser(text).parse()


# ------------------------------------------------------------------------------------------------
# checking: names known, types right
# ------------------------------------------------------------------------------------------------


def check(node: Node, names: Mapping[str, Kind], *, want: Kind = "bool", noun: str = "metric") -> None:
    """Refuse unknown names (with a did-you-mean; ``noun`` says what a name is) and operands of the wrong type."""
    got = _kind(node, names, noun)
    if got != want:
        raise ExprError(f"the condition must be a comparison, not a {got}", _column(node))


def _kind(node: Node, names: Mapping[str, Kind], noun: str) -> Kind:
    if isinstance(node, Number):
        return "number"
    if isinstance(node, String):
        return "string"
    if isinstance(node, Name):
        if node.name not in names:
            raise ExprError(unknown_name(node.name, names, noun), node.column)
        return names[node.name]
    if isinstance(node, Unary):
        inner = _kind(node.operand, names, noun)
        want: Kind = "bool" if node.op == "not" else "number"
        if inner != want:
            raise ExprError(f"'{node.op}' needs a {_noun(want)}, not a {inner}", node.column)
        return want
    left, right = _kind(node.left, names, noun), _kind(node.right, names, noun)
    if node.op in ("and", "or"):
        for side, kind in ((node.left, left), (node.right, right)):
            if kind != "bool":
                raise ExprError(f"'{node.op}' joins comparisons, not a {kind}", _column(side))
        return "bool"
    if node.op in ("==", "!="):
        if left != right:
            raise ExprError(f"cannot compare a {left} with a {right}", node.column)
        return "bool"
    for side, kind in ((node.left, left), (node.right, right)):
        if kind != "number":
            raise ExprError(f"'{node.op}' needs numbers, not a {kind}", _column(side))
    return "bool" if node.op in COMPARISONS else "number"


def _noun(kind: Kind) -> str:
    return "comparison" if kind == "bool" else kind


def _column(node: Node) -> int:
    if isinstance(node, Binary):
        return _column(node.left)
    return node.column


def unknown_name(name: str, names: Mapping[str, Kind] | list[str], noun: str = "metric") -> str:
    """'unknown metric …', with the nearest names, and all of them when none is near."""
    known = sorted(names)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        return f"unknown {noun} {name!r}; did you mean {' or '.join(repr(c) for c in close)}?"
    return f"unknown {noun} {name!r}; known: {', '.join(known)}"


def names_in(node: Node) -> set[str]:
    """Every name the condition reads."""
    return {name.name for name in name_nodes(node)}


def name_nodes(node: Node) -> list[Name]:
    """Every name in the condition, in the order written (with their columns)."""
    if isinstance(node, Name):
        return [node]
    if isinstance(node, Unary):
        return name_nodes(node.operand)
    if isinstance(node, Binary):
        return name_nodes(node.left) + name_nodes(node.right)
    return []


# ------------------------------------------------------------------------------------------------
# evaluation
# ------------------------------------------------------------------------------------------------

_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def evaluate(node: Node, values: Mapping[str, Value]) -> Value:
    """The value of a checked condition; None where a value it needs is missing."""
    if isinstance(node, Number | String):
        return node.value
    if isinstance(node, Name):
        return values.get(node.name)
    if isinstance(node, Unary):
        inner = evaluate(node.operand, values)
        if inner is None:
            return None
        return (not inner) if node.op == "not" else -float(inner)
    if node.op == "and":
        left, right = evaluate(node.left, values), evaluate(node.right, values)
        if left is False or right is False:
            return False
        return None if left is None or right is None else True
    if node.op == "or":
        left, right = evaluate(node.left, values), evaluate(node.right, values)
        if left is True or right is True:
            return True
        return None if left is None or right is None else False
    left, right = evaluate(node.left, values), evaluate(node.right, values)
    if left is None or right is None:
        return None
    if node.op == "==":
        return left == right
    if node.op == "!=":
        return left != right
    a, b = float(left), float(right)
    if node.op == "/":
        return None if b == 0 else a / b
    if node.op in _COMPARE:
        return _COMPARE[node.op](a, b)
    result = _ARITHMETIC[node.op](a, b)
    return result if math.isfinite(result) else None
