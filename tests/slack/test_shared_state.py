"""Two replicas of the app (``newsbot serve`` in HTTP mode, each with a data folder of its own)
sharing one PostgreSQL state database, as behind a load balancer: a retried event is answered
once whichever replica it reaches, a follow-up mention keeps its thread's actor and topic
whichever replica it reaches, and both replicas' feedback lands in one table."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.state import feedback, slack_threads
from tests.postgres import PostgresServer
from tests.slack.conftest import ServerProcess, Slack, server_env, start_http_server
from tests.slack.stand_in import SlackStandIn
from tests.slack.test_mentions import ME, channel, in_channel, post_in


@pytest.fixture(scope="module")
def state_url(postgres: PostgresServer) -> str:
    return postgres.create_database()


@pytest.fixture(scope="module")
def replicas(
    stand_in: SlackStandIn,
    gate_dir: Path,
    state_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[tuple[Slack, ServerProcess]]]:
    started = []
    try:
        for name in ("a", "b"):
            env = server_env(
                stand_in,
                gate_dir,
                NEWSBOT_DATA_DIR=str(tmp_path_factory.mktemp(f"replica-{name}")),
                NEWSBOT_STATE_URL=state_url,
            )
            server, url = start_http_server("fake", env, tmp_path_factory.mktemp(f"cwd-{name}"))
            started.append((Slack(url, stand_in), server))
        yield started
    finally:
        for _, server in started:
            server.stop()


def test_each_replica_opens_the_shared_database(replicas) -> None:
    for _, server in replicas:
        opened = server.wait_event(lambda e: e.get("event") == "state_opened")
        assert opened["database"].startswith("postgresql+psycopg://newsbot@127.0.0.1:")


def test_a_retry_reaching_the_other_replica_is_not_answered_again(replicas, stand_in) -> None:
    (a, _), (b, b_server) = replicas
    where, event_id, ts = channel(), "Ev0SHARED01", f"{time.time():.6f}"
    first, _ = a.mention(f"{ME} Poland troops?", channel=where, ts=ts, event_id=event_id)
    post_in(stand_in, where)
    again, _ = b.mention(f"{ME} Poland troops?", channel=where, ts=ts, event_id=event_id, retry=1)
    assert first.status == again.status == 200
    duplicate = b_server.wait_event(
        lambda e: e.get("event") == "slack_event_duplicate" and e.get("event_id") == event_id
    )
    assert duplicate["retry_num"] == "1"
    time.sleep(0.5)  # a second answer would have been posted by now
    assert len(stand_in.matching(in_channel("chat.postMessage", where))) == 1


def deliver_to_both(replicas: list[tuple[Slack, ServerProcess]], where: str, event_id: str):
    """The same event to each replica at the same moment (Slack's retry racing the first)."""
    ts, start = f"{time.time():.6f}", threading.Barrier(len(replicas))

    def deliver(slack: Slack, retry: int | None) -> None:
        start.wait()
        slack.mention(f"{ME} Spain troops?", channel=where, ts=ts, event_id=event_id, retry=retry)

    threads = [
        threading.Thread(target=deliver, args=(slack, retry))
        for (slack, _), retry in zip(replicas, (None, 1), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def test_one_event_delivered_to_both_replicas_at_once_is_answered_once(replicas, stand_in):
    where = channel()
    for round_ in range(5):
        deliver_to_both(replicas, where, f"Ev0BOTH{round_:04d}")
        post_in(stand_in, where, round_ + 1)
    time.sleep(0.5)  # a second answer to any of them would have been posted by now
    assert len(stand_in.matching(in_channel("chat.postMessage", where))) == 5


def test_feedback_from_both_replicas_is_in_one_table(replicas, stand_in, state_url) -> None:
    for (slack, _), (action, user) in zip(
        replicas, [("feedback_up", "U0DANA001"), ("feedback_down", "U0ERIN001")], strict=True
    ):
        answer = stand_in.wait_for(stand_in.to_url(slack.command("search coalition").response_url))
        value = next(
            e["value"]
            for b in answer[0].body["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == action
        )
        sent = slack.click(action, value, user=user)
        stand_in.wait_for(stand_in.to_url(sent.response_url))  # thanked: recorded by then
    engine = sa.create_engine(state_url.replace("postgresql:", "postgresql+psycopg:"))
    with engine.connect() as db:
        votes = db.execute(
            sa.select(feedback.c.rating, feedback.c.user_id, feedback.c.kind, feedback.c.question)
            .where(feedback.c.user_id.in_(["U0DANA001", "U0ERIN001"]))
            .order_by(feedback.c.id)
        ).all()
    engine.dispose()
    assert [tuple(v) for v in votes] == [
        ("up", "U0DANA001", "search", "search coalition"),
        ("down", "U0ERIN001", "search", "search coalition"),
    ]


def test_a_follow_up_reaching_the_other_replica_keeps_the_threads_context(
    replicas, stand_in, state_url
) -> None:
    (a, _), (b, _) = replicas
    where, thread = channel(), "1699999999.000300"
    a.mention(f"{ME} What does Poland say about troops?", channel=where, thread_ts=thread)
    assert post_in(stand_in, where, 1)[0].body["text"] == "Poland: 🔴 opposes Troops for Ukraine"

    b.mention(f"{ME} and Spain?", channel=where, thread_ts=thread)  # the topic, from A's answer
    assert post_in(stand_in, where, 2)[1].body["text"] == (
        "Spain: 🟡 conditional on Troops for Ukraine"
    )
    a.mention(f"{ME} what about sanctions?", channel=where, thread_ts=thread)  # B's actor
    assert post_in(stand_in, where, 3)[2].body["text"] == (
        "Spain: ⚪ undecided on Sanctions on Russia"
    )

    engine = sa.create_engine(state_url.replace("postgresql:", "postgresql+psycopg:"))
    with engine.connect() as db:
        rows = db.execute(
            sa.select(
                slack_threads.c.thread_ts,
                slack_threads.c.actor,
                slack_threads.c.topic,
                slack_threads.c.expires_at - slack_threads.c.updated_at,
            ).where(slack_threads.c.channel == where)
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(thread, "spain", "sanctions", 24 * 3600.0)]
