"""``help`` and the empty command: usage with examples, always ephemeral."""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack_blocks import help_message
from handlers.common import MENTION_EXAMPLE, Query, Reply

NAME = "help"
USAGE = ("help", "This message.", "help")


def answer(q: Query, usages: Sequence[tuple[str, str, str]], note: str | None = None) -> Reply:
    """``note`` (safe mrkdwn) says why help is shown when it was not asked for."""
    rows = [
        (f"{q.command} {syntax}", purpose, f"{q.command} {ex}") for syntax, purpose, ex in usages
    ]
    rows.append(
        (
            "@newsbot QUESTION",
            "In a channel or thread: the answer goes into the thread. A follow-up that names "
            "only an actor or a topic (“and Spain?”) keeps the rest of the thread's question.",
            MENTION_EXAMPLE,
        )
    )
    topics = [q.newsbot.topic_label(t) for t in q.newsbot.board().topics]
    return Reply(NAME, help_message(rows, topics, note), outcome="user_error" if note else "ok")
