"""structlog setup: JSON lines off a terminal, console on one, stdlib records included,
secrets masked everywhere."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from bot.logs import configure_logging


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def test_json_lines_for_our_events_and_for_bolts_records():
    stream = io.StringIO()
    configure_logging("INFO", "auto", stream=stream)
    structlog.get_logger("newsbot.slack").info("slack_request", kind="stance", latency_ms=3.2)
    logging.getLogger("slack_bolt.App").warning("Unhandled request (%s)", "x")
    logging.getLogger("slack_bolt.App").debug("not at INFO")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "slack_request" and first["kind"] == "stance"
    assert first["level"] == "info" and "timestamp" in first
    assert second == {
        **second,
        "event": "Unhandled request (x)",
        "level": "warning",
        "logger": "slack_bolt.App",
    }


def test_console_rendering_on_a_terminal():
    stream = Tty()
    configure_logging("INFO", "auto", stream=stream)
    structlog.get_logger().info("slack_request", kind="board")
    line = stream.getvalue()
    assert "slack_request" in line and "kind" in line
    with pytest.raises(ValueError):
        json.loads(line)


def test_tokens_and_secrets_are_masked_even_in_tracebacks():
    stream = io.StringIO()
    configure_logging("DEBUG", "json", secrets=["my-signing-secret", None], stream=stream)
    log = structlog.get_logger()
    try:
        raise RuntimeError("auth failed for xoxb-123-456-abcdef with my-signing-secret")
    except RuntimeError:
        log.exception("failed", token="xapp-1-A1-2-zzz")
    logging.getLogger("slack_sdk").debug("Sending apps.connections.open token=xapp-1-A1-2-zzz")
    out = stream.getvalue()
    for secret in ("xoxb-123-456-abcdef", "my-signing-secret", "xapp-1-A1-2-zzz"):
        assert secret not in out
    event = json.loads(out.splitlines()[0])
    assert event["token"] == "xapp-[redacted]"
    assert "RuntimeError: auth failed for xoxb-[redacted] with [redacted]" in event["exception"]


def test_secrets_nested_in_values_are_masked():
    stream = io.StringIO()
    configure_logging("INFO", "json", secrets=["my-signing-secret"], stream=stream)
    structlog.get_logger().info(
        "nested",
        request={"headers": {"Authorization": "Bearer xoxb-1-2-abc"}, "n": 3},
        tokens=["xapp-1-A1-2-zzz", ("my-signing-secret", None)],
        by_key={"xoxb-9-9-key": True},
    )
    out = stream.getvalue()
    for secret in ("xoxb-1-2-abc", "xapp-1-A1-2-zzz", "my-signing-secret", "xoxb-9-9-key"):
        assert secret not in out
    event = json.loads(out)
    assert event["request"] == {"headers": {"Authorization": "Bearer xoxb-[redacted]"}, "n": 3}
    assert event["tokens"] == ["xapp-[redacted]", ["[redacted]", None]]
    assert event["by_key"] == {"xoxb-[redacted]": True}


def test_bolts_body_logging_on_bad_signatures_is_silenced():
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream)
    logging.getLogger("slack_bolt.RequestVerification").info("Invalid request signature (body)")
    assert stream.getvalue() == ""
