import pytest

from mcpobs.errors import ExitCode, InputError, McpobsError, StoreError, UsageError, exit_code_for


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("x"), ExitCode.USAGE),
        (InputError("a.jsonl", "bad", 3), ExitCode.INPUT),
        (StoreError("locked"), ExitCode.INPUT),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
    ],
)
def test_exit_code_for_each_error(error: BaseException, code: ExitCode) -> None:
    assert exit_code_for(error) == code


def test_exit_code_for_refuses_foreign_errors() -> None:
    with pytest.raises(TypeError):
        exit_code_for(ValueError("not ours"))


def test_input_error_names_file_and_line() -> None:
    assert str(InputError("traces.jsonl", "expected a JSON object, got a list", 42)) == (
        "traces.jsonl:42: expected a JSON object, got a list"
    )
    assert str(InputError("c.pb", "record is cut short", 2, unit="record ")) == "c.pb:record 2: record is cut short"
    assert str(InputError("x.jsonl", "empty file")) == "x.jsonl: empty file"


def test_every_error_is_an_mcpobs_error() -> None:
    for cls in (UsageError, InputError, StoreError):
        assert issubclass(cls, McpobsError)


def test_duckdb_stopping_a_query_is_an_interrupt() -> None:
    import duckdb

    assert exit_code_for(duckdb.InterruptException("INTERRUPT Error: Interrupted!")) == ExitCode.INTERRUPTED
    # what DuckDB raises in place of the KeyboardInterrupt it found while running a query
    assert exit_code_for(RuntimeError("Query interrupted")) == ExitCode.INTERRUPTED
    with pytest.raises(TypeError):
        exit_code_for(RuntimeError("something else"))


def test_sigterm_exits_143(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcpobs import interrupt

    monkeypatch.setattr(interrupt, "terminated", True)
    assert exit_code_for(KeyboardInterrupt()) == ExitCode.TERMINATED == 143
