"""Redaction rules, one by one: what becomes [REDACTED] and what stays."""

from __future__ import annotations

import hashlib
import json

import pytest

from mcpobs.eventlog.redact import REDACTED, Redactor


def test_keys_that_name_secrets_lose_their_string_values_whole() -> None:
    message = {"params": {"arguments": {"Api-Key": "abc", "password": "hunter2", "client_secret": "x", "count": 3}}}
    redacted, changed = Redactor().message(message)
    assert changed
    assert redacted == {
        "params": {"arguments": {"Api-Key": REDACTED, "password": REDACTED, "client_secret": REDACTED, "count": 3}}
    }
    assert message["params"]["arguments"]["password"] == "hunter2"  # the input is left as it was


@pytest.mark.parametrize(
    "secret",
    [
        "Bearer eyabcdefghijklmnop.qrs",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "xoxb-1234567890-abcdef",
        "AKIAABCDEFGHIJKLMNOP",
        "AIza" + "a" * 35,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.abcdefghijklmnop",
    ],
)
def test_credentials_inside_text_are_replaced_and_the_text_around_them_kept(secret: str) -> None:
    redacted, changed = Redactor().message({"result": {"content": [{"text": f"use {secret} now"}]}})
    assert changed
    assert redacted["result"]["content"][0]["text"] == f"use {REDACTED} now"


def test_ordinary_text_is_left_alone() -> None:
    text = "the sky is blue; token count 42; sk-short; Bearer authentication is described in RFC 6750"
    message = {"result": {"content": [{"type": "text", "text": text}], "token_count": 42}}
    assert Redactor().message(message) == (message, False)


def test_whatever_stands_under_a_secret_key_goes() -> None:
    message = {"params": {"credentials": {"user": "a", "pass": "b"}, "token": "t0k", "session_token": 12}}
    redacted, _ = Redactor().message(message)
    assert redacted == {"params": {"credentials": REDACTED, "token": REDACTED, "session_token": REDACTED}}


def test_user_paths_with_wildcards_and_indexes() -> None:
    redactor = Redactor(paths=("params.arguments.email", "result.content.*.text", "result.items.1"))
    message = {
        "params": {"arguments": {"email": {"home": "a@b.c"}, "name": "ann"}},
        "result": {"content": [{"text": "x"}, {"text": "y", "type": "text"}], "items": [0, 1, 2]},
    }
    redacted, _ = redactor.message(message)
    assert redacted == {
        "params": {"arguments": {"email": REDACTED, "name": "ann"}},
        "result": {"content": [{"text": REDACTED}, {"text": REDACTED, "type": "text"}], "items": [0, REDACTED, 2]},
    }


def test_user_regexes() -> None:
    redactor = Redactor.checked(True, (), (r"\d{3}-\d{2}-\d{4}",))
    assert redactor.message({"p": "ssn 123-45-6789."}) == ({"p": f"ssn {REDACTED}."}, True)
    with pytest.raises(ValueError, match="--redact-regex '\\[': unterminated character set"):
        Redactor.checked(True, (), ("[",))


def test_headers() -> None:
    headers = [
        ("Authorization", "Bearer abc"),
        ("Cookie", "s=1"),
        ("Mcp-Session-Id", "abc"),
        ("X-Note", "sk-" + "a" * 20),
    ]
    assert Redactor().headers(headers) == [
        ("Authorization", REDACTED),
        ("Cookie", REDACTED),
        ("Mcp-Session-Id", "[REDACTED:sha256:" + hashlib.sha256(b"abc").hexdigest()[:16] + "]"),
        ("X-Note", REDACTED),
    ]


def test_disabled_redacts_nothing_and_says_so() -> None:
    off = Redactor(enabled=False, paths=("a",), regexes=("b",))
    message = {"a": "b", "password": "p"}
    assert off.message(message) == (message, False)
    assert off.headers([("Authorization", "x")]) == [("Authorization", "x")]
    assert off.describe() == {"enabled": False, "rules": []}
    rules = Redactor(paths=("a.b",), regexes=("c",)).describe()["rules"]
    assert rules[-2:] == ["path: a.b", "regex: c"]


def test_headers_whose_names_say_secret_lose_their_values() -> None:
    names = [
        "X-Custom-Token",
        "X-Client-Secret",
        "X-Signing-Key",
        "X-Auth-User",
        "X-Password",
        "X-Session",
        "X-Cookie2",
    ]
    redacted = dict(Redactor().headers([(name, "plain-value") for name in [*names, "X-Request-Id", "Accept"]]))
    assert redacted == {**dict.fromkeys(names, REDACTED), "X-Request-Id": "plain-value", "Accept": "plain-value"}


def test_a_mirrored_argument_header_goes_by_the_argument_name_as_in_the_body() -> None:
    # "Mcp-Param-Keyword" holds "key", but the keyword argument is no secret: a replay sends the header
    # again, and a server refuses a header that differs from the body
    headers = [("Mcp-Param-Keyword", "weather"), ("Mcp-Param-Author", "ann"), ("Mcp-Param-Api-Key", "k1")]
    assert Redactor().headers(headers) == [
        ("Mcp-Param-Keyword", "weather"),
        ("Mcp-Param-Author", "ann"),
        ("Mcp-Param-Api-Key", REDACTED),
    ]


def test_the_session_id_becomes_a_stable_digest() -> None:
    digest = "[REDACTED:sha256:" + hashlib.sha256(b"7f3e-session").hexdigest()[:16] + "]"
    redactor = Redactor()
    assert redactor.headers([("Mcp-Session-Id", "7f3e-session")]) == [("Mcp-Session-Id", digest)]
    assert redactor.session_id("7f3e-session") == digest
    assert redactor.session_id("other") != digest
    assert Redactor(enabled=False).session_id("7f3e-session") == "7f3e-session"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clone https://alice:hunter2@git.example/x.git now", f"clone https://{REDACTED}@git.example/x.git now"),
        ("postgres://svc:p%40ss@db:5432/app", f"postgres://{REDACTED}@db:5432/app"),
        ("https://tok3n@host/x", f"https://{REDACTED}@host/x"),
        ("mail bob@example.com or see https://example.com/a@b", "mail bob@example.com or see https://example.com/a@b"),
    ],
)
def test_credentials_in_urls_are_replaced(text: str, expected: str) -> None:
    assert Redactor().message({"result": {"text": text}})[0] == {"result": {"text": expected}}


PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1\nabcDEF==\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize("key", ["pem", "content", "value"])
def test_a_pem_private_key_goes_under_any_key(key: str) -> None:
    message = {"result": {key: f"key:\n{PEM}\ndone", "cut": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq"}}
    redacted, changed = Redactor().message(message)
    assert changed
    assert redacted == {"result": {key: f"key:\n{REDACTED}\ndone", "cut": REDACTED}}
    public = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----"
    assert Redactor().message({"k": public}) == ({"k": public}, False)


@pytest.mark.parametrize(
    "key", ["db_password", "secret_key", "github_token", "OPENAI_API_KEY", "apiKey", "dbPassword", "x-api-pass", "pwd"]
)
def test_a_key_with_a_secret_word_among_its_words_is_a_secret(key: str) -> None:
    message = {"params": {"arguments": {key: "s3cret", "nested": [{key.upper(): "s3cret"}]}}}
    assert "s3cret" not in json.dumps(Redactor().message(message)[0])


@pytest.mark.parametrize(
    "key",
    ["keyword", "monkey", "author", "key", "sort_key", "session_count", "token_count", "max_tokens", "nextPageToken",
     "auth_type", "tokenizer", "session_id", "progressToken"],
)  # fmt: skip
def test_a_key_that_only_looks_like_a_secret_is_kept(key: str) -> None:
    # a replay sends a recorded request as it is: a redacted argument would reach the server as "[REDACTED]"
    message = {"params": {"arguments": {key: "kept", "pass": True}}}
    assert Redactor().message(message) == (message, False)


def test_a_mirrored_argument_header_splits_camel_case_as_the_body_does() -> None:
    headers = [("Mcp-Param-dbPassword", "x"), ("Mcp-Param-sortKey", "y"), ("X-Api-Pass", "p"), ("X-Signature", "s")]
    assert Redactor().headers(headers) == [
        ("Mcp-Param-dbPassword", REDACTED),
        ("Mcp-Param-sortKey", "y"),
        ("X-Api-Pass", REDACTED),
        ("X-Signature", REDACTED),
    ]


def test_query_parameters_that_name_secrets_lose_their_values() -> None:
    url = "https://h/x?api_key=QK1&token=QT2&page=2&access_token=&q=a#frag"
    assert Redactor().text(url) == f"https://h/x?api_key={REDACTED}&token={REDACTED}&page=2&access_token=&q=a#frag"
    assert Redactor(enabled=False).text(url) == url


def test_a_url_password_holding_an_at_sign_goes_whole() -> None:
    assert Redactor().text("postgres://bob:p@ss@db:5432/x?a=1") == f"postgres://{REDACTED}@db:5432/x?a=1"
    assert Redactor().text("dsn='mysql://u:a@b@c@h' ok") == f"dsn='mysql://{REDACTED}@h' ok"


def test_name_value_pairs_in_free_text_and_a_command_line() -> None:
    redactor = Redactor()
    line = 'DB_PASSWORD=hunter2 api_key: "k 1" X-Api-Key: H4 Authorization: Bearer abcdefgh123 keyword=ok count: 3'
    assert redactor.line(line) == (
        f'DB_PASSWORD={REDACTED} api_key: "{REDACTED}" X-Api-Key: {REDACTED} Authorization: {REDACTED} '
        "keyword=ok count: 3"
    )
    command = ["srv", "--password=P1", "--password", "P2", "-k", "v", "--key", "k", "--api-key", "P3"]
    assert redactor.command(command) == [
        "srv", f"--password={REDACTED}", "--password", REDACTED, "-k", "v", "--key", "k", "--api-key", REDACTED
    ]  # fmt: skip
    assert Redactor(enabled=False).command(["--password", "P2"]) == ["--password", "P2"]


def test_the_properties_of_a_json_schema_are_names_not_secrets() -> None:
    schema = {
        "type": "object",
        "properties": {"api_key": {"title": "Api Key", "type": "string"}, "password": True},
        "$defs": {"SecretToken": {"type": "object", "properties": {"token": {"type": "string"}}}},
        "required": ["api_key"],
    }
    redacted, changed = Redactor().message({"result": {"tools": [{"name": "login", "inputSchema": schema}]}})
    assert not changed
    assert redacted["result"]["tools"][0]["inputSchema"] == schema


def test_an_argument_shaped_like_a_schema_still_loses_its_secrets() -> None:
    arguments = {"type": "object", "properties": {"password": "hunter2", "credentials": {"token": "abc123"}}}
    redacted, _ = Redactor().message({"params": {"arguments": arguments}})
    properties = redacted["params"]["arguments"]["properties"]
    assert properties == {"password": "[REDACTED]", "credentials": "[REDACTED]"}


def test_a_session_id_the_server_names_in_a_body_is_its_digest_there_too() -> None:
    redactor = Redactor()
    session = "ce20bcbd-62af-4fae-901e-1d2f04e9a6dd"
    digest = redactor.session_id(session)
    text = f"Started simulated logging for session {session} at a 5 second pace"
    message = {"result": {"content": [{"type": "text", "text": text}]}}
    redacted, changed = redactor.message(message)
    assert changed
    assert redacted["result"]["content"][0]["text"] == text.replace(session, digest)
    assert session not in redactor.line(f"log: {session}")
    short = Redactor()
    short.session_id("1")  # too short to be told in a text from any other "1"
    assert short.message({"result": {"n": "1 of 10"}}) == ({"result": {"n": "1 of 10"}}, False)
