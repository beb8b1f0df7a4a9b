"""``newsbot ingest`` as the CronJob and a journalist run it: a real process against pages and a
feed on a loopback web server, into a corpus folder of the test's own."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
from pathlib import Path

from bot.corpus import load_corpus, shipped_corpus_dir
from bot.settings import load_settings
from bot.state import StateStore
from tests.digest.conftest import Desk, ledger_rows
from tests.texts import DENMARK, SPAIN
from tests.web import article_page, rss, serve_site


def test_feeds_are_added_once_digested_and_answerable(desk: Desk) -> None:
    with serve_site() as site:
        dk = site.put(
            "/dk", article_page("Denmark rules out troops", "Nordic Post", "2025-03-10", DENMARK)
        )
        es = site.put(
            "/es", article_page("Spain to raise spending", "Iberia Daily", "2025-03-11", SPAIN)
        )
        feed = site.put("/feed.xml", rss([("dk", dk), ("es", es)]), "application/rss+xml")
        first = desk.run("ingest", "--feeds", NEWSBOT_FEEDS=feed)
        second = desk.run("ingest", "--feeds", NEWSBOT_FEEDS=feed)
    assert first.returncode == 0, first.stderr
    added = [line for line in first.stdout.splitlines() if line.startswith("added ")]
    assert len(added) == 2
    assert "Denmark rules out troops (Nordic Post, 2025-03-10, " in added[0]
    assert "Spain to raise spending (Iberia Daily, 2025-03-11, " in added[1]
    assert first.stdout.splitlines()[-1] == "2 added, 0 skipped, 0 failed"
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[-1] == "0 added, 2 skipped, 0 failed"
    assert f"skipped {dk}: already in the corpus as " in second.stdout
    ledger = ledger_rows(StateStore(load_settings(data_dir=desk.data).state_database()))
    assert [(r.outcome, r.source) for r in ledger] == [
        ("added", dk),
        ("added", es),
        ("skipped", dk),
        ("skipped", es),
    ]

    # The digest of the day after they arrived lists exactly these two.
    arrived = max(a.ingested for a in load_corpus(desk.corpus).articles if a.ingested)
    day = arrived.astimezone(dt.UTC).date() + dt.timedelta(days=1)
    preview = desk.run("digest", "--dry-run", "--json", "--date", f"{day}", DIGEST_TIME="00:00")
    assert preview.returncode == 0, preview.stderr
    digest = json.loads(preview.stdout)
    assert [(a["title"], a["url"]) for a in digest["articles"]] == [
        ("Denmark rules out troops", dk),
        ("Spain to raise spending", es),
    ]

    stance = desk.run("stance", "Denmark", "--topic", "troops", "--json")
    [troops] = json.loads(stance.stdout)["positions"]
    assert troops["stance"] == "oppose"
    assert any(e["outlet"] == "Nordic Post" and e["url"] == dk for e in troops["evidence"])


def test_broken_inputs_are_each_reported_and_the_good_ones_added(
    desk: Desk, tmp_path: Path
) -> None:
    batch = tmp_path / "batch.jsonl"
    good = {"title": "Madrid plan", "outlet": "Iberia Daily", "body": " ".join(SPAIN)}
    batch.write_text(json.dumps(good) + "\n{not json\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("Copenhagen notes\n" + " ".join(DENMARK))
    with serve_site() as site:
        empty = site.put("/empty", "<html><body><nav>Home</nav></body></html>")
        bad_feed = site.put("/bad.xml", "<?xml version='1.0'?><rss><channel><item>", "text/xml")
        unreachable = "http://127.0.0.1:9/closed"
        out = desk.run("ingest", unreachable, empty, bad_feed, str(batch), str(notes))
    assert out.returncode == 1
    failed = dict(line.split(": ", 1) for line in out.stderr.splitlines())
    assert failed.keys() == {
        f"failed {unreachable}",
        f"failed {empty}",
        f"failed {bad_feed}",
        f"failed {batch}:2",
    }
    assert failed[f"failed {unreachable}"].startswith("unreachable: ")
    assert failed[f"failed {empty}"] == "no article text found on the page"
    assert failed[f"failed {bad_feed}"].startswith("malformed feed: ")
    assert failed[f"failed {batch}:2"].startswith("not valid JSON: ")
    added = sorted(line.split(": ", 1)[1] for line in out.stdout.splitlines() if "added " in line)
    assert [a.split(" (")[0] for a in added] == ["Copenhagen notes", "Madrid plan"]
    assert out.stdout.splitlines()[-1] == "2 added, 0 skipped, 4 failed"
    assert len(load_corpus(desk.corpus).articles) == 7


def test_the_shipped_corpus_is_refused(desk: Desk, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Copenhagen notes\n" + " ".join(DENMARK))
    before = sorted(shipped_corpus_dir().rglob("*"))
    out = desk.run("ingest", str(notes), NEWSBOT_CORPUS_DIR="")
    assert out.returncode == 2
    [line] = out.stderr.splitlines()
    assert line.startswith(
        "the shipped corpus is read-only: set --corpus DIR or NEWSBOT_CORPUS_DIR"
    )
    assert sorted(shipped_corpus_dir().rglob("*")) == before


def test_usage_and_settings_errors_are_one_line(desk: Desk) -> None:
    out = desk.run("ingest")
    assert out.returncode == 2 and "ingest needs PATH_OR_URL... or --feeds" in out.stderr
    out = desk.run("ingest", "--feeds")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "NEWSBOT_FEEDS is empty: set it to the feed URLs, separated by commas"
    )
    out = desk.run("ingest", "--feeds", NEWSBOT_FEEDS="https://ok.example/rss, ftp://old/feed")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "invalid settings: NEWSBOT_FEEDS: 'ftp://old/feed' is not an http(s) URL "
        "(separate feeds with commas)"
    )


# `newsbot ingest`, killed (SIGKILL, nothing runs after it) with half an article written.
KILLED_WHILE_WRITING = """
import os, signal, sys
from bot.cli import main

def killed(fd):
    os.ftruncate(fd, os.fstat(fd).st_size // 2)
    os.kill(os.getpid(), signal.SIGKILL)

os.fsync = killed
sys.exit(main(["ingest", *sys.argv[1:]]))
"""


def test_a_killed_ingest_leaves_no_partial_article_and_the_next_run_cleans_up(
    desk: Desk, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Copenhagen notes\n" + " ".join(DENMARK))
    articles = desk.corpus / "articles"
    before = sorted(p.name for p in articles.iterdir())
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_WRITING, str(notes)],
        env=desk.env,
        cwd=desk.data,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [part] = [p for p in articles.iterdir() if p.name not in before]
    assert part.name.startswith(".") and part.name.endswith(".part")
    assert "Copenhagen notes" in part.read_text() and "Britain" not in part.read_text()
    corpus = load_corpus(desk.corpus)
    assert corpus.problems == [] and len(corpus.articles) == len(before)

    again = desk.run("ingest", str(notes))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "1 added, 0 skipped, 0 failed"
    after = sorted(p.name for p in articles.iterdir())
    assert not part.exists() and len(after) == len(before) + 1
    corpus = load_corpus(desk.corpus)
    assert corpus.problems == [] and len(corpus.articles) == len(before) + 1
    stance = desk.run("stance", "Denmark", "--topic", "troops", "--json")
    [troops] = json.loads(stance.stdout)["positions"]
    assert troops["stance"] == "oppose"
