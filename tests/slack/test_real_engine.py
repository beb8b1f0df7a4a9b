"""``newsbot serve`` itself, with the real engine on the shipped corpus, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.slack.conftest import ServerProcess, Slack, server_env, start_http_server, texts
from tests.slack.stand_in import BOT_USER_ID, SlackStandIn
from tests.slack.test_commands import assert_within_limits

MARKERS = ("🟢", "🔴", "🟡", "⚪")


@pytest.fixture(scope="module")
def real(
    stand_in: SlackStandIn, gate_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, Slack]]:
    data = tmp_path_factory.mktemp("data")
    env = server_env(stand_in, gate_dir, NEWSBOT_DATA_DIR=str(data), NEWSBOT_LOG_LEVEL="INFO")
    server, url = start_http_server("cli", env, tmp_path_factory.mktemp("cli"))
    yield server, Slack(url, stand_in)
    assert server.stop() == 0


def ask(real: tuple[ServerProcess, Slack], text: str) -> dict[str, Any]:
    _, slack = real
    sent = slack.command(text)
    assert sent.status == 200
    return slack.stand_in.wait_for(slack.stand_in.to_url(sent.response_url))[0].body


def test_stance_from_the_corpus(real):
    body = ask(real, "stance Poland")
    assert_within_limits(body)
    assert body["blocks"][0]["text"]["text"] == "Poland"
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert sections and all(s.startswith(MARKERS) for s in sections)
    quotes = [b["elements"][0]["text"] for b in body["blocks"][1:-2] if b["type"] == "context"]
    assert quotes and all(" 2025 · " in q for q in quotes)  # date, then the article
    footer = body["blocks"][-2]["elements"][0]["text"]
    assert footer.startswith("Answered from 5 articles (")


def test_board_sources_and_search_from_the_corpus(real):
    board = ask(real, "board")
    assert_within_limits(board)
    assert "*Poland*" in texts(board["blocks"])
    sources = ask(real, "sources")
    assert sources["text"] == "5 articles in the corpus"
    search = ask(real, "search coalition of the willing")
    assert search["text"].endswith("passages for “coalition of the willing”")
    help_ = ask(real, "help")
    assert "Topics: Troops for Ukraine" in texts(help_["blocks"])


def test_thread_follow_up_with_the_real_engine(real):
    _, slack = real
    where, thread = "C0REALTHRD", "1700000200.000100"
    slack.mention(
        f"<@{BOT_USER_ID}> What does Italy say about troops?", channel=where, thread_ts=thread
    )
    first = slack.stand_in.wait_for(
        lambda c: c.body.get("channel") == where and c.method == "chat.postMessage"
    )[0]
    assert first.body["blocks"][0]["text"]["text"] == "Italy"
    slack.mention(f"<@{BOT_USER_ID}> and Spain?", channel=where, thread_ts=thread)
    second = slack.stand_in.wait_for(
        lambda c: c.body.get("channel") == where and c.method == "chat.postMessage", 2
    )[1]
    assert second.body["blocks"][0]["text"]["text"] == "Spain"
    assert "Troops for Ukraine" in texts(second.body["blocks"])

    slack.mention(f"<@{BOT_USER_ID}> what about sanctions?", channel=where, thread_ts=thread)
    third = slack.stand_in.wait_for(
        lambda c: c.body.get("channel") == where and c.method == "chat.postMessage", 3
    )[2]
    assert third.body["blocks"][0]["text"]["text"] == "Spain"  # the thread's actor, kept
    shown = texts(third.body["blocks"])
    # The corpus has no stance of Spain on sanctions: it says so, with passages on sanctions.
    assert "No position of *Spain* found." in shown
    assert "sanctions on Russia" in shown and "Troops for Ukraine" not in shown
    server, _ = real
    logged = server.wait_event(
        lambda e: e.get("surface") == "mention" and e.get("chars") == len("what about sanctions?")
    )
    assert (logged["actor"], logged["topic"], logged["channel_id"]) == ("spain", "sanctions", where)
