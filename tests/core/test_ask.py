"""Questions: actors and topics read from the words, thread context for follow-ups."""

from __future__ import annotations

import pytest

from bot import Newsbot
from bot.errors import EmptyQuery


def test_question_with_actor_and_topic_gets_the_stance(newsbot: Newsbot) -> None:
    answer = newsbot.ask("What did Meloni say about sending troops?")
    assert [a.id for a in answer.actors] == ["italy"]
    assert answer.topics == ["troops"]
    assert answer.stance is not None
    assert answer.stance.positions[0].stance == "oppose"


def test_who_called_it_premature(newsbot: Newsbot) -> None:
    answer = newsbot.ask("Who called the troop debate premature?")
    assert "premature" in answer.results[0].quote
    assert "Scholz" in answer.results[0].quote


def test_how_much_will_germany_spend(newsbot: Newsbot) -> None:
    answer = newsbot.ask("How much will Germany spend on defence?")
    assert any("€30 billion" in r.quote for r in answer.results[:3])


def test_follow_ups_reuse_the_thread_context(newsbot: Newsbot) -> None:
    spain = newsbot.ask("and Spain?", actor="italy", topic="troops")
    assert [a.id for a in spain.actors] == ["spain"] and spain.topics == ["troops"]
    assert spain.stance is not None and spain.stance.actor.id == "spain"
    sanctions = newsbot.ask("what about sanctions?", actor="russia", topic="troops")
    assert [a.id for a in sanctions.actors] == ["russia"]
    assert sanctions.topics == ["sanctions"]


def test_empty_question(newsbot: Newsbot) -> None:
    with pytest.raises(EmptyQuery):
        newsbot.ask("  ")
