"""Ingestion: feeds, pages, files and exports into the corpus folder, nothing lost, nothing
twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import Newsbot
from bot.corpus import CorpusError, load_corpus, shipped_corpus_dir
from bot.ingest import Fetched, Ingestor, _is_feed, _norm_url, writable
from tests.texts import DENMARK, FLIP, SPAIN, write_wire_export
from tests.web import article_page, rss, serve_site


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
        first = Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data").ingest([feed])
        second = Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data").ingest([feed])
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
        report = Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data").ingest(
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
    write_wire_export(tmp_path / "wire.json")
    report = Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data").ingest(
        [str(tmp_path / "wire.json")]
    )
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
    report = Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data").ingest(
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


@pytest.mark.parametrize(
    ("url", "same_as"),
    [
        ("HTTPS://Nordic.Example/a.php?id=1", "https://nordic.example/a.php?id=1"),
        ("https://nordic.example/a.php?id=1#comments", "https://nordic.example/a.php?id=1"),
        (
            "https://nordic.example/a.php?utm_source=x&id=1&fbclid=y",
            "https://nordic.example/a.php?id=1",
        ),
        (
            "https://nordic.example/a.php?gclid=1&id=1&mc_cid=2&mc_eid=3",
            "https://nordic.example/a.php?id=1",
        ),
        ("https://nordic.example/a.php?b=2&a=1", "https://nordic.example/a.php?a=1&b=2"),
        ("https://nordic.example/news/dk/", "https://nordic.example/news/dk"),
    ],
)
def test_a_url_is_one_article_however_it_is_spelled(url: str, same_as: str) -> None:
    assert _norm_url(url) == _norm_url(same_as)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://nordic.example/a.php?id=1", "https://nordic.example/a.php?id=2"),
        ("https://nordic.example/?p=101", "https://nordic.example/?p=102"),
        ("https://nordic.example/News/DK", "https://nordic.example/news/dk"),  # paths have case
        ("https://nordic.example/a?id=AbC", "https://nordic.example/a?id=abc"),
    ],
)
def test_urls_that_differ_in_their_path_or_query_are_two_articles(one: str, other: str) -> None:
    assert _norm_url(one) != _norm_url(other)


def test_articles_told_apart_by_their_query_are_both_added(
    corpus_dir: Path, tmp_path: Path
) -> None:
    rows = [
        ("https://nordic.example/a.php?id=1", "Denmark rules out troops", DENMARK),
        ("https://nordic.example/a.php?id=2", "Spain to raise spending", SPAIN),
        ("https://NORDIC.example/a.php?utm_medium=rss&id=2#top", "Spain again", SPAIN),
    ]
    (tmp_path / "batch.jsonl").write_text(
        "".join(
            json.dumps({"title": t, "outlet": "Nordic Post", "url": u, "body": " ".join(b)}) + "\n"
            for u, t, b in rows
        )
    )
    report = Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data").ingest(
        [str(tmp_path / "batch.jsonl")]
    )
    assert [a.url for a in report.added] == [rows[0][0], rows[1][0]]
    [(source, why)] = report.skipped
    assert source.endswith("batch.jsonl:3") and why == f"same URL as {report.added[1].id}"


def test_an_identical_copy_from_another_outlet_is_listed_and_counted_once(
    corpus_dir: Path, tmp_path: Path
) -> None:
    wire = " ".join(DENMARK)

    def row(outlet: str, url: str | None) -> dict[str, str]:
        return {"title": "Denmark says no", "outlet": outlet, "body": wire} | (
            {"url": url} if url else {}
        )

    rows = [
        row("Wire", "https://wire.example/dk"),
        row("Other Outlet", "https://other.example/dk"),  # byte-identical, another outlet
        row("Wire", "https://wire.example/dk-mirror"),  # the same outlet at another URL
        row("Wire", "https://wire.example/dk/"),  # a true repeat: the first URL again
        row("Other Outlet", None),  # nothing new: the same text, an outlet already listed
    ]
    (tmp_path / "wire.json").write_text(json.dumps(rows))
    report = Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data").ingest(
        [str(tmp_path / "wire.json")]
    )
    first, *copies = report.added
    assert first.duplicate_of is None
    assert [(c.outlet, c.url, c.duplicate_of) for c in copies] == [
        ("Other Outlet", "https://other.example/dk", first.id),
        ("Wire", "https://wire.example/dk-mirror", first.id),
    ]
    assert [why for _, why in report.skipped] == [
        f"same URL as {first.id}",
        f"same text as {first.id}",
    ]
    bot = Newsbot.open(corpus_dir, tmp_path / "data")
    [troops] = bot.stance("Denmark", "troops").positions
    assert {e.outlet for e in troops.evidence if e.stance == "oppose"} >= {"Wire", "Other Outlet"}
    assert troops.sources_agreeing == 1


def xhtml_page(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0'
        ' Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{title}</title></head>'
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    )


def test_pages_served_as_xml_are_read_as_pages_and_feeds_as_feeds(
    corpus_dir: Path, tmp_path: Path
) -> None:
    with serve_site() as site:
        xhtml = site.put(
            "/xhtml", xhtml_page("Denmark rules out troops", DENMARK), "application/xhtml+xml"
        )
        as_xml = site.put("/as-xml", xhtml_page("Spain to raise spending", SPAIN), "text/xml")
        page = site.put(
            "/fr",
            article_page("France offers to lead", "Paris Soir", "2025-03-12", [FLIP, *DENMARK[2:]]),
        )
        mislabelled_feed = site.put("/feed", rss([("fr", page)]), "text/html")
        report = Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data").ingest(
            [xhtml, as_xml, mislabelled_feed]
        )
    assert report.failed == []
    assert [(a.title, a.url) for a in report.added] == [
        ("Denmark rules out troops", xhtml),
        ("Spain to raise spending", as_xml),
        ("France offers to lead", page),
    ]


@pytest.mark.parametrize(
    ("content_type", "body", "feed"),
    [
        ("application/rss+xml", "<rss version='2.0'>", True),
        ("application/atom+xml", "<feed xmlns='http://www.w3.org/2005/Atom'>", True),
        ("text/xml", "<?xml version='1.0'?><rss><channel><item>", True),
        ("application/xml", "<?xml version='1.0'?>\n<!-- hi -->\n<rdf:RDF>", True),
        ("text/html", "\ufeff<?xml version='1.0'?><feed>", True),
        ("application/octet-stream", "  <rss>", True),
        ("application/xhtml+xml", "<?xml version='1.0'?><html><body>", False),
        ("application/xml", "<!DOCTYPE html><html><body>", False),
        ("text/html", "<?xml version='1.0'?><html>", False),
        ("text/html", "<html><body>rss feed</body></html>", False),
    ],
)
def test_a_feed_is_told_by_its_type_and_first_element(
    content_type: str, body: str, feed: bool
) -> None:
    assert _is_feed(Fetched("https://x.example/", content_type, body.encode())) is feed


def test_a_feed_entry_gives_the_title_and_date_the_page_does_not(
    corpus_dir: Path, tmp_path: Path
) -> None:
    bare = "<html><body><div>" + "".join(f"<p>{p}</p>" for p in DENMARK) + "</div></body></html>"
    with serve_site() as site:
        page = site.put("/dk", bare)
        feed = site.put(
            "/feed.xml",
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Desk feed</title>'
            "<link>http://127.0.0.1/</link><description>d</description><item>"
            f"<title>Denmark rules out troops</title><link>{page}</link>"
            "<pubDate>Mon, 10 Mar 2025 09:00:00 GMT</pubDate></item></channel></rss>",
            "application/rss+xml",
        )
        report = Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data").ingest([feed])
    [added] = report.added
    assert (added.title, str(added.published)) == ("Denmark rules out troops", "2025-03-10")
    [article] = [a for a in load_corpus(corpus_dir).articles if a.id == added.id]
    assert article.title_added_by_desk is False
