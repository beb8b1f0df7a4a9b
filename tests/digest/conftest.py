"""Fixtures for the ingestion and digest tests: a corpus folder of the test's own, the Slack
Web API stand-in, and ``newsbot`` run as a real process with the environment a desk sets."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.corpus import load_corpus
from bot.ingest import Ingestor
from bot.state import StateStore, ingest_ledger
from tests.slack.conftest import BOT_TOKEN
from tests.slack.stand_in import SlackStandIn

NEWSBOT = str(Path(sys.executable).with_name("newsbot"))
PREFIXES = ("SLACK_", "NEWSBOT_", "DIGEST_")

# A fixed day, so that the digest's period never depends on the clock: articles "arrive" at
# noon the day before, inside the period of the digest of DAY at 07:00 UTC.
DAY = dt.date(2025, 3, 11)
ARRIVED = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer settings leak in: neither the environment nor a ``.env`` file."""
    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def stand_in() -> Iterator[SlackStandIn]:
    server = SlackStandIn()
    yield server
    server.close()


def arrive(corpus_dir: Path, path: Path, when: dt.datetime = ARRIVED) -> None:
    """Ingest ``path`` as if it had arrived at ``when``."""
    report = Ingestor(load_corpus(corpus_dir), now=lambda: when).ingest([str(path)])
    assert report.added and not report.failed, report


def ledger_rows(state: StateStore) -> list[sa.Row]:
    """The ingest ledger in the order it was written; the store's connections are closed."""
    with state.engine.connect() as db:
        rows = db.execute(sa.select(ingest_ledger).order_by(ingest_ledger.c.id)).all()
    state.engine.dispose()
    return list(rows)


@dataclass
class Desk:
    """A desk's install: its corpus and data folders, and the environment ``newsbot`` runs in."""

    corpus: Path
    data: Path
    env: dict[str, str]

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [NEWSBOT, *args],
            env={**self.env, **env},
            cwd=self.data,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [NEWSBOT, *args],
            env={**self.env, **env},
            cwd=self.data,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def desk(corpus_dir: Path, tmp_path: Path, stand_in: SlackStandIn) -> Desk:
    data = tmp_path / "data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update(
        NEWSBOT_CORPUS_DIR=str(corpus_dir),
        NEWSBOT_DATA_DIR=str(data),
        NEWSBOT_LOG_FORMAT="json",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=stand_in.base_url,
        DIGEST_TZ="UTC",
        DIGEST_TIME="07:00",
        DIGEST_PACE_S="1",
    )
    return Desk(corpus_dir, data, env)
