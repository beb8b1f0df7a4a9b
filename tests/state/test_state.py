"""The shared state's behaviour, the same tests on SQLite and on a real PostgreSQL server:
digest claims and snapshots, event de-duplication, the ingest ledger, feedback, the schema."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from bot.app import dedupe_events
from bot.ingest import Added, IngestReport
from bot.settings import SettingsError, load_settings
from bot.state import (
    SCHEMA_VERSION,
    ClaimLost,
    StateStore,
    feedback,
    ingest_ledger,
    metadata,
    open_state,
    schema_version,
)
from tests.conftest import race
from tests.postgres import PostgresServer

DAY = "2025-03-11"


def rows(state: StateStore, table: sa.Table) -> list[dict[str, object]]:
    with state.engine.connect() as db:
        return [dict(row._mapping) for row in db.execute(sa.select(table))]


# --- digests -------------------------------------------------------------------------------


def test_a_digest_is_claimed_once_then_posted(store: StateStore) -> None:
    assert store.claim("C1", DAY, "a")
    assert not store.claim("C1", DAY, "b")  # held by a
    assert store.claim("C2", DAY, "b") and store.claim("C1", "2025-03-12", "b")
    assert store.posted("C1", DAY) is None

    snapshot: dict[str, dict[str, object]] = {"denmark|troops": {"stance": "oppose", "n": 2}}
    store.complete("C1", DAY, "a", "1741676400.000100", snapshot)
    assert store.posted("C1", DAY) == "1741676400.000100"
    assert not store.claim("C1", DAY, "c")  # posted: never again
    last = store.last_posted("C1", "2025-03-12")
    assert last is not None
    assert (last.day, last.snapshot) == (DAY, snapshot)
    assert store.last_posted("C1", DAY) is None  # strictly before the day asked about
    assert store.last_posted("C2", "2025-03-12") is None  # claimed, not posted


def test_the_newest_digest_before_a_day_is_the_last_posted(store: StateStore) -> None:
    for day in ("2025-03-09", "2025-03-11", "2025-03-10"):
        assert store.claim("C1", day, "a")
        store.complete("C1", day, "a", f"ts-{day}", {"day": {"v": day}})
    last = store.last_posted("C1", "2025-03-11")
    assert last is not None and last.day == "2025-03-10"
    assert last.snapshot == {"day": {"v": "2025-03-10"}}


def test_a_released_claim_can_be_taken_again(store: StateStore) -> None:
    assert store.claim("C1", DAY, "a")
    store.release("C1", DAY, "b")  # not b's: nothing happens
    assert not store.claim("C1", DAY, "c")
    store.release("C1", DAY, "a")
    assert store.claim("C1", DAY, "c")


def test_a_stale_claim_is_taken_over_and_its_holder_cannot_complete(
    store: StateStore, database: str | Path
) -> None:
    assert store.claim("C1", DAY, "crashed")
    impatient = StateStore(database, stale_after=0.0)  # every claim is older than 0 s
    assert impatient.claim("C1", DAY, "next")
    assert not store.hold("C1", DAY, "crashed")  # the old holder wakes up: not its claim
    with pytest.raises(ClaimLost, match="no longer crashed's"):
        store.complete("C1", DAY, "crashed", "ts-late", {})  # no effect, and it says so
    assert store.posted("C1", DAY) is None
    assert impatient.hold("C1", DAY, "next")
    impatient.complete("C1", DAY, "next", "ts-next", {})
    assert store.posted("C1", DAY) == "ts-next"
    assert not impatient.claim("C1", DAY, "another")  # posted is never stale


def test_a_lost_claim_cannot_be_completed(store: StateStore) -> None:
    assert store.claim("C1", DAY, "a")
    store.release("C1", DAY, "a")
    with pytest.raises(ClaimLost):
        store.complete("C1", DAY, "a", "ts", {})
    assert store.posted("C1", DAY) is None and store.claim("C1", DAY, "b")


def test_a_posted_pending_claim_is_never_taken_over_and_is_adopted_once_stale(
    store: StateStore, database: str | Path
) -> None:
    """The message is posted but the claim could not be completed: its ts is kept in the
    claim, so no run posts that digest again, however old the claim gets."""
    assert store.claim("C1", DAY, "a")
    assert store.mark_sent("C1", DAY, "a", "ts-a")
    assert store.posted("C1", DAY) == "ts-a"
    assert not store.hold("C1", DAY, "a")  # posted: there is nothing left to post
    impatient = StateStore(database, stale_after=0.0)
    assert not impatient.claim("C1", DAY, "b")  # never stale
    assert store.adopt("C1", DAY, "b") is None  # not older than the timeout yet
    assert store.last_posted("C1", "2025-03-12") is None
    assert impatient.adopt("C1", DAY, "b") == "ts-a"
    with pytest.raises(ClaimLost):
        store.complete("C1", DAY, "a", "ts-a", {})  # b adopted it
    impatient.complete("C1", DAY, "b", "ts-a", {"k": {"stance": "oppose"}})
    last = store.last_posted("C1", "2025-03-12")
    assert last is not None and last.snapshot == {"k": {"stance": "oppose"}}
    assert impatient.adopt("C1", DAY, "c") is None  # posted: nothing to adopt
    assert not store.mark_sent("C1", DAY, "b", "ts-other")  # posted: never overwritten
    assert store.posted("C1", DAY) == "ts-a"


def test_racing_claims_have_one_winner(store: StateStore) -> None:
    results = race(lambda: store.claim("C1", DAY, threading.current_thread().name))
    assert sorted(results) == [False] * 15 + [True]


# --- Slack events --------------------------------------------------------------------------


def test_an_event_is_claimed_once_within_its_ttl(store: StateStore) -> None:
    assert store.claim_event("Ev1")
    assert not store.claim_event("Ev1")
    assert store.claim_event("Ev2")
    assert store.claim_event("Ev3", ttl_s=0.0)
    assert store.claim_event("Ev3")  # forgotten after its TTL
    assert not store.claim_event("Ev1")


def test_a_redelivery_racing_the_first_delivery_loses(store: StateStore) -> None:
    assert sorted(race(lambda: store.claim_event("EvRACE"))) == [False] * 15 + [True]


# --- the ingest ledger and feedback --------------------------------------------------------


def test_each_ingested_item_is_in_the_ledger(store: StateStore) -> None:
    added = Added(
        id="reuters-dk",
        title="Denmark rules out troops",
        outlet="Reuters",
        published=None,
        url="https://www.reuters.com/dk",
        words=120,
        duplicate_of="ap-dk",
        source="https://feeds.example/rss",
    )
    report = IngestReport(
        added=[added],
        skipped=[("notes.md", "already in the corpus as reuters-dk")],
        failed=[("https://gone.example/a", "unreachable: HTTP 404")],
    )
    store.record_ingest(report)
    store.record_ingest(IngestReport())  # nothing to record
    ledger = sorted(rows(store, ingest_ledger), key=lambda row: str(row["outcome"]))
    assert [
        (r["outcome"], r["source"], r["article_id"], r["url"], r["detail"]) for r in ledger
    ] == [
        ("added", added.source, "reuters-dk", added.url, "a copy of ap-dk"),
        ("failed", "https://gone.example/a", None, None, "unreachable: HTTP 404"),
        ("skipped", "notes.md", None, None, "already in the corpus as reuters-dk"),
    ]
    assert len({r["at"] for r in ledger}) == 1


def test_feedback_is_recorded(store: StateStore) -> None:
    store.record_feedback("up", kind="stance", question="Poland troops", user_id="U1")
    store.record_feedback("down", kind="search", team_id="T1", channel_id="C1")
    votes = rows(store, feedback)
    assert [(v["rating"], v["kind"], v["question"], v["user_id"]) for v in votes] == [
        ("up", "stance", "Poland troops", "U1"),
        ("down", "search", None, None),
    ]
    with pytest.raises(sa.exc.IntegrityError):  # only 👍 or 👎
        store.record_feedback("meh")


# --- the schema ----------------------------------------------------------------------------


def test_the_schema_is_created_with_its_version(store: StateStore) -> None:
    assert rows(store, schema_version) == [{"version": SCHEMA_VERSION}]
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"schema_version", "digests", "slack_events", "ingest_ledger", "feedback"} <= names


def test_a_newer_schema_is_refused(database: str | Path) -> None:
    url = (
        sa.URL.create("sqlite", database=str(database)) if isinstance(database, Path) else database
    )
    engine = sa.create_engine(url)
    with engine.begin() as db:
        metadata.create_all(db)
        db.execute(sa.insert(schema_version).values(version=99))
    engine.dispose()
    newer = f"schema version 99, newer than this newsbot's {SCHEMA_VERSION}"
    with pytest.raises(SettingsError, match=newer):
        StateStore(database)


def test_a_state_file_from_before_sqlalchemy_keeps_its_digests(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with sqlite3.connect(path) as db:  # the schema and a row as the earlier code wrote them
        db.execute(
            "CREATE TABLE digests (channel TEXT NOT NULL, day TEXT NOT NULL, status TEXT NOT "
            "NULL CHECK (status IN ('claimed', 'posted')), owner TEXT NOT NULL, claimed_at REAL "
            "NOT NULL, posted_at REAL, ts TEXT, snapshot TEXT, PRIMARY KEY (channel, day))"
        )
        db.execute(
            "INSERT INTO digests VALUES ('C1', ?, 'posted', 'old', 1.0, 2.0, 'ts-old', '{}')",
            (DAY,),
        )
    db.close()
    state = StateStore(path)
    assert state.posted("C1", DAY) == "ts-old"
    assert not state.claim("C1", DAY, "new")
    assert state.claim_event("Ev1")


# --- settings ------------------------------------------------------------------------------


def test_the_default_state_is_a_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.state_database() == tmp_path / "state.sqlite3"
    state = open_state(settings)
    assert state.engine.dialect.name == "sqlite"
    assert (tmp_path / "state.sqlite3").exists()


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:pw@db:5432/news", "postgresql+psycopg://u:pw@db:5432/news"),
        ("postgres://u@db/news", "postgresql+psycopg://u@db/news"),
        ("postgresql+psycopg://u@db/news", "postgresql+psycopg://u@db/news"),
        ("sqlite:////srv/newsbot/state.db", "sqlite:////srv/newsbot/state.db"),
    ],
)
def test_the_state_url_is_normalised_to_the_shipped_driver(given: str, used: str) -> None:
    settings = load_settings(state_url=given)
    assert settings.state_database() == used
    assert "pw" not in repr(settings)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("mysql://u:hunter2@db/news", "NEWSBOT_STATE_URL: mysql is not supported"),
        ("not a url hunter2", "NEWSBOT_STATE_URL: must be a database URL"),
        ("postgresql://u:hunter2@db:port/news", "NEWSBOT_STATE_URL: must be a database URL"),
    ],
)
def test_a_bad_state_url_is_named_without_its_password(given: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        load_settings(state_url=given)
    assert "hunter2" not in str(raised.value)


def test_an_unreachable_server_stops_the_start_without_its_password() -> None:
    with pytest.raises(SettingsError) as raised:
        StateStore("postgresql+psycopg://newsbot:hunter2@127.0.0.1:1/newsbot")
    message = str(raised.value)
    assert message.startswith("cannot open the state database postgresql+psycopg://newsbot:***@")
    assert "hunter2" not in message and "see NEWSBOT_STATE_URL" in message


def test_the_opened_database_is_logged_without_its_password(postgres: PostgresServer) -> None:
    url = postgres.create_database().replace("newsbot@", "newsbot:hunter2@")  # trust: accepted
    with capture_logs() as logs:
        state = open_state(load_settings(state_url=url))
    state.engine.dispose()
    [opened] = [e for e in logs if e["event"] == "state_opened"]
    assert opened["database"].startswith("postgresql+psycopg://newsbot:***@127.0.0.1:")
    assert "hunter2" not in str(logs)


# --- when the database is down -------------------------------------------------------------


class Unreachable:
    def claim_event(self, event_id: str) -> bool:
        raise sa.exc.OperationalError("INSERT", {}, ConnectionRefusedError("refused"))


def test_events_are_answered_when_the_state_is_unreachable() -> None:
    dedupe = dedupe_events(Unreachable())  # type: ignore[arg-type]
    with capture_logs() as logs:
        assert dedupe({"event_id": "Ev1"}, None, lambda: "answered") == "answered"
    assert [e["event"] for e in logs] == ["slack_event_dedupe_failed"]
