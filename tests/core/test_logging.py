"""Secrets never reach the logs, whatever path they take into a log call."""

from __future__ import annotations

import io
import json
import logging

import pytest

from core.logging import configure_logging


@pytest.fixture
def log_stream() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("DEBUG", json_output=True, stream=stream)
    yield stream
    configure_logging("WARNING", json_output=False)


SECRETS = [
    "xoxb-1234-5678-abcdefghijkl",
    "xapp-1-A0-123-abcdef",
    "ghp_abcdefghijklmnopqrstuvwxyz0123",
    "sk-proj-abcdefghijklmnopqrstuvwx",
    "ya29.a0AfH6SMBexampletoken",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_known_token_shapes_are_redacted(log_stream: io.StringIO, secret: str) -> None:
    logging.getLogger("t").info("calling with %s", secret)
    assert secret not in log_stream.getvalue()
    assert "[REDACTED]" in log_stream.getvalue()


def test_authorization_headers_and_query_tokens_are_redacted(log_stream: io.StringIO) -> None:
    logger = logging.getLogger("t")
    logger.info("headers", extra={"headers": {"Authorization": "Bearer opaque-value-123"}})
    logger.info("GET https://api.trello.com/1/cards?key=abc123&token=def456secret")
    logger.info("Authorization: Basic dXNlcjpwYXNzd29yZA==")
    logger.info("sig", extra={"signing_secret": "8f742231b10e8888abcd99yyyzzz85a5"})
    output = log_stream.getvalue()
    for leaked in (
        "opaque-value-123",
        "def456secret",
        "abc123",
        "dXNlcjpwYXNzd29yZA",
        "8f742231b10e",
    ):
        assert leaked not in output
    records = [json.loads(line) for line in output.splitlines()]
    assert records[0]["headers"] == {"Authorization": "[REDACTED]"}


def test_exceptions_are_redacted_too(log_stream: io.StringIO) -> None:
    try:
        raise RuntimeError("token xoxb-9999-8888-secretsecret rejected")
    except RuntimeError:
        logging.getLogger("t").exception("failed")
    assert "xoxb-9999" not in log_stream.getvalue()
    assert json.loads(log_stream.getvalue().splitlines()[0])["level"] == "ERROR"
