"""Digest content: new articles, who moved, quiet days."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot import Newsbot
from bot.corpus import load_corpus
from bot.digest import build_digest, movement, snapshot
from bot.ingest import Ingestor
from tests.texts import FLIP, write_wire_export

DAY = dt.date(2025, 3, 11)
SINCE = dt.datetime(2025, 3, 10, 7, 0, tzinfo=dt.UTC)
UNTIL = dt.datetime(2025, 3, 11, 7, 0, tzinfo=dt.UTC)


def ingest_at(corpus_dir: Path, when: dt.datetime, path: Path) -> None:
    Ingestor(load_corpus(corpus_dir), now=lambda: when).ingest([str(path)])


def test_a_flipping_article_is_a_change(corpus_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "dk.txt").write_text("Denmark rules out troops\n" + FLIP)
    ingest_at(corpus_dir, SINCE + dt.timedelta(hours=3), tmp_path / "dk.txt")
    bot = Newsbot.open(corpus_dir, tmp_path / "data")
    digest, snap = build_digest(bot, DAY, SINCE, UNTIL)
    assert [a.title for a in digest.articles] == ["Denmark rules out troops"]
    assert digest.articles[0].actors == ["Denmark"]
    [change] = [c for c in digest.changes if c.actor.id == "denmark" and c.topic == "troops"]
    assert (change.before, change.after, change.new_sources) == ("undecided", "oppose", 1)
    assert change.evidence is not None and "ruled out" in change.evidence.quote
    assert not digest.quiet
    assert snap["denmark|troops"]["stance"] == "oppose"
    # The next day, against that snapshot, nothing has moved.
    later, _ = build_digest(
        bot, DAY + dt.timedelta(days=1), UNTIL, UNTIL + dt.timedelta(days=1), snap
    )
    assert later.changes == [] and later.articles == [] and later.quiet


def test_articles_outside_the_period_are_not_new(corpus_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "dk.txt").write_text("Denmark rules out troops\n" + FLIP)
    ingest_at(corpus_dir, SINCE - dt.timedelta(hours=1), tmp_path / "dk.txt")
    bot = Newsbot.open(corpus_dir, tmp_path / "data")
    digest, _ = build_digest(bot, DAY, SINCE, UNTIL)
    assert digest.articles == [] and digest.changes == [] and digest.quiet


def test_many_actors_are_cut_at_ten(corpus_dir: Path, tmp_path: Path) -> None:
    names = "Poland, Germany, France, Italy, Spain, Denmark, Sweden, Finland, Norway, Canada, "
    names += "Hungary and Slovakia"
    (tmp_path / "m.txt").write_text(f"Summit\nLeaders of {names} met in Brussels on Monday.")
    ingest_at(corpus_dir, SINCE + dt.timedelta(hours=1), tmp_path / "m.txt")
    bot = Newsbot.open(corpus_dir, tmp_path / "data")
    [article] = build_digest(bot, DAY, SINCE, UNTIL)[0].articles
    assert len(article.actors) == 10 and article.more_actors == 2


def test_an_article_after_the_period_is_left_to_the_next_digest(
    corpus_dir: Path, tmp_path: Path
) -> None:
    """A retry or a backfill built after more articles arrived: its board, changes and snapshot
    are the corpus as it was at the end of its period, so the next digest reports the move."""
    posted = snapshot(Newsbot.open(corpus_dir, tmp_path / "before").board())  # the last digest
    (tmp_path / "dk.txt").write_text("Denmark rules out troops\n" + FLIP)
    ingest_at(corpus_dir, UNTIL + dt.timedelta(hours=1), tmp_path / "dk.txt")  # after the period
    bot = Newsbot.open(corpus_dir, tmp_path / "data")
    assert snapshot(bot.board())["denmark|troops"]["stance"] == "oppose"  # the board now

    late, snap = build_digest(bot, DAY, SINCE, UNTIL, posted)
    assert late.articles == [] and late.changes == [] and late.quiet
    [cell] = [c for c in late.board.cells if (c.actor.id, c.topic) == ("denmark", "troops")]
    assert cell.stance == "undecided"
    assert snap == posted

    # The next digest lists the article and the move it causes.
    nxt, _ = build_digest(
        bot, DAY + dt.timedelta(days=1), UNTIL, UNTIL + dt.timedelta(days=1), snap
    )
    assert [a.title for a in nxt.articles] == ["Denmark rules out troops"]
    [change] = [c for c in nxt.changes if (c.actor.id, c.topic) == ("denmark", "troops")]
    assert (change.before, change.after, change.new_sources) == ("undecided", "oppose", 1)


def test_a_wire_story_and_its_copies_are_one_new_independent_source(
    corpus_dir: Path, tmp_path: Path
) -> None:
    write_wire_export(tmp_path / "wire.json")
    ingest_at(corpus_dir, SINCE + dt.timedelta(hours=3), tmp_path / "wire.json")
    bot = Newsbot.open(corpus_dir, tmp_path / "data")
    digest, _ = build_digest(bot, DAY, SINCE, UNTIL)
    assert len(digest.articles) == 3  # every outlet's copy is listed as a new article
    [change] = [c for c in digest.changes if (c.actor.id, c.topic) == ("denmark", "troops")]
    assert (change.before, change.after) == ("undecided", "oppose")
    assert (change.sources_after, change.new_sources) == (1, 1)  # but it is one source
    assert movement(change, str) == "undecided → oppose, 1 new independent source"


def test_the_movement_line_says_independent_sources(corpus_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "dk.txt").write_text("Denmark rules out troops\n" + FLIP)
    ingest_at(corpus_dir, SINCE + dt.timedelta(hours=3), tmp_path / "dk.txt")
    bot = Newsbot.open(corpus_dir, tmp_path / "data")
    [change] = [
        c
        for c in build_digest(bot, DAY, SINCE, UNTIL)[0].changes
        if (c.actor.id, c.topic) == ("denmark", "troops")
    ]
    more = change.model_copy(update={"before": "oppose", "sources_before": 1, "sources_after": 3})
    more = more.model_copy(update={"new_sources": 2})
    assert (
        movement(more, str) == "oppose, 1 → 3 independent sources agree, 2 new independent sources"
    )
    one = change.model_copy(update={"before": "oppose", "sources_before": 0, "sources_after": 1})
    assert movement(one, str).startswith("oppose, 0 → 1 independent source agrees")
