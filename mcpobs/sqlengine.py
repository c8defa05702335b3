"""The few places where DuckDB's SQL and ClickHouse's differ, as one small helper set per engine.

The call model (:mod:`mcpobs.ingest.dialects`), the ``mcp_calls`` view and the analysis sections are one
SQL text each, written in the subset both engines read; wherever the engines disagree (how an attribute
is looked up, quantiles, hashing, JSON, regular expressions, NULL defaults) the text calls a method of
:data:`DUCKDB` or :data:`CLICKHOUSE`. The DuckDB methods return exactly the SQL mcpobs ran before
ClickHouse came, so the file path's results and speed do not move.

Checked against DuckDB 2.0 and chDB 4.4 (ClickHouse 26.9); see FIELD-NOTES "One analysis, two engines"
for why this is not left to a transpiler: sqlglot turns ``quantile_cont`` into a function ClickHouse
does not have and DuckDB's exact ``quantile`` into ClickHouse's approximate one, without an error.
"""

from __future__ import annotations

from collections.abc import Sequence


def quote(text: str) -> str:
    """A SQL string literal (the same in both engines)."""
    return "'" + text.replace("'", "''") + "'"


class Engine:
    """DuckDB's SQL: the reference the other engine's helpers match, result for result."""

    name = "duckdb"
    title = "DuckDB"

    def attribute(self, values: str, keys: str, name: str) -> str:
        """The text of attribute ``name``, NULL when absent. DuckDB: ``keys`` and ``values`` are
        parallel lists (:func:`mcpobs.ingest.dialects.attribute_values`)."""
        return f"{values}[list_position({keys}, {quote(name)})]"

    def any_key(self, keys: str, predicate: str) -> str:
        """Whether any attribute key ``k`` satisfies ``predicate`` (which names it ``k``)."""
        return f"list_bool_or(list_transform({keys}, lambda k: {predicate}))"

    def starts_with(self, text: str, prefix: str) -> str:
        return f"starts_with({text}, {prefix})"

    def substr(self, text: str, start: str) -> str:
        """Characters from ``start`` (1-based) to the end."""
        return f"substr({text}, {start})"

    def left(self, text: str, count: int) -> str:
        """The first ``count`` characters; all but the last ``-count`` when negative."""
        return f"left({text}, {count})"

    def length(self, text: str) -> str:
        """Length in characters."""
        return f"length({text})"

    def full_match(self, text: str, pattern: str) -> str:
        """Whether the whole of ``text`` matches the regular expression ``pattern`` (a literal)."""
        return f"regexp_full_match({text}, {quote(pattern)})"

    def matches(self, text: str, pattern: str) -> str:
        """Whether ``text`` contains a match of ``pattern`` (a literal)."""
        return f"regexp_matches({text}, {quote(pattern)})"

    def replace_first(self, text: str, pattern: str, replacement: str) -> str:
        return f"regexp_replace({text}, {quote(pattern)}, {quote(replacement)})"

    def json_text(self, document: str, *path: str) -> str:
        """The value at ``path`` in a JSON text as text (a string unquoted, a number as written),
        NULL when missing or null."""
        return f"json_extract_string({document}, '$.{'.'.join(path)}')"

    def json_raw(self, document: str, *path: str) -> str:
        """The JSON text of the value at ``path`` (``true``, ``"x"``)."""
        return f"json_extract({document}, '$.{'.'.join(path)}')"

    def try_bigint(self, text: str) -> str:
        """An integer written as an integer or a number (rounded), else NULL."""
        return f"coalesce(TRY_CAST({text} AS BIGINT), TRY_CAST(TRY_CAST({text} AS DOUBLE) AS BIGINT))"

    def try_integer(self, text: str) -> str:
        return f"TRY_CAST({text} AS INTEGER)"

    def try_double(self, text: str) -> str:
        """A number written as text (surrounding white space allowed), else NULL."""
        return f"TRY_CAST({text} AS DOUBLE)"

    def hash(self, *values: str) -> str:
        """A 64-bit hash of the values together, NULLs included: only ever grouped on, never shown."""
        return f"hash({', '.join(values)})"

    def item_count(self, attributes: str, events: str) -> str:
        """How many attributes and events a span holds (0 for none)."""
        return f"coalesce(len({attributes}), 0) + coalesce(len({events}), 0)"

    def unordered(self, attributes: str, events: str) -> tuple[str, str]:
        """A span's attributes and its events, each in an order of their own rather than as written: what
        its content hash reads (:func:`mcpobs.ingest.dialects.content_hash`)."""
        return f"list_sort({attributes})", f"list_sort({events})"

    def quantiles(self, column: str, fractions: Sequence[float]) -> str:
        """A list of the exact quantiles of ``column`` (linear interpolation between ranks, R-7);
        each NULL when the group has no values. Index it 1-based."""
        return f"quantile_cont({column}, [{', '.join(map(str, fractions))}])"

    def arg_max(self, value: str, by: str) -> str:
        return f"arg_max({value}, {by})"

    def arg_min(self, value: str, by: str) -> str:
        """``value`` at the least ``by``, rows whose ``value`` is NULL skipped (as ClickHouse's argMin)."""
        return f"arg_min({value}, {by})"

    def any_value(self, column: str) -> str:
        return f"any_value({column})"

    def least(self, a: str, b: str) -> str:
        """The smaller of two values, either of which may be NULL (then the other)."""
        return f"least({a}, {b})"

    def greatest(self, a: str, b: str) -> str:
        return f"greatest({a}, {b})"

    def list_has(self, parameter: str, value: str) -> str:
        """Whether the list bound to ``parameter`` holds ``value``."""
        return f"list_contains(${parameter}, {value})"

    def has_key_in(self, attributes: str, parameter: str) -> str:
        """Whether any of a span's attribute keys is in the list bound to ``parameter``."""
        return f"len(list_filter({attributes}, lambda a: list_contains(${parameter}, a.key))) > 0"

    def distinct_list(self, column: str, separator: str) -> str:
        """The group's distinct values, sorted, joined by ``separator``."""
        return f"string_agg(DISTINCT {column}, {quote(separator)} ORDER BY {column})"

    def timestamp_us(self, ns: str) -> str:
        """A TIMESTAMP to the microsecond below the nanoseconds ``ns``."""
        return f"make_timestamp({ns} // 1000)"

    def in_list(self, column: str, parameter: str) -> str:
        """Whether ``column`` is one of the list bound to ``parameter``."""
        return f"{column} IN (SELECT unnest(${parameter}))"

    def first_event_ns(self, events: str, names: Sequence[str]) -> str:
        """The time of a span's first event named one of ``names``, in Unix ns; NULL without one."""
        return (
            f"list_min(list_transform(list_filter({events}, "
            f"lambda e: e.name IN ({', '.join(map(quote, names))})), "
            f"lambda e: TRY_CAST(e.timeUnixNano AS BIGINT)))"
        )

    def first_string_of_array(self, attributes: str, key: str) -> str:
        """The first element of attribute ``key``, an array of strings (as OTel's
        ``http.response.header.<name>``); NULL when absent, empty or no string array."""
        return (
            f"list_filter({attributes}, lambda a: a.key = {quote(key)})[1].value.arrayValue "
            "->> '$.values[0].stringValue'"
        )

    def exception_type(self, events: str) -> str:
        """The ``exception.type`` of a span's first ``exception`` event."""
        return self.exception_attribute(events, "exception.type")

    def exception_attribute(self, events: str, key: str) -> str:
        """Attribute ``key`` (a string) of a span's first ``exception`` event; NULL without one."""
        return (
            f"list_filter(list_filter({events}, lambda e: e.name = 'exception')[1].attributes, "
            f"lambda a: a.key = {quote(key)})[1].value.stringValue"
        )

    def rtrim(self, text: str, characters: str) -> str:
        """``text`` without any of ``characters`` (a literal) at its end."""
        return f"rtrim({text}, {quote(characters)})"

    def every_integer(self, low: str, high: str) -> str:
        """One row for each integer from ``low`` to ``high`` (aggregates; none when they are NULL), as a
        SELECT list's only set-returning expression."""
        return f"unnest(range({low}, {high} + 1))"

    def attribute_of(self, attributes: str, key: str) -> str:
        """The text of a span's attribute ``key`` (SQL: a parameter or a literal), NULL when absent."""
        from mcpobs.ingest.dialects import value_text  # the dialects build on this module

        return value_text(f"list_filter({attributes}, lambda a: a.key = {key})[1].value")

    def has_attribute(self, attributes: str, key: str) -> str:
        return f"list_contains(list_transform({attributes}, lambda a: a.key), {key})"

    def attribute_texts(self, attributes: str, events: str, key: str) -> str:
        """The texts of attribute ``key`` on a span and on each of its events, as a list."""
        from mcpobs.ingest.dialects import value_text

        return (
            f"list_transform(list_filter({attributes} || flatten(list_transform(coalesce({events}, []), "
            f"lambda e: coalesce(e.attributes, []))), lambda a: a.key = {key}), lambda a: {value_text('a.value')})"
        )

    def unnest(self, values: str) -> str:
        """In a SELECT list: a row for each element of the list ``values`` (none when it is empty)."""
        return f"unnest({values})"

    def json_is_array(self, text: str) -> str:
        """Whether ``text`` is valid JSON whose value is an array."""
        return f"json_valid({text}) AND json_type({text}) = 'ARRAY'"

    def json_message_parts(self, text: str) -> str:
        """The JSON texts of the ``parts`` of each message in a JSON array of messages (the GenAI
        conventions' ``gen_ai.output.messages``), as a list."""
        return f"json_extract({text}, '$[*].parts[*]')"

    # ``name AS <this>(…)``: a CTE computed once per query, however often it is read (ClickHouse reads it
    # only with a setting a server may not know: the CTE is computed at each reference there)
    materialized = "MATERIALIZED "

    # ``SELECT * <this> (columns)``: every column but those
    star_except = "EXCLUDE"

    def union_by_name(self, columns: str) -> str:
        """``UNION ALL`` and the head of its second SELECT, which names ``columns`` of the first's and
        then adds its own (written after this): the first's other columns are NULL in its rows."""
        return f"UNION ALL BY NAME\n        SELECT {columns},"

    def int_div(self, a: str, b: str) -> str:
        """Integer division, rounding down (both operands not negative)."""
        return f"{a} // {b}"

    def all_true(self, column: str) -> str:
        """Whether every value of the group is true."""
        return f"bool_and({column})"

    def whole_quantiles(self, column: str, fractions: Sequence[float]) -> str:
        """A list of the quantiles of the whole numbers ``column`` (pico-dollars, beyond a float's
        exact integers): linear interpolation between ranks, the fraction rounded down, exactly."""
        return f"quantile_cont(CAST({column} AS DECIMAL(38, 0)), [{', '.join(map(str, fractions))}])"

    def invalid_counts(self, attributes: str, parameter: str) -> str:
        """The ``[key, text]`` of each of a span's attributes named in the list bound to ``parameter``
        whose value is no whole number from 0 to 10^15, in the span's order."""
        from mcpobs.ingest.dialects import value_text  # the dialects build on this module

        return f"""list_transform(
                list_filter(
                    list_transform(list_filter({attributes}, lambda a: list_contains(${parameter}, a.key)),
                        lambda a: {{'key': a.key, 'text': {value_text("a.value")}}}),
                    lambda t: NOT coalesce(TRY_CAST(t.text AS DOUBLE) BETWEEN 0 AND 1e15
                        AND TRY_CAST(t.text AS DOUBLE) % 1 = 0, false)),
                lambda t: [t.key, coalesce(t.text, '(not a number)')]
            )"""

    def approximate_size(self, name: str, keys: str, values: str, events: str) -> str:
        """About how many bytes a span takes as OTLP JSON: see :func:`mcpobs.ingest.dialects.approximate_size`."""
        return (
            f"240 + strlen(coalesce({name}, '')) "
            f"+ coalesce(list_sum(list_transform({keys}, lambda k: strlen(k) + 38)), 0) "
            f"+ coalesce(list_sum(list_transform({values}, lambda v: strlen(coalesce(v, '')))), 0) "
            f"+ 120 * coalesce(len({events}), 0)"
        )


class ClickHouse(Engine):
    """ClickHouse's SQL over the OpenTelemetry Collector exporter's ``otel_traces`` columns.

    Attributes are a ``Map(String, String)`` (``keys`` names it; ``values`` is unused), whose missing
    key reads as ``''``, not NULL; ``Events`` is a Nested column (``Events.Timestamp``, ``Events.Name``,
    ``Events.Attributes``). Text functions are the UTF-8 ones, as DuckDB counts characters.
    """

    name = "clickhouse"
    title = "ClickHouse"

    def attribute(self, values: str, keys: str, name: str) -> str:
        return f"if(mapContains({keys}, {quote(name)}), {keys}[{quote(name)}], NULL)"

    def any_key(self, keys: str, predicate: str) -> str:
        return f"arrayExists(k -> {predicate}, mapKeys({keys}))"

    def starts_with(self, text: str, prefix: str) -> str:
        return f"startsWith({text}, {prefix})"

    def substr(self, text: str, start: str) -> str:
        return f"substringUTF8({text}, {start})"

    def left(self, text: str, count: int) -> str:
        return f"leftUTF8({text}, {count})"

    def length(self, text: str) -> str:
        return f"lengthUTF8({text})"

    def full_match(self, text: str, pattern: str) -> str:
        return f"match({text}, {quote('^(?:' + pattern + ')$')})"

    def matches(self, text: str, pattern: str) -> str:
        return f"match({text}, {quote(pattern)})"

    def replace_first(self, text: str, pattern: str, replacement: str) -> str:
        return f"replaceRegexpOne({text}, {quote(pattern)}, {quote(replacement)})"

    def json_text(self, document: str, *path: str) -> str:
        keys = ", ".join(map(quote, path))
        # JSONExtractString gives '' for a number and for a missing key: DuckDB gives the number's text, NULL
        return (
            f"multiIf(JSONType({document}, {keys}) = 'String', JSONExtractString({document}, {keys}), "
            f"JSONType({document}, {keys}) IN ('Null', 'Array', 'Object') OR NOT JSONHas({document}, {keys}), NULL, "
            f"JSONExtractRaw({document}, {keys}))"
        )

    def json_raw(self, document: str, *path: str) -> str:
        return f"nullIf(JSONExtractRaw({document}, {', '.join(map(quote, path))}), '')"

    def try_bigint(self, text: str) -> str:
        # DuckDB casts a double to the nearest integer, a half up (2.5 to 3, -2.5 to -2)
        return f"coalesce(toInt64OrNull({text}), toInt64(floor(toFloat64OrNull({text}) + 0.5)))"

    def try_integer(self, text: str) -> str:
        return f"toInt32OrNull({text})"

    def try_double(self, text: str) -> str:
        # DuckDB's cast allows white space around the number; ClickHouse's none
        return f"toFloat64OrNull(trimBoth({text}))"

    def hash(self, *values: str) -> str:
        # a tuple hashes its NULLs; cityHash64 of a NULL argument is NULL
        return f"cityHash64(tuple({', '.join(values)}))"

    def item_count(self, attributes: str, events: str) -> str:
        return f"length({attributes}) + length({events}.Name)"

    def unordered(self, attributes: str, events: str) -> tuple[str, str]:
        # a Map keeps the order it was written in, and two maps do not compare: each event as its hash
        event = "(t, n, a) -> cityHash64(t, n, mapSort(a))"
        return (
            f"mapSort({attributes})",
            f"arraySort(arrayMap({event}, {events}.Timestamp, {events}.Name, {events}.Attributes))",
        )

    def quantiles(self, column: str, fractions: Sequence[float]) -> str:
        # quantilesExactInclusive is DuckDB's quantile_cont; an empty group gives nan, DuckDB NULL
        return (
            f"arrayMap(q -> if(isNaN(q), NULL, q), quantilesExactInclusive({', '.join(map(str, fractions))})"
            f"(toFloat64({column})))"
        )

    def arg_max(self, value: str, by: str) -> str:
        return f"argMax({value}, {by})"

    def arg_min(self, value: str, by: str) -> str:
        return f"argMin({value}, {by})"

    def any_value(self, column: str) -> str:
        return f"any({column})"

    def least(self, a: str, b: str) -> str:
        # ClickHouse's least is NULL when either is; DuckDB's ignores a NULL
        return f"if(({a}) IS NULL, {b}, if(({b}) IS NULL, {a}, least({a}, {b})))"

    def greatest(self, a: str, b: str) -> str:
        return f"if(({a}) IS NULL, {b}, if(({b}) IS NULL, {a}, greatest({a}, {b})))"

    def list_has(self, parameter: str, value: str) -> str:
        return f"has(${parameter}, {value})"

    def has_key_in(self, attributes: str, parameter: str) -> str:
        return f"hasAny(mapKeys({attributes}), ${parameter})"

    def distinct_list(self, column: str, separator: str) -> str:
        return f"arrayStringConcat(arraySort(groupUniqArray({column})), {quote(separator)})"

    def timestamp_us(self, ns: str) -> str:
        return f"fromUnixTimestamp64Micro(intDiv({ns}, 1000), 'UTC')"

    def in_list(self, column: str, parameter: str) -> str:
        return f"has(${parameter}, {column})"

    def first_event_ns(self, events: str, names: Sequence[str]) -> str:
        listed = ", ".join(map(quote, names))
        # arrayMin of an empty array is the epoch, not NULL
        return (
            f"if(arrayExists(n -> n IN ({listed}), {events}.Name), toUnixTimestamp64Nano(arrayMin(arrayFilter("
            f"(t, n) -> n IN ({listed}), {events}.Timestamp, {events}.Name))), NULL)"
        )

    def first_string_of_array(self, attributes: str, key: str) -> str:
        # the exporter writes an array attribute as its JSON (pdata's AsString): ["Bearer realm=…"]
        value = f"{attributes}[{quote(key)}]"
        return f"if(JSONType({value}, 1) = 'String', JSONExtractString({value}, 1), NULL)"

    def exception_attribute(self, events: str, key: str) -> str:
        found = f"{events}.Attributes[indexOf({events}.Name, 'exception')]"
        present = f"has({events}.Name, 'exception') AND mapContains({found}, {quote(key)})"
        return f"if({present}, {found}[{quote(key)}], NULL)"

    def rtrim(self, text: str, characters: str) -> str:
        return f"trimRight({text}, {quote(characters)})"

    def every_integer(self, low: str, high: str) -> str:
        # range() refuses a NULL: of no rows this makes one row, 0 (join it to those rows to drop it)
        return f"arrayJoin(range(assumeNotNull({low}), assumeNotNull({high}) + 1))"

    def attribute_of(self, attributes: str, key: str) -> str:
        return f"if(mapContains({attributes}, {key}), {attributes}[{key}], NULL)"

    def has_attribute(self, attributes: str, key: str) -> str:
        return f"mapContains({attributes}, {key})"

    def attribute_texts(self, attributes: str, events: str, key: str) -> str:
        # the call model's events are each event's attributes (mcpobs.clickhouse.model)
        return (
            f"arrayConcat(if(mapContains({attributes}, {key}), [{attributes}[{key}]], []), "
            f"arrayMap(e -> e[{key}], arrayFilter(e -> mapContains(e, {key}), {events})))"
        )

    def unnest(self, values: str) -> str:
        return f"arrayJoin({values})"

    def json_is_array(self, text: str) -> str:
        return f"isValidJSON({text}) AND JSONType({text}) = 'Array'"

    def json_message_parts(self, text: str) -> str:
        return f"arrayFlatten(arrayMap(m -> JSONExtractArrayRaw(m, 'parts'), JSONExtractArrayRaw({text})))"

    materialized = ""
    star_except = "EXCEPT"

    def union_by_name(self, columns: str) -> str:
        # no UNION BY NAME: the second SELECT repeats every column of the first
        return "UNION ALL\n        SELECT *,"

    def int_div(self, a: str, b: str) -> str:
        return f"intDiv({a}, {b})"

    def all_true(self, column: str) -> str:
        return f"toBool(min({column}))"

    def whole_quantiles(self, column: str, fractions: Sequence[float]) -> str:
        # DuckDB's quantile_cont of a DECIMAL: below + the difference times the rank's fraction (a double),
        # rounded down; in Int128 here, as quantilesExactInclusive interpolates in floats
        rank = "(length(s) - 1) * q"
        below = f"arrayElement(s, toUInt64(floor({rank})) + 1)"
        above = f"arrayElement(s, toUInt64(floor({rank})) + 2)"
        step = f"toInt128(floor(toFloat64({above} - {below}) * ({rank} - floor({rank}))))"
        return (
            f"arrayMap((q, s) -> {below} + if(floor({rank}) + 1 < length(s), {step}, toInt128(0)), "
            f"[{', '.join(map(str, fractions))}], "
            f"arrayWithConstant({len(fractions)}, arraySort(groupArray(toInt128({column})))))"
        )

    def invalid_counts(self, attributes: str, parameter: str) -> str:
        # the exporter writes every value as text (pdata's AsString): an array is its JSON, never NULL
        number = f"toFloat64OrNull({attributes}[k])"
        return (
            f"arrayMap(k -> [k, {attributes}[k]], arrayFilter(k -> has(${parameter}, k) "
            f"AND NOT coalesce({number} BETWEEN 0 AND 1e15 AND {number} % 1 = 0, false), mapKeys({attributes})))"
        )

    def approximate_size(self, name: str, keys: str, values: str, events: str) -> str:
        # DuckDB's estimate counts an attribute by its value's text there (a double `1.0`, no array),
        # which the exporter's strings (`1`, `[1,2]`) no longer tell: no size rather than another one
        return "CAST(NULL AS Nullable(Int64))"


DUCKDB = Engine()
CLICKHOUSE = ClickHouse()
