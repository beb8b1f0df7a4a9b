"""The stores behind the app's middleware and mentions, without HTTP: the event ledgers (in
the process, or the state database that replicas share), the thread context in the state
database, the schema upgrade that added it, and the bounded drain of the listener pool."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from slack_bolt import BoltRequest, BoltResponse
from structlog.testing import capture_logs

from bot.app import (
    EventLedger,
    InProcessEventLedger,
    ListenerPool,
    dedupe_events,
    event_ledger,
)
from bot.serve import _drain
from bot.settings import load_settings
from bot.state import (
    SCHEMA_VERSION,
    SharedThreads,
    StateStore,
    metadata,
    schema_version,
    slack_threads,
)
from handlers.ask import SharedThreadMemory, ThreadContext
from tests.conftest import new_state_database, race
from tests.postgres import PostgresServer


@pytest.fixture(params=["in-process", "sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventLedger]:
    if request.param == "in-process":
        yield InProcessEventLedger()
        return
    state = StateStore(new_state_database(request.param, request, tmp_path))
    yield state
    state.engine.dispose()


# --- event ledgers and the de-duplication middleware ---------------------------------------


def deliver(dedupe, event_id: str, retry: int | None = None) -> str:
    body = {"type": "event_callback", "event_id": event_id, "team_id": "T1"}
    headers = {"x-slack-retry-num": str(retry)} if retry else {}
    request = BoltRequest(body=json.dumps(body), headers=headers)
    result = dedupe(body, request, lambda: "answered")
    if isinstance(result, BoltResponse):
        assert (result.status, result.body) == (200, "")  # acked, so Slack stops retrying
        return "acked"
    return result


def test_the_middleware_answers_each_event_once(ledger: EventLedger) -> None:
    dedupe = dedupe_events(ledger)
    with capture_logs() as logs:
        assert deliver(dedupe, "Ev1") == "answered"
        assert deliver(dedupe, "Ev1", retry=1) == "acked"
        assert deliver(dedupe, "Ev2") == "answered"
        assert deliver(dedupe, "Ev1", retry=2) == "acked"
    assert [(e["event"], e["event_id"], e["retry_num"]) for e in logs] == [
        ("slack_event_duplicate", "Ev1", "1"),
        ("slack_event_duplicate", "Ev1", "2"),
    ]
    body = {"type": "block_actions"}  # no event id: never held back
    assert dedupe(body, BoltRequest(body="{}"), lambda: "answered") == "answered"


def test_a_redelivery_racing_the_first_delivery_loses(ledger: EventLedger) -> None:
    results = race(lambda: ledger.claim_event("EvRACE"))
    assert sorted(results) == [False] * 15 + [True]


def test_the_in_process_ledger_forgets_after_its_ttl_and_stays_bounded() -> None:
    now = [0.0]
    ledger = InProcessEventLedger(ttl_s=600, max_events=3, clock=lambda: now[0])
    assert ledger.claim_event("Ev1") and not ledger.claim_event("Ev1")
    now[0] = 599.0
    assert not ledger.claim_event("Ev1")
    now[0] = 600.0
    assert ledger.claim_event("Ev1")  # expired, so this is a new delivery
    for event_id in ("Ev2", "Ev3", "Ev4"):
        assert ledger.claim_event(event_id)
    assert ledger.claim_event("Ev1")  # the oldest of four went, to keep three
    assert not ledger.claim_event("Ev4")


def test_the_default_ledger_is_in_process_unless_a_shared_state_url_is_set(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    local = StateStore(tmp_path / "state.sqlite3")
    settings = load_settings(data_dir=tmp_path)
    assert isinstance(event_ledger(settings, local), InProcessEventLedger)
    url = postgres.create_database()
    shared = StateStore(url)
    try:
        assert event_ledger(load_settings(state_url=url), shared) is shared
    finally:
        shared.engine.dispose()
        local.engine.dispose()


# --- the thread context --------------------------------------------------------------------


def test_thread_context_is_upserted_and_expires(store: StateStore) -> None:
    threads = SharedThreads(store)
    key = ("T1", "C1", "1700000000.000100")
    assert threads.get(key) is None
    threads.put(key, "poland", "troops")
    threads.put(key, "spain", "troops")  # the last mention wins: one row per thread
    threads.put(("T1", "C1", "other"), None, "sanctions")
    assert threads.get(key) == ("spain", "troops")
    assert threads.get(("T1", "C2", "1700000000.000100")) is None  # another channel's thread

    SharedThreads(store, ttl_s=0.0).put(("T1", "C1", "old"), "italy", None)
    assert threads.get(("T1", "C1", "old")) is None  # expired at once
    threads.put(("T1", "C1", "new"), "italy", None)  # and pruned by the next write
    with store.engine.connect() as db:
        kept = db.execute(sa.select(slack_threads.c.thread_ts, slack_threads.c.actor)).all()
    assert sorted(tuple(r) for r in kept) == [
        ("1700000000.000100", "spain"),
        ("new", "italy"),
        ("other", None),
    ]


def test_thread_context_survives_a_restart_of_the_process(tmp_path: Path) -> None:
    """The memory the app uses is the database's: another store on the same file (a
    restarted process, another process on the machine) reads what this one wrote."""
    path = tmp_path / "state.sqlite3"
    first = SharedThreadMemory(SharedThreads(StateStore(path)))
    first.put(("T1", "C1", "1.2"), ThreadContext("poland", "troops"))
    other_engine = StateStore(sa.URL.create("sqlite", database=str(path)).render_as_string())
    again = SharedThreadMemory(SharedThreads(other_engine))
    assert again.get(("T1", "C1", "1.2")) == ThreadContext("poland", "troops")


def test_an_unreachable_database_costs_the_follow_up_its_context_only(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    memory = SharedThreadMemory(SharedThreads(store))
    with store.engine.begin() as db:
        slack_threads.drop(db)  # every statement on it now fails
    with capture_logs() as logs:
        memory.put(("T1", "C1", "1.2"), ThreadContext("poland", "troops"))
        assert memory.get(("T1", "C1", "1.2")) is None
    assert [(e["event"], e["op"]) for e in logs] == [
        ("slack_thread_context_unavailable", "put"),
        ("slack_thread_context_unavailable", "get"),
    ]


def test_a_version_1_database_gets_the_thread_table(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    engine = sa.create_engine(sa.URL.create("sqlite", database=str(path)))
    with engine.begin() as db:  # the schema as version 1 made it: everything but the threads
        metadata.create_all(
            db, tables=[t for t in metadata.sorted_tables if t is not slack_threads]
        )
        db.execute(sa.insert(schema_version).values(version=1))
    engine.dispose()
    store = StateStore(path)
    assert SCHEMA_VERSION == 2
    with store.engine.connect() as db:
        assert db.execute(sa.select(schema_version.c.version)).scalars().all() == [2]
    SharedThreads(store).put(("T1", "C1", "1.2"), "poland", None)
    assert SharedThreads(store).get(("T1", "C1", "1.2")) == ("poland", None)


# --- the drain on SIGTERM ------------------------------------------------------------------


def test_the_drain_stops_waiting_at_its_deadline_and_says_what_was_left() -> None:
    pool = ListenerPool(max_workers=1)
    gate = threading.Event()
    ran: list[int] = []
    try:
        pool.submit(gate.wait, 30)
        for n in range(2):
            pool.submit(ran.append, n)
        started = time.monotonic()
        with capture_logs() as logs:
            assert not _drain(pool, time.monotonic() + 0.3)
        assert time.monotonic() - started < 2.0
        [timeout] = [e for e in logs if e["event"] == "newsbot_drain_timeout"]
        assert (timeout["running"], timeout["queued_cancelled"]) == (1, 2)
        assert timeout["log_level"] == "error"
    finally:
        gate.set()
    time.sleep(0.2)
    assert ran == []  # the queued answers were cancelled, not started after the deadline


def test_a_drain_in_time_waits_for_every_answer() -> None:
    pool = ListenerPool(max_workers=2)
    done: list[int] = []
    for n in range(4):
        pool.submit(lambda n=n: (time.sleep(0.05), done.append(n)))
    with capture_logs() as logs:
        assert _drain(pool, time.monotonic() + 10)
    assert sorted(done) == [0, 1, 2, 3]
    assert [e["event"] for e in logs] == ["newsbot_draining", "newsbot_drained"]
    assert pool.unfinished() == (0, 0)
