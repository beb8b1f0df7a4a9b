"""The Bolt app: one per process, sharing one `Newsbot` among all listeners.

Building it makes no network call: Bolt's ``auth.test`` happens on the first request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

import handlers
from bot.settings import Settings, SettingsError, secret

if TYPE_CHECKING:
    from bot import Newsbot

log = structlog.get_logger("newsbot.slack")

# Slack redelivers an event up to three times within about five minutes.
DEDUPE_TTL_S = 600.0


class EventDedupe(Protocol):
    """Claims an ``event_id`` once. With several replicas, a shared store (e.g. a unique-key
    insert in a database) implements the same method."""

    def claim(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen, False for every redelivery."""
        ...


class TtlEventDedupe:
    """`EventDedupe` for one process: event ids remembered for ``ttl_s`` seconds."""

    def __init__(self, ttl_s: float = DEDUPE_TTL_S, clock: Callable[[], float] = time.monotonic):
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, float] = OrderedDict()

    def claim(self, event_id: str) -> bool:
        now = self._clock()
        with self._lock:
            while self._seen and next(iter(self._seen.values())) <= now:
                self._seen.popitem(last=False)
            if event_id in self._seen:
                return False
            self._seen[event_id] = now + self._ttl_s
            return True


def create_web_client(settings: Settings) -> WebClient:
    """The Web API client; Bolt copies its base URL and retry handlers into each request's."""
    return WebClient(
        token=secret(settings.slack_bot_token),
        base_url=settings.slack_api_url,
        logger=logging.getLogger("newsbot.slack_sdk"),
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            # Sleeps Retry-After in the calling thread: only listeners (after ack) post.
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def create_executor(settings: Settings) -> ThreadPoolExecutor:
    """The listener pool: each command waits here for its ack, so a burst needs enough threads
    to ack within Slack's 3 s (Bolt's default is 5)."""
    return ThreadPoolExecutor(
        max_workers=settings.listener_workers, thread_name_prefix="newsbot-listener"
    )


def create_app(
    settings: Settings,
    newsbot: Newsbot,
    client: WebClient | None = None,
    *,
    executor: Executor | None = None,
    dedupe: EventDedupe | None = None,
) -> App:
    if settings.slack_bot_token is None and client is None:
        raise SettingsError("SLACK_BOT_TOKEN not set: the Slack app needs the bot token (xoxb-)")
    # Bolt copies this logger's level into its own loggers and tests ``.level`` directly.
    logger = logging.getLogger("newsbot.bolt")
    logger.setLevel(settings.log_level)
    if not logger.filters:
        logger.addFilter(_drop_unused_token_warning)
    app = App(
        name="newsbot",
        client=client or create_web_client(settings),
        # Passed explicitly, even when empty, so that Bolt never falls back to os.environ.
        signing_secret=secret(settings.slack_signing_secret) or "",
        token_verification_enabled=False,
        logger=logger,
        listener_executor=executor or create_executor(settings),
    )
    app.use(dedupe_events(dedupe or TtlEventDedupe()))
    handlers.register(app, newsbot, settings.command, settings)
    return app


def _drop_unused_token_warning(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that it is
    unused because a client is given; that client holds the very same token."""
    return "`token` will be unused" not in record.getMessage()


def dedupe_events(store: EventDedupe) -> Callable[..., Any]:
    """Global middleware: a redelivered event (``x-slack-retry-num``) is acked, not answered."""

    def dedupe(body: dict[str, Any], request: BoltRequest, next: Callable[[], Any]) -> Any:
        event_id = body.get("event_id")
        if event_id and not store.claim(event_id):
            log.info(
                "slack_event_duplicate",
                event_id=event_id,
                team_id=body.get("team_id"),
                retry_num=request.headers.get("x-slack-retry-num", [None])[0],
            )
            return BoltResponse(status=200, body="")
        return next()

    return dedupe
