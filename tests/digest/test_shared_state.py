"""Two instances of ``newsbot`` on different machines (each with a data folder of its own)
sharing one PostgreSQL state database: the digest of a channel and day is posted once, and
the next day's digest compares with the snapshot that the other instance posted. And what
``/ukraine add`` did is in the ingest ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot import Newsbot
from bot.settings import load_settings
from bot.state import open_state
from handlers.command import answer
from tests.digest.conftest import DAY, Desk, arrive, ledger_rows
from tests.digest.test_digest_post import headers_in
from tests.postgres import PostgresServer
from tests.slack.stand_in import SlackStandIn
from tests.texts import DENMARK, FLIP
from tests.web import article_page, serve_site


@pytest.fixture
def machines(desk: Desk, tmp_path: Path, postgres: PostgresServer) -> list[dict[str, str]]:
    """The environment of each instance: its own data folder, the one state database."""
    (tmp_path / "dk.txt").write_text("Denmark rules out troops\n" + FLIP)
    arrive(desk.corpus, tmp_path / "dk.txt")
    url = postgres.create_database()
    return [
        {"NEWSBOT_DATA_DIR": str(tmp_path / f"data-{name}"), "NEWSBOT_STATE_URL": url}
        for name in ("a", "b")
    ]


def test_two_instances_racing_post_each_digest_once(
    desk: Desk, machines: list[dict[str, str]], stand_in: SlackStandIn
) -> None:
    for channel in ("C0PGRACE01", "C0PGRACE02", "C0PGRACE03"):
        runs = [
            desk.start("digest", "--post", "--date", f"{DAY}", "--channel", channel, **env)
            for env in machines
        ]
        outputs = [run.communicate(timeout=120) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        assert len(headers_in(stand_in, channel)) == 1
        lines = sorted(out.strip() for out, _ in outputs)
        assert sum(line.startswith("posted the digest of 2025-03-11") for line in lines) == 1
        assert lines[0].startswith(("already done", "not posted: another run")), lines


def test_the_other_instance_sees_the_posted_digest_and_its_snapshot(
    desk: Desk, machines: list[dict[str, str]], stand_in: SlackStandIn
) -> None:
    channel = "C0PGSEQ001"
    a, b = machines
    posted = desk.run("digest", "--post", "--date", f"{DAY}", "--channel", channel, **a)
    assert posted.returncode == 0 and posted.stdout.startswith("posted"), posted.stderr
    again = desk.run("digest", "--post", "--date", f"{DAY}", "--channel", channel, **b)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("already done: the digest of 2025-03-11")
    assert len(headers_in(stand_in, channel)) == 1

    state = open_state(load_settings(state_url=b["NEWSBOT_STATE_URL"]))
    last = state.last_posted(channel, f"{DAY + dt.timedelta(days=1)}")
    state.engine.dispose()
    assert last is not None and last.day == f"{DAY}"
    assert last.snapshot["denmark|troops"]["stance"] == "oppose"


def test_what_add_did_is_in_the_ledger(desk: Desk, postgres: PostgresServer) -> None:
    settings = load_settings(
        corpus_dir=desk.corpus,
        data_dir=desk.data,
        state_url=postgres.create_database(),
        allow_private_urls=True,  # the test's pages are on 127.0.0.1
    )
    state = open_state(settings)
    bot = Newsbot.open(desk.corpus, desk.data)
    with serve_site() as site:
        page = article_page("Denmark rules out troops", "Nordic Post", "2025-03-10", DENMARK)
        url, gone = site.put("/dk", page), f"{site.base}/gone"
        for text in (f"add {url}", f"add {url}", f"add {gone}"):
            answer(bot, "/ukraine", text, settings, state)
    ledger = ledger_rows(state)
    assert [(r.outcome, r.source) for r in ledger] == [
        ("added", url),
        ("skipped", url),
        ("failed", gone),
    ]
    assert ledger[0].article_id and ledger[0].url == url
    assert ledger[1].detail.startswith("already in the corpus")
    assert ledger[2].detail == "unreachable: HTTP 404"
