"""The state a session is in, rebuilt from its requests and the answers they got.

The same fold runs over the recording (the state the session ended in then) and over the replay (the
state it ends in now), so the two can be compared: server name and version, protocol revision,
capabilities and instructions (from ``initialize``, or ``server/discover`` where there is no
handshake), the tools, prompts, resources and resource templates last listed (pages joined), the
resources subscribed to, the log level asked for, the last call that succeeded, and the recovery
point (the step the latest checkpoint was taken after). A replay's subscriptions and log level are
what the server was told since its last recovery; what a recovery did not tell it again is ``lost``.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

from mcpobs.eventlog.otlp import call_target, server_info
from mcpobs.eventlog.reader import params_of
from mcpobs.eventlog.writer import PROTOCOL_META

# the requests that change what a session holds apart from the server's data: a checkpoint follows each
SESSION_METHODS = frozenset({"resources/subscribe", "resources/unsubscribe", "logging/setLevel"})
_LISTS = {  # method → the result's key, and the state's
    "tools/list": ("tools", "tools"),
    "prompts/list": ("prompts", "prompts"),
    "resources/list": ("resources", "resources"),
    "resources/templates/list": ("resourceTemplates", "resource_templates"),
}


@dataclass
class SessionState:
    server_name: str | None = None
    server_version: str | None = None
    protocol_version: str | None = None
    capabilities: dict[str, Any] = field(default_factory=dict)
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    prompts: list[dict[str, Any]] | None = None
    resources: list[dict[str, Any]] | None = None
    resource_templates: list[dict[str, Any]] | None = None
    subscriptions: list[str] = field(default_factory=list)
    log_level: str | None = None
    last_successful_call: dict[str, Any] | None = None
    recovery_point: dict[str, Any] | None = None
    lost: list[dict[str, Any]] = field(default_factory=list)  # what a recovery did not tell the new server

    def apply(self, step: int, request: dict[str, Any], response: dict[str, Any] | None) -> None:
        """Fold one request and its answer (None for a notification or no answer) into the state."""
        method = request.get("method")
        params = params_of(request)
        result = response.get("result") if isinstance(response, dict) else None
        if not isinstance(result, dict) or not isinstance(method, str):
            return
        if method in ("initialize", "server/discover"):
            self._server(result)
        elif method in _LISTS:
            key, attribute = _LISTS[method]
            items = [i for i in result.get(key) or [] if isinstance(i, dict)]
            earlier = getattr(self, attribute) if params.get("cursor") else None
            setattr(self, attribute, (earlier or []) + items)
        elif method == "resources/subscribe" and isinstance(params.get("uri"), str):
            if params["uri"] not in self.subscriptions:
                self.subscriptions.append(params["uri"])
        elif method == "resources/unsubscribe" and params.get("uri") in self.subscriptions:
            self.subscriptions.remove(params["uri"])
        elif method == "logging/setLevel" and isinstance(params.get("level"), str):
            self.log_level = params["level"]
        earlier = self.last_successful_call is None or self.last_successful_call["step"] <= step
        # the last in the recording's order, whichever finished last: calls that overlap end in any order
        if method not in ("ping",) and result.get("isError") is not True and earlier:
            self.last_successful_call = {"step": step, "method": method, "target": call_target(method, params)}

    def _server(self, result: dict[str, Any]) -> None:
        meta: dict[str, Any] = result["_meta"] if isinstance(result.get("_meta"), dict) else {}
        info = server_info(result)
        self.server_name = info.get("name", self.server_name)
        self.server_version = info.get("version", self.server_version)
        version = result.get("protocolVersion") or meta.get(PROTOCOL_META)
        if isinstance(version, str):
            self.protocol_version = version
        versions = result.get("supportedVersions")
        if self.protocol_version is None and isinstance(versions, list) and versions:
            self.protocol_version = str(max(versions))
        if isinstance(result.get("capabilities"), dict):
            self.capabilities = result["capabilities"]
        if isinstance(result.get("instructions"), str):
            self.instructions = result["instructions"]

    def to_json(self) -> dict[str, Any]:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**copy.deepcopy(known))

    def comparable(self) -> dict[str, Any]:
        """The state without what differs between runs by nature (the recovery point, the step numbers)
        or is said apart (what was lost: its absence from the state is what compares)."""
        data = self.to_json()
        data.pop("recovery_point")
        data.pop("lost")
        if data["last_successful_call"]:
            data["last_successful_call"].pop("step")
        return data
