"""``search QUERY``: the best passages of the corpus, with their sources."""

from __future__ import annotations

from bot.slack_blocks import search_message
from handlers.common import Query, Reply, user_error

NAME = "search"
USAGE = (
    "search QUERY",
    "The passages that best match some words, with outlet, date and link.",
    "search coalition of the willing",
)


def answer(q: Query) -> Reply:
    if not q.args.strip():
        return user_error(NAME, f"Search for what? For example `{q.command} search peacekeeping`.")
    result = q.newsbot.search(q.args, k=10)
    hint = f"Try fewer or other words, or an actor: `{q.command} stance Poland`."
    return Reply(
        NAME,
        search_message(result, q.newsbot.info(), hint),
        answer=True,
        outcome="ok" if result.results else "empty",
        results=len(result.results),
    )
