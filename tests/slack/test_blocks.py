"""The renderer: one escape function, links only from http(s), and Slack's limits for any
answer, however large (property tests)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.models import (
    ActorRef,
    AskAnswer,
    Board,
    BoardCell,
    Evidence,
    Position,
    SearchAnswer,
    SearchHit,
    Source,
    SourcesAnswer,
    StanceAnswer,
)
from bot.slack_blocks import (
    MAX_MESSAGE_CHARS,
    Message,
    answer_actions,
    ask_message,
    block_chars,
    board_message,
    context,
    escape,
    help_message,
    link,
    search_message,
    sources_message,
    stance_message,
)
from tests.slack.fake_newsbot import INFO, TOPICS

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S123>",
    "<@U123>",
    "<#C1>",
    "<http://evil.example|benign>",
    "&",
    "&lt;",
    ">",
]
TOKENS = [*"ab <>&|*_~`\n", "é", "🟢", "word ", *HOSTILE]
text = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)
# Long runs, and runs that escaping makes five times longer.
big_text = st.lists(st.sampled_from([*TOKENS, "x" * 500, "&" * 500]), max_size=40).map("".join)
url = st.sampled_from(
    [
        None,
        "https://news.example/a?x=1&y=2",
        "http://b.example/",
        "javascript:x",
        "ftp://f.example/",
        "https://e.example/<!here>",
        "https://long.example/" + "a" * 990,
        "https://e.example/a|b",
    ]
)
stance = st.sampled_from(["support", "oppose", "conditional", "undecided"])
day = st.one_of(st.none(), st.dates(date(2020, 1, 1), date(2026, 1, 1)))


def label(topic: str) -> str:
    return TOPICS.get(topic, topic)


evidence = st.builds(
    Evidence,
    quote=big_text,
    article_id=text,
    title=text,
    outlet=st.none() | text,
    url=url,
    published=day,
    stance=stance,
    speaker=st.none() | text,
)
position = st.builds(
    Position,
    topic=st.sampled_from(list(TOPICS)),
    stance=stance,
    confidence=st.floats(0, 1),
    summary=big_text,
    sources_agreeing=st.integers(0, 99),
    disagreement=st.booleans(),
    evidence=st.lists(evidence, max_size=40),
)
actor = st.builds(ActorRef, id=text, name=text)
stance_answer = st.builds(StanceAnswer, actor=actor, positions=st.lists(position, max_size=5))
hit = st.builds(
    SearchHit,
    quote=big_text,
    article_id=text,
    title=text,
    outlet=st.none() | text,
    url=url,
    published=day,
    score=st.floats(0, 10),
)


def rendered_mrkdwn(blocks: list[dict[str, Any]]) -> list[str]:
    out = []
    for b in blocks:
        for part in [b.get("text"), *b.get("elements", []), *b.get("fields", [])]:
            if isinstance(part, dict) and part.get("type") == "mrkdwn":
                assert part["verbatim"] is True
                out.append(part["text"])
    return out


def assert_valid(message: Message) -> None:
    """Slack's limits hold with the buttons added, and no untrusted markup survives."""
    full = message.with_tail(context("Shared by someone"), answer_actions("{}", "{}"))
    assert message.text.strip() and len(message.text) <= 3000
    assert not re.search(r"<[!@#]", message.text)
    assert len(full.blocks) <= 50
    assert block_chars(full.blocks) <= MAX_MESSAGE_CHARS
    for b in full.blocks:
        if b["type"] == "header":
            assert 0 < len(b["text"]["text"]) <= 150
            assert b["text"]["type"] == "plain_text"
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
        if b["type"] == "context":
            assert 1 <= len(b["elements"]) <= 10
        if b["type"] == "actions":
            assert len(b["elements"]) <= 25
    for mrkdwn in rendered_mrkdwn(full.blocks):
        # Every "<" left opens one of our links to an http(s) URL without "<", ">" or "|".
        for m in re.finditer(r"<", mrkdwn):
            assert re.match(r"<https?://[^<>|\s]+\|[^<>]*>", mrkdwn[m.start() :]), mrkdwn
        # Every "&" starts a whole entity: nothing was cut in the middle of one.
        for m in re.finditer("&", mrkdwn):
            assert re.match(r"&(amp|lt|gt);", mrkdwn[m.start() :]), mrkdwn


def texts_of(message: Message) -> str:
    return "\n".join(rendered_mrkdwn(message.blocks))


def shown_count(message: Message, noun: str) -> int:
    more = re.search(rf"…and ([\d,]+) {noun}s? more not shown", texts_of(message))
    return int(more.group(1).replace(",", "")) if more else 0


def test_escape_is_the_three_entities_in_order():
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("&lt;") == "&amp;lt;"
    assert escape("<!channel> <@U123> <http://x|y>") == (
        "&lt;!channel&gt; &lt;@U123&gt; &lt;http://x|y&gt;"
    )
    assert escape("*bold* _it_ `code` #general @here") == "*bold* _it_ `code` #general @here"


def test_links_only_from_http_urls():
    assert (
        link("https://a.example/x?p=1&q=2", "T <1>")
        == "<https://a.example/x?p=1&amp;q=2|T &lt;1&gt;>"
    )
    assert link("http://a.example", "t") == "<http://a.example|t>"
    for bad in (
        "javascript:alert(1)",
        "ftp://a.example",
        "/relative",
        "https://",
        None,
        "",
        "https://a.example/<!here>",
        "https://a.example/a|b",
        "https://a.example/ x",
    ):
        assert link(bad, "<t>") == "&lt;t&gt;"


@settings(max_examples=60, deadline=None)
@given(stance_answer, st.none() | text)
def test_stance_messages_stay_within_limits(answer, asked):
    message = stance_message(answer, INFO, label, asked_topic=asked)
    assert_valid(message)
    shown = sum(1 for b in message.blocks if b["type"] == "section" and "*: " in b["text"]["text"])
    if answer.positions:
        assert shown + shown_count(message, "topic") == len(answer.positions)


@settings(max_examples=40, deadline=None)
@given(st.lists(hit, max_size=60), text)
def test_search_messages_stay_within_limits(hits, query):
    message = search_message(SearchAnswer(query=query, results=hits), INFO, "Try other words.")
    assert_valid(message)
    if hits:
        shown = sum(1 for b in message.blocks if b["type"] == "section") - 1
        assert shown + shown_count(message, "passage") == len(hits)


@settings(max_examples=40, deadline=None)
@given(st.lists(hit, max_size=10), st.none() | stance_answer, text)
def test_ask_messages_stay_within_limits(hits, stance_view, question):
    answer = AskAnswer(
        query=question,
        results=hits,
        stance=stance_view,
        topics=[p.topic for p in stance_view.positions[:1]] if stance_view else [],
    )
    assert_valid(ask_message(answer, INFO, label, "Try naming an actor."))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.builds(
            Source,
            id=text,
            title=text,
            outlet=st.none() | text,
            url=url,
            published=day,
            words=st.integers(0, 10**6),
        ),
        max_size=800,
    ),
    st.integers(0, 10**6),
)
def test_sources_messages_stay_within_limits(articles, unlisted):
    total = len(articles) + unlisted
    message = sources_message(SourcesAnswer(articles=articles, total=total), INFO)
    assert_valid(message)
    lines = sum(
        b["text"]["text"].count("\n• ") + 1
        for b in message.blocks
        if b["type"] == "section" and b["text"]["text"].startswith("• ")
    )
    assert lines + shown_count(message, "article") == total


@settings(max_examples=30, deadline=None)
@given(st.lists(actor, max_size=300, unique_by=lambda a: a.id), stance, st.booleans())
def test_board_messages_stay_within_limits(actors, cell_stance, disagreement):
    cells = [
        BoardCell(
            actor=a, topic=t, stance=cell_stance, sources_agreeing=1, disagreement=disagreement
        )
        for a in actors
        for t in TOPICS
    ]
    board = Board(topics=list(TOPICS), actors=actors, cells=cells)
    message = board_message(board, INFO, label)
    assert_valid(message)
    rows = sum(
        len(b["text"]["text"].split("\n")) for b in message.blocks[2:] if b["type"] == "section"
    )
    if actors:
        assert rows + shown_count(message, "actor") == len(actors)
    else:
        assert "No actor has a position in the corpus yet." in texts_of(message)


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.tuples(text, text, text), max_size=30),
    st.lists(text, max_size=50),
    st.none() | text,
)
# Found by wider runs: a blank note, and a section cut inside an escaped link or entity.
@example(usages=[], topics=[], note="\n")
@example(
    usages=[("", "", "a" * 11 + "<http://evil.example|benign>" * 40)] * 3, topics=[], note=None
)
def test_help_messages_stay_within_limits(usages, topics, note):
    assert_valid(
        help_message(
            [tuple(escape(p) for p in u) for u in usages], topics, escape(note) if note else None
        )
    )
