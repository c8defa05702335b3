"""Redaction before disk: secrets in messages and headers become ``"[REDACTED]"``.

An HTTP header whose name holds ``token``, ``secret``, ``key``, ``auth``, ``pass``, ``pwd``,
``session``, ``cookie``, ``credential`` or ``signature`` loses its value whole, but
``Mcp-Session-Id``, which becomes a digest (:meth:`Redactor.session_id`) so that sessions still
group, and ``Mcp-Param-<name>``, a tool argument mirrored in a header, which goes by the
argument's name as in the message.

A name (a JSON key, a URL's query parameter, ``NAME=value`` in a server's stderr or arguments)
names a secret by :func:`secret_name`: split into words (``db_password``, ``apiKey``,
``X-Api-Key``), one of them is a secret word. Header names take any word *inside* them, since
their values are never sent again; a JSON key's value may be (a replay sends the recorded
request), so ``keyword``, ``author`` or ``sort_key`` must stay.

Three kinds of rule, applied in this order to every message:

* a key that names a secret: its value is replaced whole;
* a user's JSON path (``params.arguments.email``, ``*`` for any key or index):
  the value there is replaced whole, whatever its type;
* a pattern that looks like a credential (``Bearer …``, ``sk-…``, ``ghp_…``,
  AWS access key ids, JWTs, …) or a user's regex: the match inside any string
  is replaced, the text around it kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

REDACTED = "[REDACTED]"

# HTTP headers whose values are credentials: any whose name holds one of these words.
SECRET_HEADER_WORDS = (
    "token", "secret", "key", "auth", "pass", "pwd", "session", "cookie", "credential", "signature"
)  # fmt: skip
# Mcp-Session-Id bears the session on HTTP, so it is a secret too; but its digest stands in for it
# (SESSION_DIGEST), so that a log's messages still group by session.
SESSION_HEADER = "mcp-session-id"
# Challenges, not credentials (RFC 9110 §11.6.1): the scheme, error and resource metadata URL a server
# asks credentials with, which say why a client was refused. Credential-looking text in them is redacted.
CHALLENGE_HEADERS = ("www-authenticate", "proxy-authenticate")
SESSION_DIGEST = "[REDACTED:sha256:{}]"  # the first 16 hex digits of the SHA-256 of the value
# Mcp-Param-<name>: a tool argument mirrored in a header (2026-07-28), redacted by its argument's name.
PARAM_HEADER = "mcp-param-"
# Names written as one word that name a secret, compared lower-case without - and _ ("apikey").
SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "clientsecret",
        "apikey",
        "apitoken",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "authtoken",
        "bearertoken",
        "authorization",
        "privatekey",
        "token",
        "sessiontoken",
        "credential",
        "credentials",
        "xapikey",
        "cookie",
        "setcookie",
    }
)
# Names written as one word (DBPASSWORD, myapikey) that end in these name secrets too.
SECRET_ENDINGS = ("password", "passwd", "passphrase", "secret", "apikey", "privatekey", "accesstoken")
# Words that make a name a secret's, wherever they stand in it (db_password, OPENAI_API_KEY → api key).
SECRET_WORDS = frozenset(
    {
        "password",
        "passwords",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "credential",
        "credentials",
        "cookie",
        "cookies",
        "auth",
        "oauth",
        "authorization",
        "signature",
        "apikey",
        "apikeys",
        "privatekey",
    }
)
# "key" alone is most often no secret (sort_key, partition_key, {"key": ..., "value": ...}): only after these.
KEY_QUALIFIERS = frozenset(
    {"api", "secret", "private", "access", "signing", "encryption", "decryption", "master", "ssh", "client",
     "auth", "session", "app", "account", "service", "license", "hmac", "gpg", "pgp", "rsa", "aes", "shared"}
)  # fmt: skip
# A token for paging through results is no secret, and a replay must send it as it was; nor is a
# request's progressToken, which ties each progress notification to its request.
PAGING_WORDS = frozenset({"page", "next", "continuation", "pagination", "sync", "resume", "progress"})
# A name that ends in one of these says something about a secret, not the secret (token_count, auth_type).
DESCRIPTIVE_WORDS = frozenset(
    {"count", "counts", "total", "length", "len", "size", "limit", "max", "min", "rate", "usage", "budget",
     "type", "kind", "name", "method", "scheme", "url", "uri", "endpoint", "expiry", "expires", "expiration",
     "ttl", "required", "enabled"}
)  # fmt: skip
# A name's words: split on anything but letters and digits, and where camelCase changes case.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# A URL's query parameter (?name=value&…), and NAME=value or NAME: value in free text (stderr, arguments)
_QUERY_PARAM = re.compile(r"(?<=[?&;])([^=&#\s?;]+)=([^&#\s\"'<>;]*)")
_PAIR = re.compile(r"(?<![\w.])([A-Za-z][\w.-]*)([\"']?[ \t]*[=:][ \t]*)(\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)")
# Strings that look like credentials wherever they stand.
CREDENTIAL_PATTERNS: dict[str, str] = {
    # a token has a digit or a symbol somewhere: "Bearer authentication" is prose
    "bearer token": r"\b(?i:bearer)\s+(?=[A-Za-z]*[0-9\-._~+/])[A-Za-z0-9\-._~+/]{8,}=*",
    "OpenAI/Anthropic-style key": r"\bsk-[A-Za-z0-9_\-]{16,}",
    "GitHub token": r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})",
    "Slack token": r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
    "AWS access key id": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "Google API key": r"\bAIza[0-9A-Za-z_\-]{35}",
    "JSON Web Token": r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    # the user information of a URL (https://user:password@host), to the last @ before the host (a
    # password may hold one): the host and path are kept
    "URL credentials": r"(?<=://)[^\s/?#\[\]]+(?=@[^\s/?#@]*(?:[/?#\s]|$))",
    # a PEM private key, whole; one cut short, to the end of the string
    "PEM private key": r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
}


def session_digest(value: str) -> str:
    """An ``Mcp-Session-Id`` redacted: ``[REDACTED:sha256:<first 16 hex digits of its SHA-256>]``."""
    return SESSION_DIGEST.format(hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:16])


# a session id this long is its own in a text; a shorter one ("1") could be any word or number there
_SESSION_IN_TEXT = 8
_SESSION_DIGEST = re.compile(re.escape(SESSION_DIGEST).replace(re.escape("{}"), "([0-9a-f]+)"))


def digest_of(session_id: str) -> str | None:
    """The hex digest of a session id as :func:`session_digest` writes it; None for an id not redacted."""
    match = _SESSION_DIGEST.fullmatch(session_id)
    return match.group(1) if match else None


def _norm(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


def secret_name(name: str) -> bool:
    """Whether a name (a JSON key, a query parameter, ``NAME=`` in text) names a secret: written as one
    word it is one of :data:`SECRET_KEYS`, or one of its words is a secret word (``key`` after a
    qualifier such as ``api``; ``token`` not after a paging word), unless its last word is descriptive."""
    if _norm(name) in SECRET_KEYS or _norm(name).endswith(SECRET_ENDINGS):
        return True
    words = [w.lower() for w in _WORD.findall(name)]
    if not words or words[-1] in DESCRIPTIVE_WORDS:
        return False
    for i, word in enumerate(words):
        before = words[i - 1] if i else ""
        if word == "token" and before in PAGING_WORDS:
            continue
        if word in SECRET_WORDS or (word in ("key", "keys") and before in KEY_QUALIFIERS):
            return True
    return False


@dataclass
class Redactor:
    """The rules in force for one recording; ``enabled=False`` writes messages as they are."""

    enabled: bool = True
    paths: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()
    _paths: list[list[str]] = field(init=False, repr=False)
    _patterns: list[re.Pattern[str]] = field(init=False, repr=False)
    # the Mcp-Session-Id values met so far: a server that names its session in a body (a tool's text,
    # a log message) would otherwise put on disk the bearer value the header's digest stands for
    _sessions: dict[str, str] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._paths = [path.removeprefix("$.").split(".") for path in self.paths]
        # the built-in patterns as one alternation (one pass); each user regex on its own, since it may
        # carry flags such as (?i) that only stand at the start of a pattern
        builtin = "|".join(f"(?:{p})" for p in CREDENTIAL_PATTERNS.values())
        self._patterns = [re.compile(builtin), *map(re.compile, self.regexes)] if self.enabled else []

    @classmethod
    def checked(cls, enabled: bool, paths: Iterable[str], regexes: Iterable[str]) -> Redactor:
        """A redactor from the user's options; :class:`ValueError` names a regex that does not compile."""
        for regex in regexes:
            try:
                re.compile(regex)
            except re.error as e:
                raise ValueError(f"--redact-regex {regex!r}: {e}") from None
        return cls(enabled, tuple(paths), tuple(regexes))

    def describe(self) -> dict[str, Any]:
        """What the header of a log says of its redaction."""
        if not self.enabled:
            return {"enabled": False, "rules": []}
        rules = [
            "headers: names holding " + ", ".join(SECRET_HEADER_WORDS),
            f"header {SESSION_HEADER}: {SESSION_DIGEST.format('<digest>')}",
            f"headers {PARAM_HEADER}*: as the argument's key",
            "keys: " + ", ".join(sorted(SECRET_KEYS)),
            "keys ending in: " + ", ".join(SECRET_ENDINGS),
            "keys with a word: " + ", ".join(sorted(SECRET_WORDS)),
            "keys with key after: " + ", ".join(sorted(KEY_QUALIFIERS)),
            "keys not ending in: " + ", ".join(sorted(DESCRIPTIVE_WORDS)),
            "URL query parameters, NAME=value in stderr and the server's arguments: as keys",
            *(f"pattern: {name}" for name in CREDENTIAL_PATTERNS),
            *(f"path: {p}" for p in self.paths),
            *(f"regex: {r}" for r in self.regexes),
        ]
        return {"enabled": True, "replacement": REDACTED, "rules": rules}

    def headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """HTTP headers with credentials replaced."""
        if not self.enabled:
            return list(headers)
        return [(k, self._header(k, v)) for k, v in headers]

    def session_id(self, value: str) -> str:
        """An ``Mcp-Session-Id`` as the log keeps it: ``[REDACTED:sha256:<16 hex digits>]``, the same for
        the same session, so a reader still tells sessions apart without holding their bearer value."""
        if not self.enabled:
            return value
        digest = session_digest(value)
        if len(value) >= _SESSION_IN_TEXT:
            self._sessions[value] = digest
        return digest

    def _header(self, name: str, value: str) -> str:
        lower = name.lower()
        if lower == SESSION_HEADER:
            return self.session_id(value)
        if lower.startswith(PARAM_HEADER):
            # a tool argument mirrored in a header: redacted as that argument is in the body, so that
            # a replay sends the header and the body alike (a server refuses them differing: -32020);
            # the name's own case, since camelCase splits its words
            return REDACTED if secret_name(name[len(PARAM_HEADER) :]) else self.text(value)
        if any(word in lower for word in SECRET_HEADER_WORDS) and lower not in CHALLENGE_HEADERS:
            return REDACTED
        return self.text(value)

    def text(self, value: str) -> str:
        """A string with every credential-looking match replaced, and the values of a URL's query
        parameters that name secrets (``?api_key=…``)."""
        for pattern in self._patterns:
            value = pattern.sub(REDACTED, value)
        for session, digest in self._sessions.items():
            value = value.replace(session, digest)
        if self.enabled and "=" in value:
            value = _QUERY_PARAM.sub(_redact_pair, value)
        return value

    def line(self, value: str) -> str:
        """Free text (a server's stderr line, an argument of its command): :meth:`text`, and the value
        of every ``NAME=value`` or ``NAME: value`` whose name names a secret (``DB_PASSWORD=…``,
        ``X-Api-Key: …``, ``--password=…``)."""
        value = self.text(value)
        return _PAIR.sub(_redact_pair, value) if self.enabled else value

    def command(self, parts: Iterable[str]) -> list[str]:
        """A server's command line as :meth:`line` has each part, and the part after an option that
        names a secret and has no ``=`` (``--password hunter2``)."""
        out: list[str] = []
        for part in parts:
            after_secret_option = (
                self.enabled and bool(out) and out[-1].startswith("-") and "=" not in out[-1] and secret_name(out[-1])
            )
            out.append(REDACTED if after_secret_option else self.line(part))
        return out

    def message(self, message: Any) -> tuple[Any, bool]:
        """The message with its secrets replaced, and whether anything was (the input is not changed)."""
        if not self.enabled:
            return message, False
        out = self._walk(message)
        for path in self._paths:
            out = _replace_path(out, path)
        return out, out != message

    def _walk(self, value: Any, names: bool = False) -> Any:
        if isinstance(value, str):
            return self._string(value)
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, dict):
            # under a key that names a secret, the whole value goes, whatever it is (an object of credentials)
            # (but null and true/false, which hold no secret: "pass": true is a test's outcome); the keys
            # of a JSON Schema's properties (``names``) are parameters' names, their values schemas
            return {
                k: REDACTED
                if not names and v is not None and not isinstance(v, bool) and secret_name(k)
                else self._walk(v, _names_schemas(value, k))
                for k, v in value.items()
            }
        return value

    def _string(self, value: str) -> str:
        """A string, and JSON inside it (a tool's result as text): its secret keys are redacted too."""
        stripped = value.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                inner = json.loads(stripped)
            except ValueError:
                return self.text(value)
            redacted = self._walk(inner)
            if redacted != inner:
                return json.dumps(redacted, ensure_ascii=False, indent=2 if "\n" in stripped else None)
        return self.text(value)


# The keywords of a JSON Schema whose object maps names (of parameters, of definitions) to schemas.
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")


def _names_schemas(parent: dict[str, Any], key: str) -> bool:
    """Whether ``parent[key]`` maps names to JSON Schemas: a tool's ``inputSchema`` or ``outputSchema``
    properties, an elicitation's ``requestedSchema``. Its parent is an object schema and every value in
    it is a schema (an object, or true/false): an argument that only looks so (``{"type": "object",
    "properties": {"password": "hunter2"}}``) holds a string and is redacted as any other."""
    mapped = parent.get(key)
    return (
        key in SCHEMA_MAPS
        and parent.get("type") == "object"
        and isinstance(mapped, dict)
        and all(isinstance(v, dict | bool) for v in mapped.values())
    )


def _redact_pair(match: re.Match[str]) -> str:
    """A ``name=value`` match (or ``name: value``) with its value redacted if the name names a secret."""
    value = match.lastindex or 0
    if match[value] in ("", REDACTED) or not secret_name(match[1]):
        return match[0]
    quote = match[value][0] if match[value][0] in "\"'" else ""
    return match[0][: match.start(value) - match.start()] + quote + REDACTED + quote


def _replace_path(value: Any, path: list[str]) -> Any:
    if not path:
        return REDACTED
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: _replace_path(v, rest) if head in ("*", k) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_path(v, rest) if head in ("*", str(i)) else v for i, v in enumerate(value)]
    return value
