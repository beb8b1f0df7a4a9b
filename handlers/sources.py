"""``sources``: the articles of the corpus, newest first."""

from __future__ import annotations

from bot.slack_blocks import sources_message
from handlers.common import Query, Reply

NAME = "sources"
USAGE = ("sources", "The articles newsbot answers from, newest first.", "sources")


def answer(q: Query) -> Reply:
    result = q.newsbot.sources()
    return Reply(
        NAME,
        sources_message(result, q.newsbot.info()),
        answer=True,
        outcome="ok" if result.articles else "empty",
        results=len(result.articles),
    )
