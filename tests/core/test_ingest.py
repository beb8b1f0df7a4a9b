"""Ingestion: feeds, pages, files and exports into the corpus folder, nothing lost, nothing
twice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import Newsbot
from bot.corpus import CorpusError, load_corpus, shipped_corpus_dir
from bot.ingest import Ingestor, writable
from tests.texts import DENMARK, SPAIN
from tests.web import article_page, rss, serve_site


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(shipped_corpus_dir(), folder)
    return folder


def test_feed_pages_are_added_once_and_answerable(corpus_dir: Path, tmp_path: Path) -> None:
    bot = Newsbot.open(corpus_dir, tmp_path / "data")
    assert "troops" not in {
        p.topic for p in bot.stance("Denmark").positions if p.stance == "oppose"
    }
    with serve_site() as site:
        one = site.put(
            "/dk", article_page("Denmark rules out troops", "Nordic Post", "2025-03-10", DENMARK)
        )
        two = site.put(
            "/es", article_page("Spain to raise spending", "Iberia Daily", "2025-03-11", SPAIN)
        )
        feed = site.put("/feed.xml", rss([("dk", one), ("es", two)]), "application/rss+xml")
        first = Ingestor(load_corpus(corpus_dir)).ingest([feed])
        second = Ingestor(load_corpus(corpus_dir)).ingest([feed])
    assert [(a.title, a.outlet, str(a.published)) for a in first.added] == [
        ("Denmark rules out troops", "Nordic Post", "2025-03-10"),
        ("Spain to raise spending", "Iberia Daily", "2025-03-11"),
    ]
    assert first.failed == [] and second.added == []
    assert [why.split(" as ")[0] for _, why in second.skipped] == ["already in the corpus"] * 2
    assert bot.refresh()
    [troops] = bot.stance("Denmark", "troops").positions
    assert any(e.outlet == "Nordic Post" and e.stance == "oppose" for e in troops.evidence)
    [spending] = bot.stance("Spain", "defence_spending").positions
    assert spending.stance == "support" and spending.evidence[0].url == two


def test_broken_inputs_are_reported_and_lose_nothing(corpus_dir: Path, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    good = {
        "title": "Madrid plan",
        "outlet": "Iberia Daily",
        "published": "2025-03-12",
        "url": "https://iberia.example/plan",
        "body": " ".join(SPAIN),
    }
    (exports / "batch.jsonl").write_text(
        json.dumps(good) + "\n{not json\n" + json.dumps({"title": "no body"}) + "\n"
    )
    (exports / "notes.txt").write_text("Copenhagen notes\n" + " ".join(DENMARK))
    with serve_site() as site:
        empty = site.put("/empty", "<html><body><nav>Home</nav></body></html>")
        bad_feed = site.put(
            "/bad.xml", "<?xml version='1.0'?><rss><channel><item>", "application/rss+xml"
        )
        report = Ingestor(load_corpus(corpus_dir)).ingest(
            [empty, bad_feed, site.base + "/missing", "http://127.0.0.1:9/closed", str(exports)]
        )
    failed = dict(report.failed)
    assert "no article text" in failed[empty]
    assert "malformed feed" in failed[bad_feed]
    assert "HTTP 404" in failed[site.base + "/missing"]
    assert "unreachable" in failed["http://127.0.0.1:9/closed"]
    assert "not valid JSON" in failed[f"{exports / 'batch.jsonl'}:2"]
    assert "no body" in failed[f"{exports / 'batch.jsonl'}:3"]
    assert sorted(a.title for a in report.added) == ["Copenhagen notes", "Madrid plan"]
    corpus = load_corpus(corpus_dir)
    assert corpus.problems == [] and len(corpus.articles) == 7
    assert not list(corpus_dir.rglob("*.part"))  # no half-written file


def test_a_republished_wire_story_counts_once(corpus_dir: Path, tmp_path: Path) -> None:
    wire = " ".join(DENMARK)
    rows = [
        {
            "title": "Denmark says no",
            "outlet": outlet,
            "url": f"https://{outlet}.example/dk",
            "published": "2025-03-10",
            "body": wire + tail,
        }
        for outlet, tail in [("wire", ""), ("daily", " Reporting by staff."), ("post", " (AFP)")]
    ]
    (tmp_path / "wire.json").write_text(json.dumps(rows))
    report = Ingestor(load_corpus(corpus_dir)).ingest([str(tmp_path / "wire.json")])
    first, *copies = report.added
    assert first.duplicate_of is None
    assert [c.duplicate_of for c in copies] == [first.id, first.id]
    bot = Newsbot.open(corpus_dir, tmp_path / "data")
    [troops] = bot.stance("Denmark", "troops").positions
    outlets = {e.outlet for e in troops.evidence if e.stance == "oppose"}
    assert outlets == {"wire", "daily", "post"}  # every outlet that carried it is listed
    assert troops.sources_agreeing == 1  # but it is one independent source


def test_the_same_text_or_url_twice_is_one_article(corpus_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Headline\n" + " ".join(SPAIN))
    (tmp_path / "b.txt").write_text("Headline\n" + " ".join(SPAIN))
    report = Ingestor(load_corpus(corpus_dir)).ingest(
        [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    )
    assert len(report.added) == 1
    assert report.skipped[0][1].startswith("same text as")


def test_the_shipped_corpus_is_never_written(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="read-only"):
        writable(load_corpus(), shipped_corpus_dir())


def test_two_ingests_at_once_add_an_article_once(corpus_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "es.txt").write_text("Spain to raise spending\n" + " ".join(SPAIN))
    env = {**os.environ, "NEWSBOT_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "bot.cli", "--corpus", str(corpus_dir), "ingest"]
    runs = [
        subprocess.Popen([*command, str(tmp_path / "es.txt")], env=env, stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert sum(out.count("\nadded ") + out.startswith("added ") for out in outputs) == 1
    assert len(list((corpus_dir / "articles").glob("*.md"))) == 6
