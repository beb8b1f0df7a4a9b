"""The digest's Slack messages: inside Block Kit's limits however long the day was, nothing
lost or cut, and every string from the corpus inert."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.digest import Digest, DigestArticle, StanceChange
from bot.digest_blocks import digest_messages, preview_message
from bot.models import ActorRef, Board, BoardCell, Evidence
from bot.slack_blocks import (
    MAX_BLOCKS,
    MAX_HEADER_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_SECTION_CHARS,
    MAX_TEXT_CHARS,
    Message,
)

TZ = ZoneInfo("Europe/Kyiv")
DAY = dt.date(2025, 3, 11)
HOSTILE = "<!channel> Kyiv & <@U0EVIL01> <http://evil.example|click>"
TOPICS = ["troops", "sanctions"]


def label(topic: str) -> str:
    return {"troops": "Troops for Ukraine", "sanctions": "Sanctions on Russia"}[topic]


def evidence(quote: str) -> Evidence:
    return Evidence(
        quote=quote,
        article_id="a1",
        title=HOSTILE,
        outlet="Nordic <Post>",
        url="https://news.example/dk?a=1&b=2",
        published=DAY,
        stance="oppose",
        speaker="Frederiksen",
    )


def digest(articles: int, changes: int, title: str = HOSTILE, actors: int = 3) -> Digest:
    names = [f"{HOSTILE} {i}" for i in range(actors)]
    refs = [ActorRef(id=f"a{i}", name=f"Actor {i} {HOSTILE}") for i in range(changes)]
    return Digest(
        day=DAY,
        since=dt.datetime(2025, 3, 10, 7, tzinfo=TZ),
        until=dt.datetime(2025, 3, 11, 7, tzinfo=TZ),
        articles=[
            DigestArticle(
                id=f"art-{i}",
                title=f"{i}: {title}",
                outlet=HOSTILE,
                url=f"https://news.example/{i}?x=1&y=2",
                published=DAY,
                ingested=None,
                actors=names[:10],
                more_actors=max(0, len(names) - 10),
            )
            for i in range(articles)
        ],
        changes=[
            StanceChange(
                actor=ref,
                topic="troops",
                before="undecided",
                after="oppose",
                sources_before=1,
                sources_after=2,
                new_sources=2,
                evidence=evidence(f"{HOSTILE} quote {i} " * 20),
            )
            for i, ref in enumerate(refs)
        ],
        board=Board(
            topics=TOPICS,
            actors=refs,
            cells=[
                BoardCell(
                    actor=r, topic="troops", stance="oppose", sources_agreeing=2, disagreement=True
                )
                for r in refs
            ],
        ),
        quiet=articles == 0 and changes == 0,
    )


def parts(block: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in [block.get("text"), *block.get("elements", [])] if isinstance(p, dict)]


def assert_within_limits(message: Message) -> None:
    assert 0 < len(message.text) <= MAX_TEXT_CHARS
    assert len(message.blocks) <= MAX_BLOCKS
    total = 0
    for block in message.blocks:
        for part in parts(block):
            limit = MAX_HEADER_CHARS if block["type"] == "header" else MAX_SECTION_CHARS
            assert len(part["text"]) <= limit
            assert part["type"] == "plain_text" or part.get("verbatim") is True
            total += len(part["text"])
    assert total <= MAX_MESSAGE_CHARS


def shown(messages: list[Message]) -> str:
    return "\n".join(
        m.text + "\n" + "\n".join(p["text"] for b in m.blocks for p in parts(b)) for m in messages
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    articles=st.integers(0, 250),
    changes=st.integers(0, 120),
    title=st.text(min_size=0, max_size=1500),
    actors=st.integers(0, 30),
)
def test_any_digest_fits_and_keeps_every_item(
    articles: int, changes: int, title: str, actors: int
) -> None:
    messages = digest_messages(digest(articles, changes, title, actors), label, TZ, "/ukraine")
    for message in messages:
        assert_within_limits(message)
    text = shown(messages)
    lines = [line for line in text.splitlines() if line.startswith("• <https://news.example/")]
    assert len(lines) == articles  # every article once, each line whole with its link
    assert text.count("undecided → 🔴 oppose, 2 new independent sources") == changes
    if len(messages) > 1:
        assert messages[1].text == f"newsbot digest, 11 Mar 2025, part 2 of {len(messages)}"


def test_a_long_day_goes_on_in_the_thread() -> None:
    first, *thread = digest_messages(digest(200, 60), label, TZ, "/ukraine")
    assert first.text == "newsbot digest, 11 Mar 2025: 200 new articles, 60 stance changes"
    assert first.blocks[0]["text"]["text"] == "Daily digest · 11 Mar 2025"
    assert first.blocks[1]["elements"][0]["text"].startswith(
        "10 Mar 07:00 to 11 Mar 07:00 (Europe/Kyiv) · 200 new articles, 60 stance changes"
    )
    assert thread and "(continued)" in shown(thread)
    assert "`/ukraine stance ACTOR` shows the quotes" in shown(thread[-1:])


def test_corpus_strings_are_inert() -> None:
    messages = digest_messages(digest(3, 2, actors=12), label, TZ, "/ukraine")
    text = shown(messages)
    for forged in ("<!channel>", "<@U0EVIL01>", "<http://evil.example"):
        assert forged not in text
    assert "&lt;!channel&gt; Kyiv &amp; &lt;@U0EVIL01&gt;" in text
    assert "<https://news.example/0?x=1&amp;y=2|0: &lt;!channel&gt;" in text
    assert "and 2 more" in text  # 12 actors: ten listed


def test_a_quiet_day_is_one_line() -> None:
    [message] = digest_messages(digest(0, 0), label, TZ, "/ukraine")
    assert message.text == (
        "☕ Quiet day: no new articles and no stance changes since 10 Mar 07:00 (Europe/Kyiv)."
    )
    assert len(message.blocks) == 1


def test_the_preview_is_the_channel_message_with_a_note() -> None:
    long = preview_message(digest(200, 60), label, TZ, "/ukraine", "C0DIGEST01")
    assert_within_limits(long)
    note = long.blocks[-1]["elements"][0]["text"]
    assert note.startswith("👀 Preview of the digest of 11 Mar 2025 in <#C0DIGEST01>")
    assert "more messages would follow in its thread." in note
    short = preview_message(digest(1, 0), label, TZ, "/ukraine", None)
    assert short.blocks[-1]["elements"][0]["text"].endswith(
        "(no DIGEST_CHANNEL is set), as it stands now."
    )
