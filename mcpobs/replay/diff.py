"""Where a server's answer differs from the recorded one: a semantic JSON diff.

Semantic: objects compare by key, whatever their order; numbers by value (``1``
equals ``1.0``); a string that holds a JSON object or array (a tool's result as
text) is parsed and compared as JSON, so reformatting is no difference. Lists
compare item by item. Paths the user names with ``--ignore`` (volatile fields:
timestamps, ids) are left out, written as the diff prints a path (``$.result.content[0].text``) or
dotted (``result.content.*.text``), ``*`` standing for any key or index. A recorded string that is
``REDACTED`` (what mcpobs and the other recorders write in place of a secret) matches whatever the
server answers there: the recording does not know the value. A string that only holds one (a token
redacted inside a longer text) matches a text that is the same around it: the rest was recorded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

Change = Literal["changed", "missing", "added"]
REDACTED = "REDACTED"
# what the recorders write in place of a secret: mcpobs's "[REDACTED]" and its session digest
# "[REDACTED:sha256:…]", mcp-vcr's "<REDACTED_api_key>", mcp-cassette's bare "REDACTED"
_MARKER = re.compile(r"\[REDACTED(?::[^\]]*)?\]|<REDACTED[^>]*>|REDACTED")


@dataclass(frozen=True)
class Difference:
    """One place where the answer is not the recording: its path, and both values there."""

    path: str
    change: Change  # changed: both have it; missing: only the recording; added: only the answer
    expected: Any = None
    actual: Any = None

    def __str__(self) -> str:
        return self.shown()

    def shown(self, limit: int | None = 60) -> str:
        """The difference as a line, each value cut to ``limit`` characters (whole with None: a changed
        tool description is read in full)."""
        if self.change == "missing":
            return f"{self.path}: missing (recorded {_short(self.expected, limit)})"
        if self.change == "added":
            return f"{self.path}: added {_short(self.actual, limit)}"
        if limit is not None and isinstance(self.expected, str) and isinstance(self.actual, str):
            # two long texts alike at the start: shown from a little before where they part, or
            # both cuts would show the same words and not the difference
            pairs = enumerate(zip(self.expected, self.actual, strict=False))
            common = next((i for i, (a, b) in pairs if a != b), min(len(self.expected), len(self.actual)))
            start = max(common - 10, 0) if common > limit // 2 else 0
            expected, actual = _cut(self.expected, start, limit), _cut(self.actual, start, limit)
            return f"{self.path}: {expected} -> {actual}"
        return f"{self.path}: {_short(self.expected, limit)} -> {_short(self.actual, limit)}"


class Ignore(list[list[str]]):
    """``--ignore`` paths as lists of keys, each noting whether it ever met a path the diff compared
    (so a pattern that matched nothing in a whole run can be told)."""

    def __init__(self, patterns: list[str], paths: list[list[str]]) -> None:
        super().__init__(paths)
        self.patterns = patterns
        self.matched: set[int] = set()

    def unmatched(self) -> list[str]:
        """The patterns that met no path of any answer compared."""
        return [p for i, p in enumerate(self.patterns) if i not in self.matched]


# a path's parts as the diff prints them (``.key``, ``[0]``) and as --ignore also takes them (``*``,
# ``['key']`` for a key with a dot)
_PART = re.compile(r"""\.?([^.\[\]]+)|\[(\d+|\*)\]|\[(['"])(.*?)\3\]""")


def parse_ignore(paths: list[str] | tuple[str, ...]) -> Ignore:
    """``--ignore`` paths as lists of keys, in the syntax the diff prints (``$.result.content[0].text``)
    or dotted (``result.content.*.text``); ``$.`` optional, ``*`` for any key or index."""
    out = []
    for path in paths:
        text = path.strip().removeprefix("$")
        if not text.strip("."):
            raise ValueError(f"--ignore {path!r}: an empty path would ignore everything")
        parts: list[str] = []
        at = 0
        while at < len(text):
            match = _PART.match(text, at)
            if match is None or match.end() == at:
                raise ValueError(f"--ignore {path!r}: cannot read the path at {text[at:]!r}")
            parts.append(next(g for g in (match.group(1), match.group(2), match.group(4)) if g is not None))
            at = match.end()
        out.append(parts)
    return Ignore([*paths], out)


def diff(
    expected: Any, actual: Any, ignore: list[list[str]] | None = None, *, redacted_either: bool = False
) -> list[Difference]:
    """Every difference between the recorded and the actual value, in path order. With
    ``redacted_either`` a redacted string on either side matches (two folds of recorded data, such as
    session states, where either may hold a redacted value)."""
    out: list[Difference] = []
    _diff(expected, actual, [], ignore or [], out, redacted_either)
    return out


def _ignored(path: list[str], ignore: list[list[str]]) -> bool:
    hit = False
    for number, rule in enumerate(ignore):
        if len(rule) == len(path) and all(r in ("*", p) for r, p in zip(rule, path, strict=True)):
            hit = True
            if isinstance(ignore, Ignore):
                ignore.matched.add(number)
    return hit


def _redacted(value: Any) -> bool:
    return isinstance(value, str) and REDACTED in value


def _covers(redacted: Any, other: Any) -> bool:
    """Whether a string with redacted parts stands for ``other``: a value redacted whole stands for
    any; one redacted in part, for a text that is the same outside the redacted parts."""
    if not _redacted(redacted) or other is None:
        return False
    if _MARKER.fullmatch(redacted.strip()):
        return True
    if not isinstance(other, str) or isinstance(_json_text(redacted), dict | list):
        return False  # JSON inside the text: compared as JSON, a redacted value in it matching there
    pattern = ".*?".join(re.escape(part) for part in _MARKER.split(redacted))
    return re.fullmatch(pattern, other, re.DOTALL) is not None


def _diff(
    expected: Any, actual: Any, path: list[str], ignore: list[list[str]], out: list[Difference], either: bool = False
) -> None:
    if _ignored(path, ignore) or _covers(expected, actual) or (either and _covers(actual, expected)):
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
                _diff(expected[key], actual[key], here, ignore, out, either)
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
                _diff(expected[index], actual[index], here, ignore, out, either)
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


def _short(value: Any, limit: int | None = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _cut(text: str, start: int, limit: int) -> str:
    """``text`` from ``start`` as JSON, cut to ``limit`` characters, ``…`` marking each cut end."""
    return ("…" if start else "") + _short(text[start:], limit)
