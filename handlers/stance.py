"""``stance ACTOR [TOPIC]``: where an actor stands, topic by topic, with quotes and sources."""

from __future__ import annotations

from bot.errors import UnknownActor, UnknownTopic
from bot.models import StanceAnswer
from bot.slack_blocks import escape, stance_message
from handlers.common import Query, Reply, user_error

NAME = "stance"
USAGE = (
    "stance ACTOR [TOPIC]",
    "Where an actor stands, topic by topic, with the best quotes and their sources.",
    "stance Poland troops",
)


def answer(q: Query) -> Reply:
    words = q.args.split()
    if not words:
        return user_error(NAME, f"Name an actor, for example `{q.command} stance Poland`.")
    try:
        result, topic = _resolve(q, words)
    except UnknownActor as err:
        return _suggest(
            q, "actor", err.name, [f"{s} {_rest(words, err.name)}" for s in err.suggestions]
        )
    except UnknownTopic as err:
        actor = " ".join(words[: len(words) - len(err.name.split())])
        return _suggest(q, "topic", err.name, [f"{actor} {s}" for s in err.suggestions])
    return Reply(
        NAME,
        stance_message(result, q.newsbot.info(), q.newsbot.topic_label, asked_topic=topic),
        answer=True,
        outcome="ok" if result.positions else "empty",
        actor=result.actor.id,
        topic=result.positions[0].topic if topic and result.positions else None,
        results=len(result.positions),
    )


def _resolve(q: Query, words: list[str]) -> tuple[StanceAnswer, str | None]:
    """Actor names have several words ("United Kingdom"): the longest known one wins."""
    unknown: list[UnknownActor] = []
    for cut in range(len(words), 0, -1):
        topic = " ".join(words[cut:]) or None
        try:
            return q.newsbot.stance(" ".join(words[:cut]), topic), topic
        except UnknownActor as err:
            unknown.append(err)
    raise next((e for e in unknown if e.suggestions), unknown[0])


def _rest(words: list[str], name: str) -> str:
    return " ".join(words[len(name.split()) :])


def _suggest(q: Query, what: str, name: str, suggestions: list[str]) -> Reply:
    text = f"No {what} called “{escape(name)}” in the corpus."
    if suggestions:
        options = " or ".join(f"`{q.command} {NAME} {escape(s.strip())}`" for s in suggestions)
        text += f" Did you mean {options}?"
    else:
        text += f" `{q.command} board` lists the actors with positions."
    return user_error(NAME, text)
