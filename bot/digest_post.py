"""Posting the daily digest to a channel, exactly once per channel and day.

claim → build → post the channel message (with metadata naming the digest's date) → complete
(with the board snapshot that the next digest compares with) → thread replies, paced. A failure
before the channel message is posted releases the claim, so that a retry posts; once it is
posted the digest counts as posted, so that a failed thread reply is reported and never causes
a second digest. A run that died holding a claim blocks others for ``DIGEST_CLAIM_TIMEOUT_S``.
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
from bot.state import StateStore
from bot.state import open_state as open_state

log = structlog.get_logger("newsbot.digest")

EVENT_TYPE = "newsbot_digest"

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
        ts = store.posted(channel, key)
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
        response = client.chat_postMessage(
            channel=channel,
            metadata={"event_type": EVENT_TYPE, "event_payload": {"date": key}},
            unfurl_links=False,
            unfurl_media=False,
            **first.payload(),
        )
        ts = response["ts"]
        store.complete(channel, key, owner, ts, snapshot)
    except BaseException:
        store.release(channel, key, owner)
        log.exception("digest_post", outcome="error", latency_ms=_ms(started), **fields)
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
            "channel never gets the digest twice"
        ) from exc
    run = DigestRun("posted", channel, day, ts, posted)
    _log(run, started, **fields)
    return run


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
