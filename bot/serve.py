"""``newsbot serve``: the Slack app over Socket Mode (the default) or HTTP.

HTTP runs gunicorn (one gthread worker; scale with replicas and a shared dedupe store) serving
a Flask app with ``/slack/events``, ``/healthz`` and ``/readyz``. Socket Mode needs no public
URL and serves its connection state on ``/healthz`` and ``/readyz``. Both drain the listener
pool on SIGTERM, so that every acknowledged request still gets its answer.

Beside the app, a background scheduler re-reads the corpus folder every ``NEWSBOT_REFRESH_S``
(articles added by ``newsbot ingest`` or by hand become answerable without a restart) and, with
``DIGEST_SCHEDULER=inprocess``, posts the daily digest at ``DIGEST_TIME`` in ``DIGEST_TZ``. That
is for one process only: several replicas each run their own scheduler, so they use the
CronJob (``newsbot digest --post``) instead; the digest's claim still posts it once either way.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, Response, request
from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import Newsbot
from bot.app import ListenerPool, create_app, create_executor, share_auth_test, verify_token
from bot.digest import due_day
from bot.digest_post import open_state, post_digest
from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, secret

log = structlog.get_logger("newsbot.serve")

# Below Kubernetes' default 30 s termination grace period: the digest job and the answers in
# progress get this long, together, after SIGTERM (gunicorn's graceful_timeout in http mode).
DRAIN_TIMEOUT_S = 25
# Like the CronJob's startingDeadlineSeconds: a run held up (the app busy, the host asleep)
# still posts within the hour.
DIGEST_MISFIRE_S = 3600


def serve(settings: Settings, newsbot: Newsbot | None = None) -> None:
    """Serves until SIGTERM or SIGINT. ``newsbot`` defaults to the one of the settings."""
    settings.check_for_serving()
    configure_logging(
        settings.log_level,
        settings.log_format,
        secrets=[
            secret(settings.slack_bot_token),
            secret(settings.slack_app_token),
            secret(settings.slack_signing_secret),
            secret(settings.slack_client_secret),
            # The state URL itself is logged (with its password hidden) at start-up.
            urlparse(secret(settings.state_url) or "").password,
            secret(settings.opensearch_url),
            secret(settings.opensearch_password),
            urlparse(secret(settings.opensearch_url) or "").password,
        ],
    )
    if settings.transport == "http":
        _serve_http(settings, newsbot)
    else:
        _serve_socket(settings, newsbot)


def _open(settings: Settings, newsbot: Newsbot | None) -> Newsbot:
    # Answer at once from the index as it is on disk; the first refresh tick, at start,
    # indexes what arrived while the server was down.
    return newsbot or Newsbot.open(settings.corpus_dir, settings.data_dir, sync=False)


def _within(deadline: float, name: str, stop: Callable[[], Any]) -> bool:
    """Runs ``stop`` (a blocking shutdown) until the ``time.monotonic()`` ``deadline``: True
    when it returned in time. Otherwise it goes on in a daemon thread and False is returned."""
    thread = threading.Thread(target=stop, name=f"newsbot-stop-{name}", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    return not thread.is_alive()


def _drain(executor: ThreadPoolExecutor, deadline: float) -> bool:
    """Waits for the answers in progress until ``deadline``; False (logged with what was left,
    the queued ones cancelled) when they did not all finish."""
    started = time.perf_counter()
    log.info("newsbot_draining", timeout_s=round(max(0.0, deadline - time.monotonic()), 1))
    if _within(deadline, "drain", lambda: executor.shutdown(wait=True)):
        log.info("newsbot_drained", latency_ms=round((time.perf_counter() - started) * 1000, 1))
        return True
    running, queued = executor.unfinished() if isinstance(executor, ListenerPool) else (-1, -1)
    executor.shutdown(wait=False, cancel_futures=True)
    log.error(
        "newsbot_drain_timeout",
        running=running,
        queued_cancelled=queued,
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return False


def _stop_jobs(jobs: BackgroundScheduler, deadline: float) -> bool:
    """Lets a digest being posted finish, until ``deadline``."""
    if _within(deadline, "jobs", lambda: jobs.shutdown(wait=True)):
        return True
    log.error("newsbot_jobs_timeout", pending="a digest post or a corpus refresh")
    return False


# --- background jobs ---------------------------------------------------------------------


def background_jobs(
    settings: Settings, newsbot: Newsbot, client: WebClient, *, refresh: bool
) -> BackgroundScheduler:
    """Started; ``shutdown()`` stops it. ``refresh``: re-read the corpus folder on a timer (an
    engine passed in by the caller is the caller's to refresh)."""
    if settings.log_level != "DEBUG":
        # Two INFO lines for every refresh tick; our own events say what each job did.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # One worker thread: a refresh never swaps the corpus while a digest is being built from it.
    scheduler = BackgroundScheduler(executors={"default": JobExecutor(1)}, timezone=settings.tz)
    if refresh:
        scheduler.add_job(
            refresh_corpus,
            IntervalTrigger(seconds=settings.refresh_s),
            args=[newsbot],
            id="refresh",
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(settings.tz),
        )
    # The settings refuse DIGEST_SCHEDULER=inprocess without DIGEST_CHANNEL.
    channel = settings.digest_channel
    if settings.digest_scheduler == "inprocess" and channel:
        at = settings.digest_time
        scheduler.add_job(
            scheduled_digest,
            CronTrigger(hour=at.hour, minute=at.minute, timezone=settings.tz),
            args=[settings, newsbot, client, channel, refresh],
            id="digest",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=DIGEST_MISFIRE_S,
        )
    elif channel:
        log.info(
            "digest_not_scheduled",
            reason="DIGEST_SCHEDULER is off: post with `newsbot digest --post` from cron or the "
            "CronJob, or set DIGEST_SCHEDULER=inprocess on a single-replica install",
        )
    scheduler.start()
    job = scheduler.get_job("digest")
    if job is not None:
        log.info("digest_scheduled", channel_id=channel, next_run=job.next_run_time.isoformat())
    return scheduler


def refresh_corpus(newsbot: Newsbot) -> None:
    started = time.perf_counter()
    try:
        changed = newsbot.refresh()
    except Exception:  # a broken lexicon: keep answering from the state that loaded
        log.exception("corpus_refresh", outcome="error")
        return
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    if changed:
        log.info(
            "corpus_refresh",
            outcome="changed",
            articles=newsbot.info().articles,
            latency_ms=latency_ms,
        )
    else:
        log.debug("corpus_refresh", outcome="unchanged", latency_ms=latency_ms)


def scheduled_digest(
    settings: Settings, newsbot: Newsbot, client: WebClient, channel: str, refresh: bool
) -> None:
    """The digest that is due now, with the corpus as it is now. ``post_digest`` logs its
    failures (and a failed post released its claim, so that a manual run retries)."""
    if refresh:
        refresh_corpus(newsbot)
    day = due_day(datetime.now(UTC), settings.digest_time, settings.tz)
    with contextlib.suppress(Exception):
        post_digest(settings, newsbot, client, open_state(settings), channel, day)


# --- HTTP ----------------------------------------------------------------------------------


def create_wsgi_app(app: App, newsbot: Newsbot) -> Flask:
    """The WSGI app gunicorn serves: Slack's one request URL plus the probes."""
    flask = Flask("newsbot")
    slack = SlackRequestHandler(app)
    token_accepted = threading.Event()

    def events() -> Response:
        response = slack.handle(request)
        if response.status_code == 401:
            # Bolt's own line for this carries the request body; this one does not.
            log.warning(
                "slack_request_rejected",
                reason="invalid signature or stale timestamp",
                request_timestamp=request.headers.get("X-Slack-Request-Timestamp"),
            )
        return response

    def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    if verify_token(app) is not None:
        token_accepted.set()

    def readyz() -> Any:
        try:
            info = newsbot.info()
            if not token_accepted.is_set():
                share_auth_test(app, app.client.auth_test())
                token_accepted.set()
        except Exception as exc:
            log.warning("newsbot_not_ready", error=type(exc).__name__)
            return {"ready": False, "error": type(exc).__name__}, 503
        return {"ready": True, "articles": info.articles}

    flask.add_url_rule("/slack/events", view_func=events, methods=["POST"])
    flask.add_url_rule("/healthz", view_func=healthz, methods=["GET"])
    flask.add_url_rule("/readyz", view_func=readyz, methods=["GET"])
    return flask


class _GunicornLogger(glogging.Logger):
    """gunicorn's records go to the root handler, so that they are structlog events too."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            logger.handlers.clear()
            logger.propagate = True


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any], load: Callable[[], Flask]) -> None:
        self._options = options
        self._load = load
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        # gunicorn >= 25.1 opens a control socket in $HOME by default; newsbot needs none, and
        # two instances on one host would fight over its path.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Flask:
        return self._load()


def _serve_http(settings: Settings, newsbot: Newsbot | None) -> None:
    worker: dict[str, Any] = {}

    def load() -> Flask:
        # Runs in the worker after the fork: the index and the threads belong to it.
        engine = _open(settings, newsbot)
        worker["executor"] = create_executor(settings)
        app = create_app(settings, engine, executor=worker["executor"])
        worker["jobs"] = background_jobs(settings, engine, app.client, refresh=newsbot is None)
        return create_wsgi_app(app, engine)

    def when_ready(server: Any) -> None:
        log.info("newsbot_serving", transport="http", url=str(server.LISTENERS[0]))

    def worker_exit(server: Any, _worker: Any) -> None:
        # gunicorn kills the worker at graceful_timeout anyway; bounding it here logs why.
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        if "jobs" in worker:
            _stop_jobs(worker["jobs"], deadline)  # a digest being posted is finished first
        if "executor" in worker:
            _drain(worker["executor"], deadline)

    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": settings.listener_workers,
        "graceful_timeout": DRAIN_TIMEOUT_S,
        "logger_class": _GunicornLogger,
        "loglevel": settings.log_level.lower(),
        "accesslog": None,
        "proc_name": "newsbot",
        "when_ready": when_ready,
        "worker_exit": worker_exit,
    }
    _Gunicorn(options, load).run()


# --- Socket Mode ---------------------------------------------------------------------------


def _serve_socket(settings: Settings, newsbot: Newsbot | None) -> None:
    engine = _open(settings, newsbot)
    executor = create_executor(settings)
    app = create_app(settings, engine, executor=executor)
    verify_token(app)
    jobs = background_jobs(settings, engine, app.client, refresh=newsbot is None)
    handler = SocketModeHandler(
        app, app_token=secret(settings.slack_app_token), concurrency=settings.listener_workers
    )
    health = _health_server(settings.host, settings.port, handler.client.is_connected)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        handler.connect()
    except SlackApiError as err:
        health.shutdown()
        jobs.shutdown(wait=False)
        raise SettingsError(
            f"SLACK_APP_TOKEN: Slack refused the Socket Mode connection ({err.response['error']})"
        ) from None
    host, port = health.server_address[:2]
    log.info("newsbot_serving", transport="socket", health_url=f"http://{host}:{port}/healthz")
    while not stop.wait(1.0):
        pass
    log.info("newsbot_stopping", transport="socket", timeout_s=DRAIN_TIMEOUT_S)
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    handler.close()  # no new requests
    finished = _stop_jobs(jobs, deadline)  # a digest being posted is finished first
    finished = _drain(executor, deadline) and finished
    health.shutdown()
    if not finished:
        # The answers still running are in non-daemon threads that the interpreter would
        # wait for at exit, past the grace period: leave now, with the log written.
        logging.shutdown()
        os._exit(1)


def _health_server(host: str, port: int, connected: Callable[[], bool]) -> ThreadingHTTPServer:
    """``/healthz`` and ``/readyz``: 200 while the socket is connected, 503 otherwise."""

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path not in ("/healthz", "/readyz"):
                self.send_error(404)
                return
            up = connected()
            body = json.dumps({"connected": up}).encode()
            self.send_response(200 if up else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("health_request", path=self.path)

    server = ThreadingHTTPServer((host, port), Health)
    threading.Thread(target=server.serve_forever, name="newsbot-health", daemon=True).start()
    return server
