"""The replay's resilience settings: ``mcpobs.yaml``, with the observability model's defaults.

::

    timeout_handling:
      tool_call_timeout_ms: 30000   # a call with no answer by then is cancelled and retried
      session_timeout_ms: 300000    # bounds the whole run
      retry_backoff_ms: 1000        # first retry after 1 s, then 2 s, 4 s, … (with jitter)
      max_retries: 3
      error_threshold: 0.05         # past this error rate the replay stops retrying and reports
    session_recovery:
      enabled: true
      mode: checkpoint              # checkpoint | event_log | hybrid
      checkpoint_interval: 60       # seconds
      max_checkpoints: 10
      max_recoveries: 3             # past this many: plain timeouts, no retries (fail fast)
    tool_config:
      max_concurrent: 5

Every section and key is optional; a missing one takes the default above. The
file is checked whole, and every problem reported at once as ``FILE:LINE:COL``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from mcpobs.yamldoc import Problem, ProblemsError, Reader, read_text

MODES = ("checkpoint", "event_log", "hybrid")
_MAY_BE_ZERO = (".max_retries", ".max_recoveries")  # counts where none is a choice


@dataclass(frozen=True)
class TimeoutHandling:
    tool_call_timeout_ms: int = 30_000
    session_timeout_ms: int = 300_000
    retry_backoff_ms: int = 1_000
    max_retries: int = 3
    error_threshold: float = 0.05


@dataclass(frozen=True)
class SessionRecovery:
    enabled: bool = True
    mode: str = "checkpoint"
    checkpoint_interval: int = 60
    max_checkpoints: int = 10
    max_recoveries: int = 3


@dataclass(frozen=True)
class ToolConfig:
    max_concurrent: int = 5


@dataclass(frozen=True)
class ReplayConfig:
    """The three sections of ``mcpobs.yaml``."""

    timeout_handling: TimeoutHandling = field(default_factory=TimeoutHandling)
    session_recovery: SessionRecovery = field(default_factory=SessionRecovery)
    tool_config: ToolConfig = field(default_factory=ToolConfig)


class ConfigError(ProblemsError):
    """A config file with problems: all of them, a line each."""


_SECTIONS: dict[str, type[Any]] = {
    "timeout_handling": TimeoutHandling,
    "session_recovery": SessionRecovery,
    "tool_config": ToolConfig,
}


def load_config(path: Path) -> ReplayConfig:
    """Read ``mcpobs.yaml``; :class:`ConfigError` lists every problem in it."""
    return parse_config(read_text(path, "config file"), str(path))


def parse_config(text: str, path: str = "mcpobs.yaml") -> ReplayConfig:
    """Check the text of a config file against the sections and their types."""
    problems: list[Problem] = []
    reader = Reader(path, problems)
    root = reader.compose(text)
    config = ReplayConfig()
    if root is not None:
        for key, value in reader.mapping(root, "the config file"):
            section = _SECTIONS.get(key.value)
            if section is None:
                reader.problem(key, f"unknown section {key.value!r}: expected {', '.join(_SECTIONS)}")
                continue
            read = _section(reader, value, key.value, section)
            config = replace(config, **{key.value: read})
    if problems:
        raise ConfigError(problems)
    return config


def _section(reader: Reader, node: yaml.Node, name: str, section: type[Any]) -> Any:
    defaults = section()
    known = {f.name: f for f in fields(section)}
    values: dict[str, Any] = {}
    for key, value in reader.mapping(node, name):
        if key.value not in known:
            reader.problem(key, f"unknown key {key.value!r} in {name}: expected {', '.join(known)}")
            continue
        read = _value(reader, value, f"{name}.{key.value}", getattr(defaults, key.value))
        if read is not None:
            values[key.value] = read
    return replace(defaults, **values)


def _value(reader: Reader, node: yaml.Node, what: str, default: Any) -> Any:
    text = node.value if isinstance(node, yaml.ScalarNode) else None
    if isinstance(default, bool):
        if text in ("true", "false"):
            return text == "true"
        reader.problem(node, f"{what} must be true or false, not {text!r}")
    elif isinstance(default, int):
        number = reader.count(node, what)
        if number is not None and (number > 0 or (number == 0 and what.endswith(_MAY_BE_ZERO))):
            return number
        if number == 0:
            reader.problem(node, f"{what} must be more than 0")
    elif isinstance(default, float):
        try:
            fraction = float(str(text))
        except ValueError:
            fraction = -1.0
        if 0 <= fraction <= 1:
            return fraction
        reader.problem(node, f"{what} must be a fraction from 0 to 1, not {text!r}")
    elif what.endswith(".mode"):
        if text in MODES:
            return text
        reader.problem(node, f"{what} {text!r} is not one of {', '.join(MODES)}")
    return None


def backoff_delays(config: TimeoutHandling, rng: random.Random | None = None) -> list[float]:
    """The waits before each retry, in seconds: retry_backoff_ms doubled each time (1 s, 2 s, 4 s …),
    each with up to a quarter of it added or taken away at random, so retries do not march in step."""
    rng = rng or random.Random()
    base = config.retry_backoff_ms / 1000
    return [base * 2**n * (1 + rng.uniform(-0.25, 0.25)) for n in range(config.max_retries)]
