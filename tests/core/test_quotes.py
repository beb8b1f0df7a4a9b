"""Traceability: every quote shown is an exact substring of its article."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import Newsbot
from bot.corpus import load_corpus

# The article files as stored: quotes are checked against them, not against the index.
BODIES = {a.id: a.body for a in load_corpus().articles}


def _check(newsbot: Newsbot, quote: str, article_id: str) -> None:
    assert quote and quote in BODIES[article_id]


def test_every_stance_quote_for_every_actor_is_verbatim(newsbot: Newsbot) -> None:
    count = 0
    for actor in newsbot.lexicon.actors:
        for position in newsbot.stance(actor).positions:
            for e in position.evidence:
                _check(newsbot, e.quote, e.article_id)
                count += 1
            assert position.summary.count("“") >= 1
    assert count > 20  # the corpus does give evidence; an empty loop proves nothing


def test_summaries_quote_cue_words_from_the_article(newsbot: Newsbot) -> None:
    for cell in newsbot.board().cells:
        [position] = newsbot.stance(cell.actor.id, cell.topic).positions
        cue = position.summary.split("key words “", 1)[1].split("”", 1)[0]
        assert any(cue in e.quote for e in position.evidence), position.summary


WORDS = st.sampled_from(
    "troops backstop Poland Meloni sanctions 2.5% €30 spending Scholz premature "
    "peace talks table Russia Trump guarantee NATO Denmark soldiers agenda".split()
)


@settings(max_examples=60, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=5))
def test_search_and_ask_quotes_are_verbatim(newsbot: Newsbot, words: list[str]) -> None:
    query = " ".join(words)
    for hit in newsbot.search(query, k=5).results:
        _check(newsbot, hit.quote, hit.article_id)
    answer = newsbot.ask(query)
    for hit in answer.results:
        _check(newsbot, hit.quote, hit.article_id)
    if answer.stance:
        for p in answer.stance.positions:
            for e in p.evidence:
                _check(newsbot, e.quote, e.article_id)
