"""JSON-RPC ids as dictionary keys (here, so the writer and the reader can share it)."""

from __future__ import annotations

import json
from typing import Any


def id_key(value: Any) -> str:
    """A JSON-RPC id, progress token or request id as a dictionary key: 1 and "1" stay apart, lists and
    objects work."""
    return json.dumps(value, sort_keys=True)
