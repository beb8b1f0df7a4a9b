"""structlog for our events and for the stdlib records of Bolt, slack-sdk and gunicorn.

One root handler renders everything: JSON lines by default, the console renderer when the
stream is a terminal. Slack tokens and the configured secrets are masked in every event, at
any depth of its values.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import structlog

_TOKEN = re.compile(r"\b(xox[a-z]|xapp)-[0-9A-Za-z-]+")
_MASK = "[redacted]"


def configure_logging(
    level: str = "INFO",
    fmt: str = "auto",
    *,
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
) -> None:
    """Configures structlog and the root logger; calling it again replaces the configuration."""
    stream = stream or sys.stderr
    known = sorted((s for s in secrets if s), key=len, reverse=True)
    console = fmt == "console" or (fmt == "auto" and stream.isatty())

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    )
    # Tracebacks become text before masking, so that a secret in a traceback is masked too.
    final: list[Any] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        _masker(known),
        renderer,
    ]

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    )
    handler.addFilter(_no_rejected_bodies)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())


def _no_rejected_bodies(record: logging.LogRecord) -> bool:
    """Bolt logs the whole request body (user text) at INFO when a signature check fails; the
    HTTP layer logs the rejection without it. A filter on the handler, because Bolt resets
    its loggers' levels to the app logger's."""
    return not (
        record.name == "slack_bolt.RequestVerification" and record.levelno < logging.WARNING
    )


def _masker(secrets: list[str]) -> Any:
    def mask(text: str) -> str:
        for value in secrets:
            text = text.replace(value, _MASK)
        return _TOKEN.sub(lambda m: f"{m.group(1)}-{_MASK}", text)

    def walk(value: Any) -> Any:
        """Strings masked at any depth of dicts, lists, tuples and sets (keys too); other
        values whose text could hold a secret (an exception, a URL object) become that text."""
        if isinstance(value, str):
            return mask(value)
        if isinstance(value, dict):
            return {walk(k): walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [walk(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        text = str(value)
        masked = mask(text)
        return value if masked == text else masked

    def processor(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        return {key: walk(value) for key, value in event.items()}

    return processor
