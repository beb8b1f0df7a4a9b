"""Digest content: new articles, who moved, quiet days."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot import Newsbot
from bot.corpus import load_corpus, shipped_corpus_dir
from bot.digest import build_digest
from bot.ingest import Ingestor
from tests.texts import FLIP

DAY = dt.date(2025, 3, 11)
SINCE = dt.datetime(2025, 3, 10, 7, 0, tzinfo=dt.UTC)
UNTIL = dt.datetime(2025, 3, 11, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(shipped_corpus_dir(), folder)
    return folder


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
