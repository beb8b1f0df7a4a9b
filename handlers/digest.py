"""``digest``: a preview of the next daily digest, only for the one who asked."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.digest import upcoming
from bot.digest_blocks import preview_message
from bot.settings import load_settings
from handlers.common import Query, Reply

NAME = "digest"
USAGE = (
    "digest",
    "A preview of the next daily digest, as it stands now; only you see it.",
    "digest",
)


def answer(q: Query) -> Reply:
    settings = q.settings or load_settings()
    channel = settings.digest_channel
    now = datetime.now(UTC)
    # The channel's last digest, from the state the app shares with whoever posts it.
    digest = upcoming(q.newsbot, q.state, channel, now, settings.digest_time, settings.tz)
    return Reply(
        NAME,
        preview_message(digest, q.newsbot.topic_label, settings.tz, q.command, channel),
        outcome="empty" if digest.quiet else "ok",
        results=len(digest.articles) + len(digest.changes),
    )
