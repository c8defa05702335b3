"""mcpobs.yaml: the model's defaults, overrides, every problem at its line, and the backoff schedule."""

from __future__ import annotations

import random

import pytest

from mcpobs.errors import ExitCode, exit_code_for
from mcpobs.replay.config import ConfigError, ReplayConfig, backoff_delays, parse_config

MODEL = """\
timeout_handling:
  tool_call_timeout_ms: 30000
  session_timeout_ms: 300000
  retry_backoff_ms: 1000
  max_retries: 3
  error_threshold: 0.05
session_recovery:
  enabled: true
  mode: checkpoint   # checkpoint | event_log | hybrid
  checkpoint_interval: 60
  max_checkpoints: 10
tool_config:
  max_concurrent: 5
"""


def test_the_models_file_is_the_defaults() -> None:
    assert parse_config(MODEL) == ReplayConfig()
    assert parse_config("") == ReplayConfig()


def test_overrides_keep_the_rest() -> None:
    config = parse_config("timeout_handling:\n  max_retries: 5\nsession_recovery:\n  mode: hybrid\n")
    assert config.timeout_handling.max_retries == 5
    assert config.timeout_handling.tool_call_timeout_ms == 30_000
    assert config.session_recovery.mode == "hybrid"
    assert config.tool_config.max_concurrent == 5


def test_every_problem_at_once() -> None:
    text = (
        "timeout_handling:\n"
        "  max_retries: lots\n"
        "  error_threshold: 2\n"
        "  tool_call_timeout: 5\n"
        "session_recovery:\n"
        "  enabled: yes please\n"
        "  mode: sometimes\n"
        "tool_config:\n"
        "  max_concurrent: 0\n"
        "replay: {}\n"
    )
    with pytest.raises(ConfigError) as error:
        parse_config(text, "m.yaml")
    assert exit_code_for(error.value) is ExitCode.USAGE
    assert error.value.lines() == [
        "m.yaml:2:16: timeout_handling.max_retries must be a whole number of 0 or more, not 'lots'",
        "m.yaml:3:20: timeout_handling.error_threshold must be a fraction from 0 to 1, not '2'",
        "m.yaml:4:3: unknown key 'tool_call_timeout' in timeout_handling: expected tool_call_timeout_ms, "
        "session_timeout_ms, retry_backoff_ms, max_retries, error_threshold",
        "m.yaml:6:12: session_recovery.enabled must be true or false, not 'yes please'",
        "m.yaml:7:9: session_recovery.mode 'sometimes' is not one of checkpoint, event_log, hybrid",
        "m.yaml:9:19: tool_config.max_concurrent must be more than 0",
        "m.yaml:10:1: unknown section 'replay': expected timeout_handling, session_recovery, tool_config",
    ]


def test_backoff_doubles_with_jitter() -> None:
    delays = backoff_delays(ReplayConfig().timeout_handling, random.Random(7))
    assert len(delays) == 3
    for n, delay in enumerate(delays):
        assert 0.75 * 2**n <= delay <= 1.25 * 2**n
    assert delays != backoff_delays(ReplayConfig().timeout_handling, random.Random(8))


def test_no_retries_and_no_recoveries_are_choices() -> None:
    config = parse_config("timeout_handling:\n  max_retries: 0\nsession_recovery:\n  max_recoveries: 0\n")
    assert config.timeout_handling.max_retries == 0
    assert config.session_recovery.max_recoveries == 0
    with pytest.raises(ConfigError, match="max_concurrent must be more than 0"):
        parse_config("tool_config:\n  max_concurrent: 0\n")
