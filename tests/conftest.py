"""Fixtures shared by the tests: one index of the shipped corpus per session and engine, a
copy of that corpus per test, an OpenSearch cluster (or its stand-in), a PostgreSQL server of
the session's own, and a new state database on SQLite and on that server."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from bot import Newsbot
from bot.corpus import shipped_corpus_dir
from bot.settings import Settings
from bot.state import StateStore
from tests.opensearch import OpenSearchUnavailable, cluster
from tests.postgres import PostgresServer, PostgresUnavailable
from tests.postgres import start as start_postgres

# CI must not fail on a submission because a random example appeared that day: the default
# profile replays the same examples every run. `HYPOTHESIS_PROFILE=explore make test` searches
# wide with fresh randomness; what it finds becomes a fix and, where useful, an @example.
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", max_examples=2000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
# Read once at start: the fixtures of tests/slack and tests/digest remove NEWSBOT_* variables.
SKIP_POSTGRES = os.environ.get("NEWSBOT_SKIP_POSTGRES") == "1"
# A real cluster to run the OpenSearch tests against; unset, a stand-in (tests/opensearch.py).
OPENSEARCH_URL = os.environ.get("OPENSEARCH_URL") or None
ENGINES = ["embedded", "opensearch"]


@pytest.fixture(scope="session")
def opensearch() -> Iterator[Settings]:
    """Settings for the session's OpenSearch: a stand-in, or OPENSEARCH_URL's cluster. Where
    neither answers, the OpenSearch tests fail: they never skip."""
    try:
        with cluster(OPENSEARCH_URL) as settings:
            yield settings
    except OpenSearchUnavailable as err:
        pytest.fail(f"OpenSearch stand-in could not be started: {err}")


@pytest.fixture(scope="session")
def embedded_newsbot(tmp_path_factory: pytest.TempPathFactory) -> Newsbot:
    return Newsbot.open(data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def opensearch_newsbot(tmp_path_factory: pytest.TempPathFactory, opensearch: Settings) -> Newsbot:
    return Newsbot.open(data_dir=tmp_path_factory.mktemp("data"), settings=opensearch)


@pytest.fixture(scope="session", params=ENGINES)
def newsbot(request: pytest.FixtureRequest) -> Newsbot:
    """The shipped corpus's bot, once per engine: every test that takes it runs on both."""
    bot: Newsbot = request.getfixturevalue(f"{request.param}_newsbot")
    return bot


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A copy of the shipped corpus folder that the test may change."""
    folder = tmp_path / "corpus"
    shutil.copytree(shipped_corpus_dir(), folder)
    return folder


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the session's own. Where it cannot start, its tests fail: only
    NEWSBOT_SKIP_POSTGRES=1 (read at start, for a developer's machine without it) skips them."""
    if SKIP_POSTGRES:
        pytest.skip("NEWSBOT_SKIP_POSTGRES=1: the PostgreSQL tests are skipped")
    try:
        server = start_postgres()
    except PostgresUnavailable as err:
        pytest.fail(
            f"PostgreSQL could not be started: {err}. Install it (Debian: apt-get install "
            "postgresql), or set NEWSBOT_SKIP_POSTGRES=1 to skip these tests on this machine."
        )
    yield server
    server.stop()


def new_state_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """A new, empty state database: a SQLite file (``kind`` "sqlite"), or a database on the
    session's server ("postgresql")."""
    if kind == "sqlite":
        return tmp_path / "state.sqlite3"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """A new, empty state database, once on each: every test that takes it runs on both."""
    return new_state_database(request.param, request, tmp_path)


@pytest.fixture
def store(database: str | Path) -> Iterator[StateStore]:
    """The state store on ``database``."""
    state = StateStore(database)
    yield state
    state.engine.dispose()  # the server's connections are few: none left open per test


def race(attempt: Callable[[], bool], n: int = 16) -> list[bool]:
    """``attempt`` in ``n`` threads released at once: what each returned."""
    start = threading.Barrier(n)
    results: list[bool] = []
    lock = threading.Lock()

    def run() -> None:
        start.wait()
        won = attempt()
        with lock:
            results.append(won)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
