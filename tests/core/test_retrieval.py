"""BM25 retrieval: the right passage for questions about the seeds, and agreement with
textbook BM25 (rank-bm25). How the index lives on disk is tested in test_index.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import Newsbot
from bot.errors import BadLimit
from bot.retrieval import RankBM25Engine
from bot.text import search_tokens


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("€30 billion", "extra €30 billion annually"),
        ("2.5% of GDP", "2.5% of GDP"),
        ("30,000 troops", "European force of 30,000 troops"),
        ("air defence missiles", "5,000 air defense missiles"),
        ("coalition of the willing", "coalition of the willing"),
        ("what could Europe contribute at the negotiating table", "I do not see what Europe"),
        ("Hegseth Europe responsible for its own security", "Pete Hegseth"),
        ("parliamentary approval for troop deployment", "parliamentary approval"),
        ("lift sanctions on Russia", "lift critical sanctions on Russia"),
        ("Meloni Italian troops agenda", "never been on the agenda"),
    ],
)
def test_the_right_passage_ranks_first(newsbot: Newsbot, query: str, expected: str) -> None:
    results = newsbot.search(query, k=3).results
    assert expected in results[0].quote, [r.quote[:80] for r in results]


QUERIES = [
    "troops Ukraine peacekeeping",
    "US backstop security guarantee",
    "defence spending budgets",
    "peace talks Europe seat at the table",
    "sanctions Russia",
    "Poland",
    "Scholz premature",
    "Starmer coalition of the willing",
    "Frederiksen Denmark",
    "Trump Putin call",
]


def test_tantivy_ranks_like_textbook_bm25(newsbot: Newsbot) -> None:
    """Same terms, same k1 and b: the top passages agree with rank-bm25's BM25Okapi. The two
    differ only in idf smoothing, so we ask for the same best passage and 4 of the top 5."""
    reference = RankBM25Engine(newsbot.index.indexed_passages())
    for query in QUERIES:
        terms = search_tokens(query, query=True)
        ours = [pid for pid, _ in newsbot.index.engine.search(terms, 5)]
        theirs = [pid for pid, _ in reference.search(terms, 5)]
        assert ours[0] == theirs[0], query
        assert len(set(ours) & set(theirs)) >= 4, query


def test_a_search_with_no_match_is_empty_not_an_error(newsbot: Newsbot) -> None:
    assert newsbot.search("zzzz qqqq").results == []


def test_a_count_below_one_is_the_callers_error(newsbot: Newsbot) -> None:
    # tantivy panics on a limit of 0; the core answers with an error a user can read.
    with pytest.raises(BadLimit, match="at least 1"):
        newsbot.search("troops", k=0)
    with pytest.raises(BadLimit):
        newsbot.sources(limit=-1)


def test_the_board_is_computed_once_per_corpus_state(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.md").write_text("---\nid: a\ntitle: T\n---\nNorway ruled out sending troops.\n")
    bot = Newsbot.open(folder, tmp_path / "data")
    first = bot.board()
    assert bot.board() is first
    (folder / "b.md").write_text("---\nid: b\ntitle: U\n---\nSweden is ready to send troops.\n")
    assert bot.refresh()
    assert {c.actor.id for c in bot.board().cells} == {"norway", "sweden"}
