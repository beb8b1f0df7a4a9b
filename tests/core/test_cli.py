"""The ``newsbot`` command as a user runs it: a real process, its output and exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STANCE_KEYS = {"topic", "stance", "confidence", "summary", "sources_agreeing", "disagreement"}
EVIDENCE_KEYS = {"quote", "article_id", "title", "outlet", "url", "published", "stance", "speaker"}
HIT_KEYS = {"quote", "article_id", "title", "outlet", "url", "published", "score"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("data")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NEWSBOT_"))}
    env["NEWSBOT_DATA_DIR"] = str(data)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    return run


def test_stance_json_contract(run) -> None:
    out = run("stance", "Poland", "--json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["actor"] == {"id": "poland", "name": "Poland"}
    assert set(answer) == {"actor", "positions"}
    for p in answer["positions"]:
        assert set(p) == STANCE_KEYS | {"evidence"}
        for e in p["evidence"]:
            assert set(e) == EVIDENCE_KEYS
    stances = {p["topic"]: p["stance"] for p in answer["positions"]}
    assert stances["troops"] == "oppose"


def test_stance_for_one_topic(run) -> None:
    answer = json.loads(run("stance", "Meloni", "--topic", "troops", "--json").stdout)
    assert [p["topic"] for p in answer["positions"]] == ["troops"]


def test_human_output_shows_quotes_and_sources(run) -> None:
    out = run("stance", "Poland")
    assert out.returncode == 0
    assert "oppose" in out.stdout and "will not send troops" in out.stdout
    assert "No position found" in out.stdout


def test_one_topic_in_the_terminal_lists_only_that_topic(run) -> None:
    # Poland supports defence spending: asking only about troops must not call that missing.
    out = run("stance", "Poland", "--topic", "troops")
    assert out.returncode == 0
    assert "oppose" in out.stdout and "Defence spending" not in out.stdout
    assert "No position found" not in out.stdout
    out = run("stance", "Poland", "--topic", "sanctions")
    assert "No position found: Sanctions" in out.stdout
    assert "on any topic" not in out.stdout


@pytest.mark.parametrize("args", [("search", "troops", "-k", "0"), ("sources", "--limit", "-1")])
def test_a_count_below_one_is_refused_without_a_traceback(run, args: tuple[str, ...]) -> None:
    out = run(*args)
    assert out.returncode == 2
    assert "at least 1" in out.stderr and "Traceback" not in out.stderr + out.stdout


def test_search_and_ask_json(run) -> None:
    search = json.loads(run("search", "€30", "billion", "-k", "2", "--json").stdout)
    assert search["query"] == "€30 billion"
    assert len(search["results"]) == 2
    assert all(set(r) == HIT_KEYS for r in search["results"])
    ask = json.loads(run("ask", "What did Meloni say about sending troops?", "--json").stdout)
    assert ask["stance"]["actor"]["id"] == "italy"
    assert [p["topic"] for p in ask["stance"]["positions"]] == ["troops"]
    assert "Meloni" in ask["results"][0]["quote"]


def test_sources_newest_first(run) -> None:
    articles = json.loads(run("sources", "--json").stdout)["articles"]
    assert len(articles) == 5
    dates = [a["published"] for a in articles]
    assert dates == sorted(dates, reverse=True)


def test_unknown_actor_suggests_and_exits_non_zero(run) -> None:
    out = run("stance", "Polnad")
    assert out.returncode == 2
    assert "Did you mean Poland" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_unknown_topic(run) -> None:
    out = run("stance", "Poland", "--topic", "troop")
    assert out.returncode == 2
    assert "troops" in out.stderr and "Traceback" not in out.stderr


def test_empty_query_prints_usage(run) -> None:
    out = run("search", "   ")
    assert out.returncode == 2
    assert "usage:" in out.stderr and "Traceback" not in out.stderr


def test_no_command_prints_help(run) -> None:
    out = run()
    assert out.returncode == 2 and "stance" in out.stderr


def test_corpus_option_and_broken_file_report(run, tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "---\nid: a\ntitle: Oslo\npublished: 2025-03-03\n---\nNorway ruled out sending troops.\n"
    )
    (tmp_path / "b.md").write_text("no front matter\n")
    out = run("--corpus", str(tmp_path), "stance", "Norway", "--json")
    assert out.returncode == 0
    assert json.loads(out.stdout)["positions"][0]["stance"] == "oppose"
    assert "skipped b.md:1: missing front matter" in out.stderr


def test_the_core_does_not_import_slack() -> None:
    code = (
        "import sys, bot, bot.cli; "
        "sys.exit(any(m.split('.')[0] in {'slack_bolt', 'slack_sdk'} for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
