"""Log output: text lines from `serve`, the formatters masking and bounding, and the format setting."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import httpx
import jwt
import pytest

from gateway import log_output, logs, redaction
from gateway.settings import Settings, SettingsError
from tests.support.serving import clean_env
from tests.test_logs import AK, APP_USER, BEARER, JWT_SECRET, LIST, SK, TOKEN, Run, pieces, served_run

# Text, the default


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    env = clean_env(
        GATEWAY_LOG_LEVEL="debug",
        METASTUDIO_AUTH_MODE="aksk",
        METASTUDIO_AK=AK,
        METASTUDIO_SK=SK,
        GATEWAY_CLIENT_AUTH="jwt",
        GATEWAY_JWT_SECRET=JWT_SECRET,
    )

    def requests(http: httpx.Client, log: Path, run: Run) -> None:
        bearer = {"Authorization": f"Bearer {BEARER}"}
        run.responses["listed"] = http.post(
            "/graphql", json={"query": LIST}, headers={**bearer, "X-Request-Id": "text-1"}
        )
        run.responses["refused"] = http.post(
            "/graphql", json={"query": LIST}, headers={"Authorization": f"Bearer {BEARER}x"}
        )

    return served_run(tmp_path_factory.mktemp("text") / "gateway.log", env, requests)


def test_text_lines_carry_the_request_id(text_run: Run) -> None:
    assert text_run.responses["listed"].status_code == 200
    lines = text_run.output.splitlines()
    mine = [line for line in lines if line.endswith(" request_id=text-1")]
    assert any(" gateway.access POST /graphql 200 " in line and "query LatestVideos" in line for line in mine)
    assert any(" gateway.upstream ListDigitalHumanVideo GET " in line for line in mine)
    refused = text_run.responses["refused"].headers["x-request-id"]
    assert any(
        " gateway.access POST /graphql " in line and line.endswith(f"request_id={refused}") for line in lines
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])


def test_no_secret_appears_in_text_logs(text_run: Run) -> None:
    for secret in (AK, SK, JWT_SECRET, BEARER, APP_USER):
        assert not [piece for piece in pieces(secret) if piece in text_run.output], secret
    assert redaction.REDACTED not in text_run.output


# The formatters themselves


def logger_to(stream: io.StringIO, formatter: logging.Formatter) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logs.RequestFieldsFilter())
    logger = logging.getLogger(f"tests.logs.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


@pytest.mark.parametrize("formatter", [log_output.JsonFormatter, log_output.TextFormatter])
def test_a_secret_that_reaches_a_line_is_masked(formatter: type[logging.Formatter]) -> None:
    stream = io.StringIO()
    logger = logger_to(stream, formatter())
    redaction.redact.add([SK])
    signed = "a" * 64
    token = jwt.encode({"sub": "u"}, JWT_SECRET, algorithm="HS256")
    try:
        logger.warning("key %s", SK)
        logger.warning('sent "Authorization: Bearer %s" and X-Auth-Token: %s', TOKEN, TOKEN)
        logger.warning("a token %s and Signature=%s", token, signed)
    finally:
        redaction.redact.clear()
    written = stream.getvalue()
    for secret in (SK, TOKEN, token, signed):
        assert secret not in written
    assert written.count(redaction.REDACTED) == 5


def test_a_json_line_holds_the_request_fields_and_the_exception_in_one_line() -> None:
    stream = io.StringIO()
    logger = logger_to(stream, log_output.JsonFormatter())
    fields, token = logs.begin_request("req-1")
    try:
        logs.note_operation("Named", "query", "f" * 64)
        try:
            raise ValueError("line one\nline two")
        except ValueError:
            logger.exception("it failed")
    finally:
        logs.end(token)
    logger.info("outside")
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert fields.operation_name == "Named"
    assert inside["request_id"] == "req-1"
    assert (inside["operation_name"], inside["operation_type"], inside["caller"]) == (
        "Named",
        "query",
        "f" * 16,
    )
    assert inside["level"] == "error"
    assert "ValueError: line one\nline two" in inside["exception"]
    assert outside["request_id"] is None
    assert "operation_name" not in outside


def test_client_chosen_names_are_bounded_and_escaped() -> None:
    assert logs.bounded_name("VideoJobList") == "VideoJobList"
    assert logs.bounded_name("N" * 5000) == "N" * logs.LOGGED_TEXT_CHARS + "..."
    assert "\n" not in logs.bounded_text("/graphql\nINFO forged line")


def test_text_that_orjson_refuses_still_makes_one_json_line() -> None:
    stream = io.StringIO()
    undecodable = b"\xff".decode("utf-8", "surrogateescape")
    logger_to(stream, log_output.JsonFormatter()).warning("undecodable %s", undecodable)
    assert json.loads(stream.getvalue())["message"] == "undecodable \udcff"


# The setting


def test_the_log_format_is_text_unless_json_is_asked_for() -> None:
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"GATEWAY_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="GATEWAY_LOG_FORMAT: 'xml' is not one of text, json"):
        Settings.from_env({"GATEWAY_LOG_FORMAT": "xml"})


def test_bad_settings_are_one_json_line_when_json_is_asked_for() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve"],
        env=clean_env(GATEWAY_LOG_FORMAT="json", METASTUDIO_AUTH_MODE="ldap", METASTUDIO_SK=SK),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = [json.loads(line) for line in result.stderr.splitlines()]
    assert line["level"] == "error"
    assert "METASTUDIO_AUTH_MODE: 'ldap' is not one of token, aksk" in line["message"]
