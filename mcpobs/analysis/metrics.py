"""The figures alert rules compare, each a column of an analysis section: one list shared with analyze.

A metric is measured per *scope*: ``global`` (one group per side), ``tool``,
``server`` or ``session`` (a group per side and name), ``concurrency`` (a group per
side, server and bucket of calls in flight), or ``model`` (a group per model of the
LLM calls). Each scope reads the figure from the section that
groups that way, so a rule on ``error_rate`` per tool sees exactly the number
``mcpobs analyze`` prints in that tool's row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from mcpobs.analysis.arguments import ARGUMENT_FIGURES
from mcpobs.analysis.model import Column, Query, Table, Unit
from mcpobs.analysis.queries import CALL_FIGURES, SECTIONS, SESSION_FIGURES, session_figures, unnamed_servers
from mcpobs.analysis.sql import IN_FLIGHT_GROUPINGS, Calls, filters
from mcpobs.cost import CostOptions, build
from mcpobs.expr import Binary, Node, evaluate

SCOPES = ("global", "tool", "server", "session", "concurrency", "model")
CALL_SCOPES = ("global", "tool", "server", "session", "concurrency")
# A session's figures are counted on its calls of a group: calls in flight are no such group.
SESSION_SCOPES = ("global", "tool", "server", "session")
# The analyze grouping each call scope reads (global: none).
_SCOPE_BY = {"global": (), "model": (), "concurrency": ("server", "concurrency")}
# The fields a filter may read: a call's for the call scopes, an LLM call's for the model scope.
MODEL_FIELDS = ("model", "provider")

# One group of a scope: its key columns and their values, e.g. (("side", "client"), ("tool", "search")).
Group = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Metric:
    """A figure a rule can name: what it means, and where each scope reads it (section, column)."""

    name: str
    unit: Unit
    description: str
    sources: Mapping[str, tuple[str, str]]

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(s for s in SCOPES if s in self.sources)


def _from(column: Column, section: str, name: str = "", scopes: tuple[str, ...] = CALL_SCOPES) -> Metric:
    sources = {scope: (section, column.name) for scope in scopes}
    return Metric(name or column.name, column.unit, column.description, sources)


_SESSION_NAMES = {
    "session_recovery_max": "session_recovery",
    "duration_p50_ms": "session_duration_p50_ms",
    "duration_p95_ms": "session_duration_p95_ms",
    "duration_max_ms": "session_duration_max_ms",
}


# The argument section's figures a rule may name (tool_calls and the shapes count are no alert's).
_ARGUMENT_METRICS = (
    *("arguments_recorded", "arguments_checked", "invalid_arguments", "invalid_argument_rate"),
    *("results_checked", "invalid_results", "invalid_result_rate"),
)

# A cost section -> the scopes that read it.
_COST_SECTIONS = {
    "cost": ("global",),
    "call_cost": ("tool", "server", "session"),
    "models": ("model",),
    "decisions": ("model",),
}


def _cost(name: str, unit: Unit, description: str, *sections: str, column: str = "") -> Metric:
    """A cost figure read from the given sections (the cost summary, the tool-call cost table, the
    per-model table), each under the column ``column`` (the metric's own name by default)."""
    sources = {scope: (section, column or name) for section in sections for scope in _COST_SECTIONS[section]}
    return Metric(name, unit, description, sources)


_ALL = ("cost", "call_cost", "models")
METRICS: tuple[Metric, ...] = (
    *(_from(c, "calls") for c in CALL_FIGURES),
    *(_from(c, "sessions", _SESSION_NAMES.get(c.name, ""), SESSION_SCOPES) for c in SESSION_FIGURES),
    *(_from(c, "arguments") for c in ARGUMENT_FIGURES if c.name in _ARGUMENT_METRICS),
    _cost(
        "token_cost",
        Unit.MONEY,
        "USD of tokens: every priced LLM call, whatever the filter (global), the selected calls' attributed "
        "share (tool, server, session), the model's calls (model)",
        *_ALL,
    ),
    _cost("tool_cost", Unit.MONEY, "USD of fixed per-call costs from --prices", "cost", "call_cost"),
    _cost("total_cost", Unit.MONEY, "token_cost + tool_cost", "cost", "call_cost"),
    _cost(
        "cost_per_call", Unit.MONEY, "the tool calls' cost / tool calls (per priced LLM call in the model scope)", *_ALL
    ),
    _cost(
        "cost_per_success",
        Unit.MONEY,
        "the tool calls' cost / tool calls that succeeded (not failed, not rejected)",
        "cost",
        "call_cost",
    ),
    _cost(
        "cost_per_successful_session",
        Unit.MONEY,
        "the tool calls' cost / sessions whose last call to each target succeeded",
        "cost",
    ),
    _cost("unattributed_cost", Unit.MONEY, "token_cost no tool call accounts for", "cost"),
    _cost("call_cost_p50", Unit.MONEY, "median cost of one tool call", "call_cost", column="cost_p50"),
    _cost("call_cost_p95", Unit.MONEY, "95th percentile cost of one tool call", "call_cost", column="cost_p95"),
    _cost("call_cost_max", Unit.MONEY, "the costliest tool call", "call_cost", column="cost_max"),
    _cost("tokens", Unit.COUNT, "input + output tokens", *_ALL),
    _cost("input_tokens", Unit.COUNT, "input tokens, cached ones included", *_ALL),
    _cost("output_tokens", Unit.COUNT, "output tokens, reasoning included", *_ALL),
    _cost("tokens_per_call", Unit.COUNT, "tokens / tool calls", "call_cost"),
    _cost("llm_calls", Unit.COUNT, "LLM calls (spans with token usage)", "cost", "models"),
    _cost("unpriced_llm_calls", Unit.COUNT, "LLM calls with no price or invalid usage", "cost", "models"),
    _cost("tool_calls_requested", Unit.COUNT, "tool calls the model's LLM calls asked for", "decisions"),
    _cost("failed_tool_calls", Unit.COUNT, "of the tool calls the model asked for, those that failed", "decisions"),
    _cost("failed_call_rate", Unit.RATE, "failed_tool_calls / tool_calls_requested", "decisions"),
    _cost("decision_cost", Unit.MONEY, "USD of the LLM calls that asked for tool calls", "decisions"),
    _cost(
        "failed_decision_cost",
        Unit.MONEY,
        "USD spent choosing tool calls that failed: the failed calls' shares of the LLM calls that asked for them",
        "decisions",
    ),
)
BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}


def sample_size(scope: str) -> str:
    """The metric a rule's ``min_calls`` counts: tool or MCP calls, or LLM calls per model."""
    return "llm_calls" if scope == "model" else "calls"


def group_keys(scope: str) -> tuple[str, ...]:
    """The columns that name a group of ``scope``."""
    if scope == "model":
        return ("model",)
    return ("side", *_SCOPE_BY.get(scope, (scope,)))


class Figures:
    """Measures metrics on one loaded store, each section once per scope and filter, over the calls
    ``calls`` selects (its --since/--until, --tool, --server, --side and --where, as analyze's; every
    call by default): a rule's own ``where`` narrows them further.

    The cost ledger is built the first time a cost figure is asked for; what it
    could not price is in :attr:`notes`.
    """

    def __init__(
        self,
        store: Calls,
        cost: CostOptions | None = None,
        calls: Query | None = None,
    ) -> None:
        self.store = store
        self.window = replace(calls or Query(), by=(), views=(), sort=None, top=None)
        self.cost = cost or CostOptions()
        self.notes: list[str] = []
        self._ledger = False
        self._arguments_checked = False
        self._tables: dict[tuple[str, str, Node | None], Table] = {}

    def measure(self, scope: str, where: Node | None, names: Iterable[str]) -> dict[Group, dict[str, Any]]:
        """Per group of ``scope`` among the calls ``where`` selects: the value of each metric named."""
        if scope not in SCOPES:
            raise ValueError(f"no scope {scope!r}")
        out: dict[Group, dict[str, Any]] = {}
        keys = group_keys(scope)
        for name in sorted(set(names)):
            section, column = BY_NAME[name].sources[scope]
            table = self._table(scope, section, where)
            for record in table.records():
                if scope != "model" and record["side"] is None:
                    continue  # the cost summary's row for "no tool calls selected" is no group of calls
                group = tuple((k, record[k]) for k in keys)
                out.setdefault(group, {})[name] = record[column]
        return out

    def _table(self, scope: str, section: str, where: Node | None) -> Table:
        key = (scope, section, where)
        if key not in self._tables:
            if section in ("cost", "call_cost", "models", "decisions") and not self._ledger:
                self.notes.extend(build(self.store, self.cost).notes)
                self._ledger = True
            if section == "arguments" and not self._arguments_checked:
                from mcpobs.arguments.check import check_store  # jsonschema only where a rule reads it

                self.notes.extend(check_store(self.store))
                self._arguments_checked = True
            by = _SCOPE_BY.get(scope, (scope,))
            if any(k in IN_FLIGHT_GROUPINGS for k in by) and not any(k[0] == scope for k in self._tables):
                self.notes.extend(unnamed_servers(self.store))
            if section == "models":
                self._tables[key] = _per_model(SECTIONS["models"](self.store, self.window, "", {}), where)
            elif section == "decisions":
                self._tables[key] = _decisions_per_model(self.store, self.window, where)
            else:
                query = replace(self.window, by=by, where=_both(self.window.where, where))
                clause, params = filters(query, self.store.engine)
                if section == "sessions":
                    self._tables[key] = session_figures(self.store, by, clause, params)
                else:
                    self._tables[key] = SECTIONS[section](self.store, query, clause, params)
        return self._tables[key]


def _both(selected: Node | None, where: Node | None) -> Node | None:
    """The calls both filters select."""
    if selected is None or where is None:
        return selected or where
    return Binary("and", selected, where)


def _selected(row: dict[str, Any], where: Node | None) -> bool:
    """Whether a row of LLM calls is one the model scope's filter (over model and provider) selects."""
    return where is None or evaluate(where, {"model": row["model"], "provider": row["provider"]}) is True


# a column of a per-model table: a sum over the rows where no function is given, else the function of the sums
ModelColumn = tuple[Column, Callable[[dict[str, Any]], Any] | None]


def _model_table(
    name: str, title: str, rows: Iterable[dict[str, Any]], where: Node | None, columns: tuple[ModelColumn, ...]
) -> Table:
    """The rows ``where`` selects summed per model (in order of its name), a row per model of ``columns``
    after the model's name. A summed money column is None while no row has a figure (unpriced is not
    free); a summed count counts no figure as 0."""
    summed = [column.name for column, derive in columns if derive is None]
    costs = {column.name for column, derive in columns if derive is None and column.unit is Unit.MONEY}
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        if not _selected(row, where):
            continue
        total = totals.setdefault(row["model"], {n: None if n in costs else 0 for n in summed})
        for n in summed:
            if n not in costs:
                total[n] += row[n] or 0
            elif row[n] is not None:
                total[n] = (total[n] or Decimal(0)) + row[n]
    out = tuple(
        (model, *(t[column.name] if derive is None else derive(t) for column, derive in columns))
        for model, t in sorted(totals.items(), key=lambda item: str(item[0]))
    )
    return Table(name, title, (Column("model", Unit.TEXT), *(column for column, _ in columns)), out)


def _cost_per_call(t: dict[str, Any]) -> Decimal | None:
    priced = t["llm_calls"] - t["unpriced_llm_calls"]
    return (t["token_cost"] / priced).quantize(Decimal("1e-12")) if t["token_cost"] is not None and priced else None


def _per_model(table: Table, where: Node | None) -> Table:
    """The per provider, model and status rows summed per model, those ``where`` selects."""
    rows = (
        {
            **row,
            "unpriced_llm_calls": 0 if row["status"] == "priced" else row["llm_calls"],
            "token_cost": row["token_cost"] if row["status"] == "priced" else None,
        }
        for row in table.records()
    )
    columns: tuple[ModelColumn, ...] = (
        (Column("llm_calls", Unit.COUNT), None),
        (Column("unpriced_llm_calls", Unit.COUNT), None),
        (Column("token_cost", Unit.MONEY), None),
        (Column("cost_per_call", Unit.MONEY), _cost_per_call),
        (Column("tokens", Unit.COUNT), lambda t: t["input_tokens"] + t["output_tokens"]),
        (Column("input_tokens", Unit.COUNT), None),
        (Column("output_tokens", Unit.COUNT), None),
    )
    return _model_table("models", "LLM calls by model", rows, where, columns)


def _decisions_per_model(store: Calls, window: Query, where: Node | None) -> Table:
    """The decisions section's rows (every tool call in ``window``) summed per model, those ``where`` selects."""
    query = window
    clause, params = filters(query, store.engine)
    table = SECTIONS["decisions"](store, query, clause, params)
    columns: tuple[ModelColumn, ...] = (
        (Column("tool_calls_requested", Unit.COUNT), None),
        (Column("failed_tool_calls", Unit.COUNT), None),
        (
            Column("failed_call_rate", Unit.RATE),
            lambda t: t["failed_tool_calls"] / t["tool_calls_requested"] if t["tool_calls_requested"] else None,
        ),
        (Column("decision_cost", Unit.MONEY), None),
        (Column("failed_decision_cost", Unit.MONEY), None),
    )
    return _model_table("decisions", "Tool calls by the model that asked for them", table.records(), where, columns)
