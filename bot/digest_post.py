"""Posting the daily digest to a channel, exactly once per channel and day.

claim → build → check that the claim is still this run's → post the channel message (with
metadata naming the digest's date) → complete (with the board snapshot that the next digest
compares with) → thread replies, paced. A failure before the channel message is posted releases
the claim, so that a retry posts. Once Slack has accepted it (it has a ``ts``) the claim is never
released: completing it is retried, and if that still fails the ``ts`` is recorded in the claim
("posted-pending"), so that no run posts it again and a later one completes it. A failed thread
reply is reported and never causes a second digest. A run that died holding a claim blocks
others for ``DIGEST_CLAIM_TIMEOUT_S``; a run slower than that which lost its claim to another
does not post.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from slack_sdk import WebClient

from bot.core import Newsbot
from bot.digest import digest_of
from bot.digest_blocks import digest_messages
from bot.settings import Settings

# open_state is re-exported: `newsbot digest --post` and the scheduler open the state from here.
from bot.state import ClaimLost, StateStore
from bot.state import open_state as open_state

log = structlog.get_logger("newsbot.digest")

EVENT_TYPE = "newsbot_digest"
# Completing the claim once the message is posted: tries, and the wait before each retry.
COMPLETE_TRIES = 4
COMPLETE_BACKOFF_S = 0.5

Outcome = Literal["posted", "quiet", "already_posted", "claimed"]


@dataclass(frozen=True)
class DigestRun:
    outcome: Outcome  # quiet: nothing posted (DIGEST_QUIET=skip); claimed: another run has it
    channel: str
    day: dt.date
    ts: str | None = None  # the channel message
    messages: int = 0


class DigestIncomplete(Exception):
    """The channel message is posted (and the digest counts as posted), a thread reply is not."""


class DigestUnrecorded(DigestIncomplete):
    """The channel message is posted, but the state database could not record it: the claim is
    left held (posted-pending where that could be written), so that it is not posted again."""


def post_digest(
    settings: Settings,
    bot: Newsbot,
    client: WebClient,
    store: StateStore,
    channel: str,
    day: dt.date,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> DigestRun:
    started = time.perf_counter()
    key = day.isoformat()
    fields: dict[str, Any] = {"channel_id": channel, "day": key}
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    try:
        claimed = store.claim(channel, key, owner)
    except Exception:
        log.exception("digest_post", outcome="error", latency_ms=_ms(started), **fields)
        raise
    if not claimed:
        adopted = _adopt(settings, bot, store, channel, day, owner)
        ts = adopted if adopted is not None else store.posted(channel, key)
        run = DigestRun("already_posted" if ts is not None else "claimed", channel, day, ts or None)
        _log(run, started, **fields)
        return run
    try:
        last = store.last_posted(channel, key)
        digest, snapshot = digest_of(bot, day, settings.digest_time, settings.tz, last)
        fields |= {"articles": len(digest.articles), "changes": len(digest.changes)}
        if digest.quiet and settings.digest_quiet == "skip":
            store.complete(channel, key, owner, "", snapshot)  # decided: nothing to post
            run = DigestRun("quiet", channel, day)
            _log(run, started, **fields)
            return run
        first, *thread = digest_messages(digest, bot.topic_label, settings.tz, settings.command)
        # A run slower than DIGEST_CLAIM_TIMEOUT_S may have lost its claim to another run: that
        # one posts. Renewing it here leaves the other only the time of this one call.
        if not store.hold(channel, key, owner):
            raise ClaimLost(f"the digest claim on {channel} {key} was taken over")
        response = client.chat_postMessage(
            channel=channel,
            metadata={"event_type": EVENT_TYPE, "event_payload": {"date": key}},
            unfurl_links=False,
            unfurl_media=False,
            **first.payload(),
        )
    except ClaimLost:
        # Another run took the claim over after the timeout: it decides this digest.
        log.warning("digest_post", outcome="lost_claim", latency_ms=_ms(started), **fields)
        return DigestRun("claimed", channel, day)
    except BaseException:
        store.release(channel, key, owner)
        log.exception("digest_post", outcome="error", latency_ms=_ms(started), **fields)
        raise
    # Slack accepted the channel message: from here on the claim is never released.
    ts = response["ts"]
    try:
        unrecorded = _record(store, channel, key, owner, ts, snapshot, sleep, fields)
    except BaseException:  # interrupted (SIGTERM, Ctrl-C) while recording it: keep it held
        _mark_sent(store, channel, key, owner, ts)
        log.exception("digest_post", outcome="unrecorded", ts=ts, **fields)
        raise
    # Posted: from here on a failure is reported, never retried by posting the digest again.
    # Replies wait DIGEST_PACE_S after the previous message came back: Slack takes about one
    # message per second per channel.
    last = time.monotonic()
    posted = 1
    try:
        for message in thread:
            left = last + settings.digest_pace_s - time.monotonic()
            if left > 0:
                sleep(left)
            client.chat_postMessage(
                channel=response.get("channel") or channel,
                thread_ts=ts,
                unfurl_links=False,
                unfurl_media=False,
                **message.payload(),
            )
            last = time.monotonic()
            posted += 1
    except Exception as exc:
        log.exception(
            "digest_post", outcome="incomplete", messages=posted, latency_ms=_ms(started), **fields
        )
        raise DigestIncomplete(
            f"the digest of {key} is posted in {channel} (ts {ts}), but thread reply "
            f"{posted} of {len(thread)} failed ({exc}); it is not posted again, so that the "
            "channel never gets the digest twice" + (f"; and {unrecorded}" if unrecorded else "")
        ) from exc
    if unrecorded:
        raise DigestUnrecorded(unrecorded)
    run = DigestRun("posted", channel, day, ts, posted)
    _log(run, started, **fields)
    return run


def _record(
    store: StateStore,
    channel: str,
    key: str,
    owner: str,
    ts: str,
    snapshot: dict[str, dict[str, object]],
    sleep: Callable[[float], None],
    fields: dict[str, Any],
) -> str | None:
    """Completes the claim of the posted message ``ts``, retrying: None once done, else what
    went wrong (logged as an error). The claim is then left held, posted-pending if the state
    database takes that, so that no run posts the digest again."""
    failure: Exception | None = None
    for attempt in range(COMPLETE_TRIES):
        if attempt:
            sleep(COMPLETE_BACKOFF_S * 2 ** (attempt - 1))
        try:
            store.complete(channel, key, owner, ts, snapshot)
            return None
        except ClaimLost as exc:  # another run took it over: retrying cannot help
            failure = exc
            break
        except Exception as exc:
            failure = exc
            log.warning("digest_complete", outcome="retry", attempt=attempt + 1, error=str(exc))
    pending = _mark_sent(store, channel, key, owner, ts)
    if pending:
        what = "its claim is kept as posted-pending, so it is not posted again"
    elif isinstance(failure, ClaimLost):
        what = "another run took its claim over after DIGEST_CLAIM_TIMEOUT_S and may post it too"
    else:
        what = (
            "its claim is left held, and after DIGEST_CLAIM_TIMEOUT_S another run could post "
            "it again: check the channel before posting this digest"
        )
    message = (
        f"the digest of {key} is posted in {channel} (ts {ts}), but the state database did "
        f"not record it ({_reason(failure)}); {what}"
    )
    log.error("digest_post", outcome="unrecorded", ts=ts, posted_pending=pending, **fields)
    return message


def _reason(exc: BaseException | None) -> str:
    """One line: a database error's own words, without SQLAlchemy's statement and link."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def _mark_sent(store: StateStore, channel: str, key: str, owner: str, ts: str) -> bool:
    try:
        return store.mark_sent(channel, key, owner, ts)
    except Exception:
        log.exception("digest_post", outcome="unrecorded", ts=ts, channel_id=channel, day=key)
        return False


def _adopt(
    settings: Settings,
    bot: Newsbot,
    store: StateStore,
    channel: str,
    day: dt.date,
    owner: str,
) -> str | None:
    """Completes a posted-pending claim (its run posted the message, then could not record it)
    once it is older than DIGEST_CLAIM_TIMEOUT_S, without posting: the message's ts, or None.
    The snapshot is the board as of the end of the digest's period, as that run built it."""
    key = day.isoformat()
    ts = store.adopt(channel, key, owner)
    if ts is None:
        return None
    try:
        last = store.last_posted(channel, key)
        _, snapshot = digest_of(bot, day, settings.digest_time, settings.tz, last)
        store.complete(channel, key, owner, ts, snapshot)
    except Exception:  # still posted-pending: a later run tries again
        log.exception("digest_post", outcome="adopt_failed", channel_id=channel, day=key, ts=ts)
        return ts
    log.info("digest_post", outcome="adopted", channel_id=channel, day=key, ts=ts)
    return ts


def _log(run: DigestRun, started: float, **fields: Any) -> None:
    log.info(
        "digest_post",
        outcome=run.outcome,
        messages=run.messages,
        ts=run.ts,
        latency_ms=_ms(started),
        **fields,
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
