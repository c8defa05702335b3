"""A lock file of accepted definitions: written once, then checked on every run.

A server that changes a tool's description or schema after it was approved can
steer the agents that use it (a "rug pull"): the lock keeps, per server, each
definition's locked fields (:data:`~mcpobs.catalog.definitions.LOCKED`) and their
hash, as YAML that a review reads and diffs. A check fails on a definition whose
hash changed (and says which fields changed) and on one the lock has not accepted
(a new tool, a new server); a definition no longer advertised is a warning; a
server the inputs do not show is not checked, but a check whose inputs show none of
the locked servers fails: it checked nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mcpobs.catalog.definitions import KINDS, Definition, canonical, digest_of
from mcpobs.errors import UsageError
from mcpobs.eventlog.redact import SCHEMA_MAPS
from mcpobs.findings import Finding, Findings, Status
from mcpobs.replay.diff import diff

VERSION = 1
HEADER = (
    "# mcpobs tools lock: the tool, prompt and resource definitions accepted, per server.\n"
    "# Checked by `mcpobs tools FILES --baseline THIS_FILE`; `--update` accepts what changed.\n"
)
# kind -> its key in the lock file
SECTIONS = {"tool": "tools", "prompt": "prompts", "resource": "resources", "resource template": "resource_templates"}
_KIND_OF = {section: kind for kind, section in SECTIONS.items()}


@dataclass(frozen=True)
class Locked:
    """One accepted definition, and the line of the lock file it starts on."""

    digest: str
    definition: dict[str, Any]
    line: int


# server -> kind -> name -> what was accepted
Lock = dict[str, dict[str, dict[str, Locked]]]


def lock_of(definitions: Iterable[Definition]) -> Lock:
    """The lock that accepts ``definitions`` (a definition seen in several versions: its last)."""
    lock: Lock = {}
    for d in definitions:
        lock.setdefault(d.server, {}).setdefault(d.kind, {})[d.name] = Locked(d.digest, d.locked, 0)
    return lock


def lock_text(lock: Lock) -> str:
    """The lock as the YAML file holds it: servers, kinds and names sorted, so a change is a small diff."""
    servers = {
        server: {
            SECTIONS[kind]: {
                name: {"sha256": entry.digest.removeprefix("sha256:"), "definition": entry.definition}
                for name, entry in sorted(kinds[kind].items())
            }
            for kind in KINDS
            if kinds.get(kind)
        }
        for server, kinds in sorted(lock.items())
    }
    body = yaml.safe_dump({"version": VERSION, "servers": servers}, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def read_lock(path: Path) -> Lock:
    """A lock file as written by :func:`lock_text`; anything else is a usage error naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read the lock file: {getattr(e, 'strerror', None) or e}") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UsageError(f"{where}: not a lock file: {getattr(e, 'problem', e)}") from None
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or document.get("version") != VERSION or not isinstance(root, yaml.MappingNode):
        # --update does not overwrite a file that is not a lock either
        raise UsageError(f"{path}: not an mcpobs tools lock of version {VERSION}: name a lock file, or a new one")
    lock: Lock = {}
    servers = _child(root, "servers")
    for server_node, kinds_node in _mapping(path, servers, "servers"):
        server = str(server_node.value)
        for section_node, names_node in _mapping(path, kinds_node, f"server {server!r}"):
            kind = _KIND_OF.get(section_node.value)
            if kind is None:
                line = section_node.start_mark.line + 1
                raise UsageError(f"{path}:{line}: unknown section {section_node.value!r} of server {server!r}")
            for name_node, _ in _mapping(path, names_node, f"{section_node.value} of server {server!r}"):
                entry = document["servers"][server][section_node.value][name_node.value]
                if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
                    line = name_node.start_mark.line + 1
                    raise UsageError(f"{path}:{line}: {kind} {name_node.value!r} has no sha256")
                locked = Locked(
                    "sha256:" + entry["sha256"], entry.get("definition") or {}, name_node.start_mark.line + 1
                )
                # a review reads the definition and the check the hash: they must say the same
                if not isinstance(locked.definition, dict) or digest_of(locked.definition) != locked.digest:
                    raise UsageError(
                        f"{path}:{locked.line}: {kind} {name_node.value!r}: its sha256 is not the hash of its"
                        " definition (edited by hand?): remove the entry and accept it again with --update"
                    )
                lock.setdefault(server, {}).setdefault(kind, {})[str(name_node.value)] = locked
    return lock


def _mapping(path: Path, node: yaml.Node | None, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
    """The entries of a mapping of the lock (none when it is empty); anything else is not a lock's."""
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        return []
    if not isinstance(node, yaml.MappingNode):
        raise UsageError(f"{path}:{node.start_mark.line + 1}: {what} must be a mapping of names")
    return list(node.value)


def _child(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    return next((value for k, value in node.value if k.value == key), None)


def check(lock: Lock, definitions: list[Definition], path: str) -> Findings:
    """Each definition seen against the lock; each accepted one the inputs no longer show (of a server
    and kind they list); each locked server they do not show at all."""
    findings: list[Finding] = []
    seen: dict[tuple[str, str], set[str]] = {}
    versions: dict[tuple[str, str, str, str], Definition] = {}
    for d in definitions:  # one finding a version, whatever revisions advertised it
        versions.setdefault((d.server, d.kind, d.name, d.digest), d)
    for d in versions.values():
        seen.setdefault((d.server, d.kind), set()).add(d.name)
        subject = f"{d.server} {d.kind} {d.name}"
        accepted = lock.get(d.server, {}).get(d.kind, {}).get(d.name)
        if accepted is None:
            why = f"the lock has no server {d.server}" if d.server not in lock else f"the lock has no such {d.kind}"
            findings.append(Finding(f"{d.kind} added", subject, f"not accepted: {why}", Status.FAIL, file=path))
            continue
        unseen = unrecorded(accepted.definition) | unrecorded(d.locked)
        if changed(accepted, d, unseen):
            fields, details = changes(accepted, d, unseen)
            message = f"changed since it was accepted: {fields} (in {d.source})"
            findings.append(Finding(f"{d.kind} changed", subject, message, Status.FAIL, details, path, accepted.line))
        elif unseen:
            message = f"as accepted, but for what a recording's maker redacted, not checked: {shown_paths(unseen)}"
            findings.append(Finding(f"{d.kind} partly checked", subject, message, Status.WARN, (), path, accepted.line))
        else:
            findings.append(Finding(f"{d.kind} unchanged", subject, "as accepted", Status.OK, file=path))
    servers = {server for server, _ in seen}
    # a check that saw none of the locked servers checked nothing (a server that did not start, the
    # wrong files): passing it would keep a CI gate green over servers it never saw
    none_seen = not servers & lock.keys()
    for server, kinds in sorted(lock.items()):
        if server not in servers:
            if none_seen:
                message = "the inputs hold no list result of it, nor of any locked server: nothing was checked"
                findings.append(Finding("server not seen", server, message, Status.FAIL, file=path))
            else:
                findings.append(Finding("server not seen", server, "the inputs hold no list result of it", Status.SKIP))
            continue
        for kind, names in kinds.items():
            if (server, kind) not in seen:
                continue  # not listed in these inputs: nothing says it is gone
            for name, accepted in sorted(names.items()):
                if name not in seen[(server, kind)]:
                    message = "accepted, no longer advertised"
                    findings.append(
                        Finding(
                            f"{kind} removed", f"{server} {kind} {name}", message, Status.WARN, (), path, accepted.line
                        )
                    )
    return Findings(f"mcpobs tools --baseline {path}", findings)


def changes(
    accepted: Locked, definition: Definition, unseen: frozenset[Path_] = frozenset()
) -> tuple[str, tuple[str, ...]]:
    """What changed from an accepted definition (``unseen`` paths left out): the fields, and each
    difference as a line with the values whole."""
    found = diff(_masked(accepted.definition, unseen), _masked(definition.locked, unseen))
    fields = sorted({c.path.removeprefix("$.").split(".")[0].split("[")[0] for c in found})
    return ", ".join(fields) or "its hash", tuple(c.shown(None) for c in found)


# A place in a definition, as the keys that lead to it.
Path_ = tuple[str, ...]
_UNSEEN = "<not recorded>"


def unrecorded(definition: dict[str, Any]) -> frozenset[Path_]:
    """The places where a recording's maker put a string instead of a parameter's JSON Schema
    (mcp-cassette's ``"REDACTED"``, mcp-vcr's ``"<REDACTED_api_key>"`` for an ``api_key`` property):
    a schema is an object or a boolean, never a string, so the recording does not hold what the server
    advertised there. Compared as they are, such a place fails a lock written from another recording
    of the same server, and hides any change to it from a lock written from such a recording."""
    found: set[Path_] = set()

    def walk(value: Any, at: Path_) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, (*at, str(i)))
        elif isinstance(value, dict):
            for key, item in value.items():
                if key in SCHEMA_MAPS and isinstance(item, dict):
                    found.update((*at, key, name) for name, schema in item.items() if isinstance(schema, str))
                walk(item, (*at, key))

    for field in ("inputSchema", "outputSchema"):
        walk(definition.get(field), (field,))
    return frozenset(found)


def unrecorded_notes(definitions: Iterable[Definition]) -> list[str]:
    """A line for each definition whose recording does not hold all of it (:func:`unrecorded`)."""
    notes = []
    for d in definitions:
        unseen = unrecorded(d.locked)
        if unseen:
            notes.append(
                f"{d.source}: {d.server} {d.kind} {d.name}: the recording's maker put a placeholder where the "
                f"server advertised a parameter's schema ({shown_paths(unseen)}): its tokens and hash count the "
                "placeholder, and a lock check leaves it out"
            )
    return notes


def _masked(value: Any, unseen: frozenset[Path_], at: Path_ = ()) -> Any:
    """``value`` with each of the ``unseen`` places it has replaced by one placeholder (never added)."""
    if not unseen:
        return value
    if isinstance(value, dict):
        return {k: _UNSEEN if (*at, k) in unseen else _masked(v, unseen, (*at, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, unseen, (*at, str(i))) for i, v in enumerate(value)]
    return value


def changed(accepted: Locked, definition: Definition, unseen: frozenset[Path_]) -> bool:
    """Whether ``definition`` differs from the accepted one, the ``unseen`` places left out."""
    if not unseen:
        return accepted.digest != definition.digest
    return canonical(_masked(accepted.definition, unseen)) != canonical(_masked(definition.locked, unseen))


def shown_paths(paths: frozenset[Path_]) -> str:
    """Places as the diff prints them: ``$.inputSchema.properties.api_key``."""
    return ", ".join(sorted("$." + ".".join(p) for p in paths))


def updated(lock: Lock, definitions: list[Definition]) -> Lock:
    """The lock accepting ``definitions``: each server and kind they list is replaced by what they show;
    the others stay as accepted."""
    fresh = lock_of(definitions)
    merged: Lock = {server: dict(kinds) for server, kinds in lock.items()}
    for server, kinds in fresh.items():
        merged.setdefault(server, {}).update(kinds)
    return merged
