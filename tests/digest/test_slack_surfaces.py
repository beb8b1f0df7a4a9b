"""``/ukraine add`` and ``/ukraine digest`` in ``newsbot serve`` itself (HTTP, real signatures,
the real engine on a corpus folder of the test's own), and the corpus refreshed while it runs."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import Newsbot
from bot.corpus import shipped_corpus_dir
from bot.models import Article
from bot.settings import load_settings
from handlers.command import answer
from tests.slack.conftest import ServerProcess, Slack, server_env, start_http_server, texts
from tests.slack.stand_in import SlackStandIn
from tests.texts import DENMARK
from tests.web import Site, article_page, serve_site

DIGEST_CHANNEL = "C0DIGEST01"


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_site() as served:
        yield served


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("desk") / "corpus"
    shutil.copytree(shipped_corpus_dir(), folder)
    return folder


@pytest.fixture(scope="module")
def slack(
    stand_in: SlackStandIn, corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Slack]:
    env = server_env(
        stand_in,
        tmp_path_factory.mktemp("gates"),
        NEWSBOT_CORPUS_DIR=str(corpus),
        NEWSBOT_DATA_DIR=str(tmp_path_factory.mktemp("data")),
        NEWSBOT_LOG_LEVEL="INFO",
        NEWSBOT_REFRESH_S="0.3",
        # The pages of this test are on 127.0.0.1, which a real install refuses to fetch.
        NEWSBOT_ALLOW_PRIVATE_URLS="true",
        DIGEST_CHANNEL=DIGEST_CHANNEL,
    )
    server, url = start_http_server("cli", env, tmp_path_factory.mktemp("cwd"))
    yield Slack(url, stand_in)
    assert server.stop() == 0  # SIGTERM stops the app and its scheduler cleanly
    assert_logged_without_errors(server)


def assert_logged_without_errors(server: ServerProcess) -> None:
    events = server.events()
    assert any(e.get("event") == "corpus_refresh" for e in events)
    assert not [e for e in events if e.get("level") == "error"]


def ask(slack: Slack, text: str) -> dict[str, Any]:
    sent = slack.command(text)
    assert sent.status == 200 and sent.elapsed < 3
    assert sent.response_url is not None
    return slack.stand_in.wait_for(slack.stand_in.to_url(sent.response_url), timeout=60)[0].body


def test_an_added_link_is_answerable_at_once(slack: Slack, site: Site) -> None:
    url = site.put(
        "/dk-troops", article_page("Denmark rules out troops", "Nordic Post", "2025-03-10", DENMARK)
    )
    body = ask(slack, f"add <{url}>")
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith(
        f"✅ Added <{url}|Denmark rules out troops> — Nordic Post · 10 Mar 2025 · "
    )
    assert body["text"].endswith(" words")
    assert "Answerable now: try `/ukraine sources`." in texts(body["blocks"])

    stance = ask(slack, "stance Denmark troops")
    shown = texts(stance["blocks"])
    assert shown.startswith("Denmark\n🔴 *Troops for Ukraine*: opposes")
    assert f"Nordic Post · 10 Mar 2025 · <{url}|Denmark rules out troops>" in shown

    again = ask(slack, f"add {url}")
    assert again["text"].startswith(f"Nothing added: <{url}|{url}> is already in the corpus as ")


def test_add_reports_what_went_wrong(slack: Slack, site: Site) -> None:
    empty = site.put("/nav-only", "<html><body><nav>Home</nav></body></html>")
    cases = {
        "add": "⚠️ Add what? Give one article's link, for example `/ukraine add https://",
        "add not-a-link": "⚠️ Add what?",
        f"add {site.base}/gone": f"⚠️ Could not add <{site.base}/gone|{site.base}/gone>: "
        "unreachable: HTTP 404.",
        f"add {empty}": f"⚠️ Could not add <{empty}|{empty}>: no article text found on the page.",
    }
    for text, expected in cases.items():
        body = ask(slack, text)
        assert body["response_type"] == "ephemeral"
        assert body["text"].startswith(expected), (text, body["text"])
        assert not [b for b in body["blocks"] if b["type"] == "actions"]


def test_a_file_added_by_hand_is_answerable_without_a_restart(slack: Slack, corpus: Path) -> None:
    before = ask(slack, "sources")["text"]
    count = int(before.split()[0])
    article = Article(
        id="hand-added-finland",
        title="Finland weighs troops",
        outlet="Helsinki Desk",
        body="Finland said on Monday that it has ruled out sending troops to Ukraine for now.",
    )
    text = f"---\nid: {article.id}\ntitle: {article.title}\noutlet: {article.outlet}\n---\n"
    tmp = corpus / "articles" / ".hand-added.part"
    tmp.write_text(text + article.body + "\n")
    tmp.rename(corpus / "articles" / "hand-added-finland.md")
    deadline = time.monotonic() + 20
    while True:
        now = ask(slack, "sources")["text"]
        if now != before or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert now == f"{count + 1} articles in the corpus"


def test_the_digest_preview_is_ephemeral(slack: Slack, site: Site) -> None:
    url = site.put(
        "/dk-preview",
        article_page("Copenhagen debates the force", "Nordic Post", "2025-03-11", DENMARK[::-1]),
    )
    ask(slack, f"add {url}")
    body = ask(slack, "digest")
    assert body["response_type"] == "ephemeral"
    shown = texts(body["blocks"])
    assert body["blocks"][0]["text"]["text"].startswith("Daily digest · ")
    assert f"<{url}|Copenhagen debates the force> — Nordic Post · 11 Mar 2025" in shown
    assert "👀 Preview of the digest of " in shown and f"in <#{DIGEST_CHANNEL}>" in shown
    assert not [b for b in body["blocks"] if b["type"] == "actions"]  # nothing to share
    assert not slack.stand_in.matching(lambda c: c.body.get("channel") == DIGEST_CHANNEL)


def test_add_refuses_the_shipped_corpus_and_private_hosts(tmp_path: Path, site: Site) -> None:
    settings = load_settings()
    shipped = Newsbot.open(data_dir=tmp_path / "shipped")
    reply = answer(shipped, "/ukraine", "add https://news.example/a", settings)
    assert reply.outcome == "user_error"
    assert "shipped corpus, which is read-only" in reply.message.text

    own = tmp_path / "corpus"
    shutil.copytree(shipped_corpus_dir(), own)
    desk = Newsbot.open(own, tmp_path / "own")
    url = site.put("/private", article_page("Inside", "Intranet", "2025-03-10", DENMARK))
    reply = answer(desk, "/ukraine", f"add {url}", settings)
    assert reply.outcome == "user_error"
    assert "127.0.0.1 is not a public address (127.0.0.1)" in reply.message.text
    assert "/private" not in site.requests  # refused before any request
