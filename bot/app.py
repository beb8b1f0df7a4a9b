"""The Bolt app: one per process, sharing one `Newsbot` among all listeners.

Building it makes no call to Slack (Bolt's ``auth.test`` happens on the first request); it
opens the state database, shared with the other replicas.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

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
from bot.state import StateStore, open_state

if TYPE_CHECKING:
    from bot import Newsbot

log = structlog.get_logger("newsbot.slack")


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
    state: StateStore | None = None,
) -> App:
    """``state``: defaults to the database of the settings, opened (and its schema made
    current) here, so that a wrong NEWSBOT_STATE_URL stops the start-up."""
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
    state = state or open_state(settings)
    app.use(dedupe_events(state))
    handlers.register(app, newsbot, settings.command, settings, state)
    return app


def _drop_unused_token_warning(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that it is
    unused because a client is given; that client holds the very same token."""
    return "`token` will be unused" not in record.getMessage()


def dedupe_events(state: StateStore) -> Callable[..., Any]:
    """Global middleware: a redelivered event (``x-slack-retry-num``) is acked, not answered,
    by whichever replica it reaches: the event ids are claimed in the shared state."""

    def dedupe(body: dict[str, Any], request: BoltRequest, next: Callable[[], Any]) -> Any:
        event_id = body.get("event_id")
        if event_id and not _first_delivery(state, event_id):
            log.info(
                "slack_event_duplicate",
                event_id=event_id,
                team_id=body.get("team_id"),
                retry_num=request.headers.get("x-slack-retry-num", [None])[0],
            )
            return BoltResponse(status=200, body="")
        return next()

    return dedupe


def _first_delivery(state: StateStore, event_id: str) -> bool:
    try:
        return state.claim_event(event_id)
    except Exception:
        # The state database is unreachable: a question answered twice is better than one
        # never answered, so the event goes through.
        log.exception("slack_event_dedupe_failed", event_id=event_id)
        return True
