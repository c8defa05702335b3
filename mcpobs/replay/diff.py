"""Where a server's answer differs from the recorded one: a semantic JSON diff.

Semantic: objects compare by key, whatever their order; numbers by value (``1``
equals ``1.0``); a string that holds a JSON object or array (a tool's result as
text) is parsed and compared as JSON, so reformatting is no difference. Lists
compare item by item. Paths the user names with ``--ignore`` (volatile fields:
timestamps, ids) are left out: ``result.content.*.text``, ``$.result._meta``,
``*`` standing for any key or index. A recorded string that holds ``REDACTED`` (what
mcpobs and the other recorders write in place of a secret) matches whatever the
server answers there: the recording does not know the value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

Change = Literal["changed", "missing", "added"]
REDACTED = "REDACTED"


@dataclass(frozen=True)
class Difference:
    """One place where the answer is not the recording: its path, and both values there."""

    path: str
    change: Change  # changed: both have it; missing: only the recording; added: only the answer
    expected: Any = None
    actual: Any = None

    def __str__(self) -> str:
        if self.change == "missing":
            return f"{self.path}: missing (recorded {_short(self.expected)})"
        if self.change == "added":
            return f"{self.path}: added {_short(self.actual)}"
        return f"{self.path}: {_short(self.expected)} -> {_short(self.actual)}"


def parse_ignore(paths: list[str] | tuple[str, ...]) -> list[list[str]]:
    """``--ignore`` paths as lists of keys (``$.`` optional, ``*`` for any key or index)."""
    out = []
    for path in paths:
        text = path.strip().removeprefix("$").removeprefix(".")
        if not text:
            raise ValueError(f"--ignore {path!r}: an empty path would ignore everything")
        out.append(text.split("."))
    return out


def diff(expected: Any, actual: Any, ignore: list[list[str]] | None = None) -> list[Difference]:
    """Every difference between the recorded and the actual value, in path order."""
    out: list[Difference] = []
    _diff(expected, actual, [], ignore or [], out)
    return out


def _ignored(path: list[str], ignore: list[list[str]]) -> bool:
    return any(
        len(rule) == len(path) and all(r in ("*", p) for r, p in zip(rule, path, strict=True)) for rule in ignore
    )


def _diff(expected: Any, actual: Any, path: list[str], ignore: list[list[str]], out: list[Difference]) -> None:
    if _ignored(path, ignore) or (isinstance(expected, str) and REDACTED in expected and actual is not None):
        return
    expected, actual = _json_text(expected), _json_text(actual)
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys()):
            here = [*path, key]
            if key not in actual:
                if not _ignored(here, ignore):
                    out.append(Difference(_show(here), "missing", expected=expected[key]))
            elif key not in expected:
                if not _ignored(here, ignore):
                    out.append(Difference(_show(here), "added", actual=actual[key]))
            else:
                _diff(expected[key], actual[key], here, ignore, out)
        return
    if isinstance(expected, list) and isinstance(actual, list):
        for index in range(max(len(expected), len(actual))):
            here = [*path, str(index)]
            if index >= len(actual):
                if not _ignored(here, ignore):
                    out.append(Difference(_show(here), "missing", expected=expected[index]))
            elif index >= len(expected):
                if not _ignored(here, ignore):
                    out.append(Difference(_show(here), "added", actual=actual[index]))
            else:
                _diff(expected[index], actual[index], here, ignore, out)
        return
    if not _same(expected, actual):
        out.append(Difference(_show(path), "changed", expected=expected, actual=actual))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _json_text(value: Any) -> Any:
    """A string holding a JSON object or array, parsed; anything else as it is."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                return json.loads(stripped)
            except ValueError:
                return value
    return value


def _show(path: list[str]) -> str:
    return "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"
