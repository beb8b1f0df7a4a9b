"""An article that tries to ping the channel or forge a link, answered by the real engine over
real HTTP: whatever it says reaches Slack inert."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.slack.conftest import ServerProcess, Slack, server_env, start_http_server, texts
from tests.slack.stand_in import SlackStandIn

ARTICLE = """---
id: hostile
title: "Warsaw <!here> decides <http://evil.example|read more>"
outlet: "Desk <!channel> Wire"
url: https://news.example/warsaw?a=1&b=2
published: 2025-03-05
---
Polish Prime Minister Donald Tusk said that Poland will not send troops to Ukraine <!channel>.
Tusk told <@U0ADMIN> and <!subteam^S123> that the question was closed & final.
"""

LIVE = re.compile(r"<(?:!|@|#|https?://)")  # what Slack would parse as a mention or link


@pytest.fixture(scope="module")
def hostile(
    stand_in: SlackStandIn, gate_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Slack]:
    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / "hostile.md").write_text(ARTICLE)
    env = server_env(
        stand_in,
        gate_dir,
        NEWSBOT_CORPUS_DIR=str(corpus),
        NEWSBOT_DATA_DIR=str(tmp_path_factory.mktemp("data")),
    )
    server: ServerProcess
    server, url = start_http_server("cli", env, tmp_path_factory.mktemp("cwd"))
    yield Slack(url, stand_in)
    assert server.stop() == 0


def answer(slack: Slack, text: str) -> dict[str, Any]:
    sent = slack.command(text)
    assert sent.status == 200
    return slack.stand_in.wait_for(slack.stand_in.to_url(sent.response_url))[0].body


@pytest.mark.parametrize("command", ["stance Poland", "search Tusk troops", "sources"])
def test_article_text_cannot_ping_or_forge_links(hostile: Slack, command: str) -> None:
    body = answer(hostile, command)
    shown = texts(body["blocks"]) + "\n" + body["text"]
    assert "&lt;!channel&gt;" in shown or "&lt;!here&gt;" in shown
    # The only live link is the article's own https URL, escaped, with an escaped label.
    links = LIVE.findall(shown)
    assert set(links) <= {"<https://"}, links
    for link in re.findall(r"<https://[^>]*>", shown):
        assert link.startswith("<https://news.example/warsaw?a=1&amp;b=2|")


def test_the_stance_still_comes_from_the_article(hostile: Slack) -> None:
    body = answer(hostile, "stance Poland")
    assert "🔴" in texts(body["blocks"])  # oppose, from "will not send troops"
