"""The Bolt app: one per process, sharing one `Newsbot` among all listeners.

Building it makes no call to Slack; ``verify_token`` makes Bolt's ``auth.test`` at start-up,
so that no request waits on it. It opens the state database, shared with the other replicas.

Retried events are de-duplicated by an ``EventLedger``: in this process by default, in the
state database when ``NEWSBOT_STATE_URL`` names one that several replicas share.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware.authorization import SingleTeamAuthorization
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse

import handlers
from bot.settings import Settings, SettingsError, secret
from bot.state import EVENT_TTL_S, SharedThreads, StateStore, open_state
from handlers.ask import SharedThreadMemory

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


class ListenerPool(ThreadPoolExecutor):
    """A thread pool that knows how many of its tasks are not finished yet (queued or
    running), so that a drain cut short can say what it left."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._unfinished: set[Future[Any]] = set()
        self._count_lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._count_lock:
            self._unfinished.add(future)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: Future[Any]) -> None:
        with self._count_lock:
            self._unfinished.discard(future)

    def unfinished(self) -> tuple[int, int]:
        """(running, queued) tasks."""
        with self._count_lock:
            futures = list(self._unfinished)
        running = sum(1 for f in futures if f.running())
        return running, len(futures) - running


def create_executor(settings: Settings) -> ListenerPool:
    """The listener pool: each command waits here for its ack, so a burst needs enough threads
    to ack within Slack's 3 s (Bolt's default is 5)."""
    return ListenerPool(
        max_workers=settings.listener_workers, thread_name_prefix="newsbot-listener"
    )


def create_app(
    settings: Settings,
    newsbot: Newsbot,
    client: WebClient | None = None,
    *,
    executor: Executor | None = None,
    state: StateStore | None = None,
    events: EventLedger | None = None,
) -> App:
    """``state``: defaults to the database of the settings, opened (and its schema made
    current) here, so that a wrong NEWSBOT_STATE_URL stops the start-up. ``events``: the
    ledger of event ids, see ``event_ledger``."""
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
    app.use(dedupe_events(events or event_ledger(settings, state)))
    threads = SharedThreadMemory(SharedThreads(state))
    handlers.register(app, newsbot, settings.command, settings, state, threads)
    return app


def verify_token(app: App) -> SlackResponse | None:
    """``auth.test`` once, at start-up, its result handed to Bolt's authorization: otherwise
    Bolt calls it on the first request, before the ack, on the client whose retry handlers may
    wait out a 429 or a 5xx past Slack's 3 s. Returns the result, or None (logged) when Slack
    did not answer: Bolt then calls it on the first request, as it would have, and the HTTP
    ``/readyz`` keeps trying and hands its result over too."""
    try:
        result = app.client.auth_test()
    except Exception as exc:
        log.warning("slack_token_not_verified", error=type(exc).__name__, detail=str(exc)[:200])
        return None
    share_auth_test(app, result)
    log.info(
        "slack_token_verified", team_id=result.get("team_id"), bot_user_id=result.get("user_id")
    )
    return result


def share_auth_test(app: App, result: SlackResponse) -> None:
    """Gives Bolt's single-workspace authorization the ``auth.test`` result it would otherwise
    fetch on the first request (Bolt takes one at construction only with
    ``token_verification_enabled``, which would make building the app a network call)."""
    for middleware in app._middleware_list:  # Bolt exposes no accessor for its middleware
        if isinstance(middleware, SingleTeamAuthorization) and not middleware.auth_test_result:
            middleware.auth_test_result = result


def _drop_unused_token_warning(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that it is
    unused because a client is given; that client holds the very same token."""
    return "`token` will be unused" not in record.getMessage()


# --- event de-duplication ------------------------------------------------------------------


class EventLedger(Protocol):
    """Where event ids are claimed: ``claim_event`` is True for the first delivery of an
    event within the ledger's TTL, False for a redelivery. ``StateStore`` is one (shared by
    the replicas of one database); ``InProcessEventLedger`` another."""

    def claim_event(self, event_id: str) -> bool: ...


class InProcessEventLedger:
    """The event ids of the last ``ttl_s`` seconds in this process's memory: enough for one
    process (Slack redelivers to the same request URL, and one process serves it); not for
    several replicas, which need the shared ``StateStore``."""

    def __init__(
        self,
        ttl_s: float = EVENT_TTL_S,
        max_events: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max = max_events
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}  # insertion order is expiry order (same TTL)

    def claim_event(self, event_id: str) -> bool:
        now = self._clock()
        with self._lock:
            while self._expiry:
                oldest, expires = next(iter(self._expiry.items()))
                if expires > now and len(self._expiry) < self._max:
                    break
                del self._expiry[oldest]
            if event_id in self._expiry:
                return False
            self._expiry[event_id] = now + self._ttl_s
            return True


def event_ledger(settings: Settings, state: StateStore) -> EventLedger:
    """The state database when ``NEWSBOT_STATE_URL`` names one (the replicas share it), else
    this process's memory: the default SQLite file serves one machine, where one process
    answers the events, and the in-process ledger keeps a database write off the ack path."""
    return state if settings.state_url is not None else InProcessEventLedger()


def dedupe_events(ledger: EventLedger) -> Callable[..., Any]:
    """Global middleware: a redelivered event (``x-slack-retry-num``) is acked, not answered;
    with the shared ledger, by whichever replica it reaches."""

    def dedupe(body: dict[str, Any], request: BoltRequest, next: Callable[[], Any]) -> Any:
        event_id = body.get("event_id")
        if event_id and not _first_delivery(ledger, event_id):
            log.info(
                "slack_event_duplicate",
                event_id=event_id,
                team_id=body.get("team_id"),
                retry_num=request.headers.get("x-slack-retry-num", [None])[0],
            )
            return BoltResponse(status=200, body="")
        return next()

    return dedupe


def _first_delivery(ledger: EventLedger, event_id: str) -> bool:
    try:
        return ledger.claim_event(event_id)
    except Exception:
        # The state database is unreachable: a question answered twice is better than one
        # never answered, so the event goes through.
        log.exception("slack_event_dedupe_failed", event_id=event_id)
        return True
