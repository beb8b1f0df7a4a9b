"""Slash commands over real HTTP, signed as Slack signs them; answers read at the stand-in."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.slack.conftest import SECRET, ServerProcess, Slack, open_gate, texts
from tests.slack.fake_newsbot import DISSENT_QUOTE, SAFE_URL
from tests.slack.stand_in import Call, SlackStandIn

LIMITS = {"blocks": 50, "section": 3000, "header": 150, "context": 10}


def answer_to(slack: Slack, stand_in: SlackStandIn, text: str) -> dict[str, Any]:
    sent = slack.command(text)
    assert sent.status == 200, sent.body
    assert sent.response_url is not None
    return stand_in.wait_for(stand_in.to_url(sent.response_url))[0].body


def buttons(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["action_id"]: e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]
    }


def assert_within_limits(body: dict[str, Any]) -> None:
    blocks = body["blocks"]
    assert body["text"].strip(), "every message has a text fallback"
    assert len(blocks) <= LIMITS["blocks"]
    for b in blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= LIMITS["section"]
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= LIMITS["header"]
        if b["type"] == "context":
            assert len(b["elements"]) <= LIMITS["context"]


def test_stance_answer_has_markers_quotes_sources_and_footer(slack, stand_in):
    body = answer_to(slack, stand_in, "stance Poland")

    assert body["response_type"] == "ephemeral"
    assert_within_limits(body)
    blocks = body["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Poland", "emoji": True},
    }
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sections[0].startswith("🔴 *Troops for Ukraine*: opposes")
    assert "_2 independent sources agree · ⚠️ other sources disagree_" in sections[0]
    assert sections[1].startswith("🟢 *Sanctions on Russia*: supports")
    assert "_1 independent source agrees · no source disagrees_" in sections[1]

    # Under the troops section: the best quotes as context blocks, the dissent among them.
    quotes = [b["elements"][0]["text"] for b in blocks[2:5]]
    assert all(b["type"] == "context" for b in blocks[2:5])
    assert quotes[0].startswith("🔴 “Poland &lt;@U999&gt;")
    assert "Donald Tusk · Example Times · 17 Feb 2025 · " in quotes[0]
    assert f"<{SAFE_URL.replace('&', '&amp;')}|Leaders meet &lt;!here&gt; in Paris>" in quotes[0]
    # A javascript: URL is never linked; the title stays as plain text.
    assert quotes[1].endswith("17 Feb 2025 · Tusk rules it out")
    assert "javascript" not in json.dumps(body)
    assert quotes[2].startswith(f"🟡 “{DISSENT_QUOTE}”")

    footer = blocks[-2]["elements"][0]["text"]
    assert footer == (
        "Answered from 3 articles (42 passages) · last ingest 2025-03-04 09:30 UTC"
        " · snapshot `f00dfacecafe`"
    )
    assert body["text"] == "Poland: 🔴 opposes Troops for Ukraine; 🟢 supports Sanctions on Russia"
    assert set(buttons(body)) == {"share", "dismiss", "feedback_up", "feedback_down"}
    share = json.loads(buttons(body)["share"]["value"])
    assert share == {"q": "stance Poland", "c": "f00dfacecafe"}  # the request and its snapshot


def test_stance_with_topic_of_several_words_and_other_markers(slack, stand_in):
    body = answer_to(slack, stand_in, "stance spain troops")
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert len(sections) == 1
    assert sections[0].startswith("🟡 *Troops for Ukraine*: conditional")

    body = answer_to(slack, stand_in, "stance Spain sanctions")
    assert "⚪ *Sanctions on Russia*: undecided" in texts(body["blocks"])


def test_search_lists_passages_with_sources(slack, stand_in):
    body = answer_to(slack, stand_in, "search coalition of the willing")
    assert body["response_type"] == "ephemeral"
    assert_within_limits(body)
    shown = texts(body["blocks"])
    assert "*2 passages* for “coalition of the willing”, best first" in shown
    assert "— Example Times · 2 Mar 2025 · <https://news.example/" in shown
    assert body["text"] == "2 passages for “coalition of the willing”"


def test_search_that_finds_nothing_says_so(slack, stand_in):
    body = answer_to(slack, stand_in, "search nothing at all")
    assert "Nothing in the corpus matches “nothing at all”." in texts(body["blocks"])
    assert "/ukraine stance Poland" in body["text"]


def test_board_is_one_message_with_the_grid(slack, stand_in):
    body = answer_to(slack, stand_in, "board")
    assert_within_limits(body)
    grid = texts(body["blocks"])
    assert "*Poland*  🔴 Troops for Ukraine ⚠️  ·  🟢 Sanctions on Russia" in grid
    assert "*Spain*  🟡 Troops for Ukraine" in grid
    assert "🟢 supports · 🔴 opposes · 🟡 conditional · ⚪ undecided" in grid


def test_sources_newest_first_links_only_http(slack, stand_in):
    body = answer_to(slack, stand_in, "sources")
    listing = next(b for b in body["blocks"] if b["type"] == "section")["text"]["text"]
    lines = listing.splitlines()
    assert lines[0].startswith("• <https://news.example/poland-troops?a=1&amp;b=2|Leaders meet")
    assert lines[1] == "• No link here — 17 Feb 2025 · 477 words"  # ftp:// is not linked
    assert lines[2] == "• Undated — Wire · 12 words"


def test_ask_command_gives_the_mention_answer(slack, stand_in):
    body = answer_to(slack, stand_in, "ask What does Poland say about troops?")
    assert body["blocks"][0]["text"]["text"] == "Poland"
    assert "You asked: “What does Poland say about troops?”" in texts(body["blocks"])
    assert "share" in buttons(body)


def test_empty_command_and_help_are_ephemeral_usage_without_buttons(slack, stand_in):
    for text in ("", "help", "   "):
        body = answer_to(slack, stand_in, text)
        assert body["response_type"] == "ephemeral"
        usage = texts(body["blocks"])
        assert "`/ukraine stance ACTOR [TOPIC]`" in usage
        assert "e.g. `/ukraine stance Poland troops`" in usage
        assert "Topics: Troops for Ukraine · US backstop" in usage
        assert not buttons(body)


def test_unknown_sub_command_gets_did_you_mean(slack, stand_in):
    body = answer_to(slack, stand_in, "stanse Poland")
    assert body["response_type"] == "ephemeral"
    assert "has no sub-command “stanse”. Did you mean `/ukraine stance Poland`?" in body["text"]

    body = answer_to(slack, stand_in, "Polnd troops")
    assert "Did you mean `/ukraine stance Poland troops`?" in body["text"]


def test_unknown_actor_and_topic_get_engine_suggestions(slack, stand_in):
    body = answer_to(slack, stand_in, "stance Polnd troops")
    assert body["response_type"] == "ephemeral"
    assert body["text"] == (
        "⚠️ No actor called “Polnd” in the corpus. Did you mean `/ukraine stance Poland troops`?"
    )
    assert not buttons(body)

    body = answer_to(slack, stand_in, "stance Poland sanktions")
    assert "No topic called “sanktions”" in body["text"]
    assert "`/ukraine stance Poland sanctions`" in body["text"]


def rendered(body: dict[str, Any]) -> str:
    """Everything Slack renders of a message (button values are opaque payloads)."""
    return body["text"] + "\n" + texts(body["blocks"])


def test_mention_injection_in_a_command_is_inert(slack, stand_in):
    body = answer_to(slack, stand_in, "<!channel> stance <@U123> Poland")
    assert "has no sub-command “&lt;!channel&gt;”" in body["text"]

    for text in ("search <!here> <http://evil.example|x> <@U123>", "stance Poland"):
        body = answer_to(slack, stand_in, text)
        shown = rendered(body)
        if text.startswith("search"):
            assert "“&lt;!here&gt; &lt;http://evil.example|x&gt; &lt;@U123&gt;”" in shown
        for forged in ("<!channel>", "<!here>", "<@U123>", "<@U999>", "<http://evil"):
            assert forged not in shown
        assert all(
            part.get("verbatim") is True
            for b in body["blocks"]
            for part in [b.get("text"), *b.get("elements", [])]
            if isinstance(part, dict) and part.get("type") == "mrkdwn"
        )
    assert "&lt;@U999&gt; will not &lt;http://evil.example|click&gt;" in shown
    assert "&amp; says so &lt;!channel&gt;" in shown


def test_a_3000_character_query_gets_help_not_an_error(slack, stand_in):
    body = answer_to(slack, stand_in, "search " + "troops " * 428)
    assert body["response_type"] == "ephemeral"
    assert "That request is 3,002 characters long; newsbot reads at most 500." in body["text"]
    assert "`/ukraine search QUERY`" in texts(body["blocks"])
    assert_within_limits(body)


def test_oversized_answer_is_cut_with_and_n_more(slack, stand_in):
    body = answer_to(slack, stand_in, "stance many")
    assert_within_limits(body)
    chars = len(texts(body["blocks"]))
    assert chars <= 12000
    assert re.search(r"_…and \d+ topics? more not shown\._", texts(body["blocks"]))
    assert body["blocks"][-1]["type"] == "actions"  # the buttons survive the cut


def test_engine_failure_tells_the_user_and_logs_the_traceback(
    slack: Slack, stand_in: SlackStandIn, server: ServerProcess
):
    body = answer_to(slack, stand_in, "stance boom")
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("⚠️ Sorry, newsbot failed while answering.")
    event = server.wait_event(
        lambda e: e.get("event") == "slack_request" and e.get("outcome") == "error"
    )
    assert event["level"] == "error"
    assert event["kind"] == "stance"
    assert "Traceback (most recent call last)" in event["exception"]
    assert "RuntimeError: stance engine exploded" in event["exception"]


def test_bad_signature_gets_401_and_no_answer(slack, stand_in, server):
    sent = slack.command("stance Poland", secret="not-the-signing-secret")
    assert sent.status == 401
    assert json.loads(sent.body) == {"error": "invalid request"}
    sent_forged = slack.command("stance Poland", signature="v0=" + "0" * 64)
    assert sent_forged.status == 401
    rejected = server.wait_event(lambda e: e.get("event") == "slack_request_rejected")
    assert rejected["level"] == "warning"
    time.sleep(0.5)  # a listener would have answered by now
    assert sent.response_url.rsplit("/", 1)[1] not in server.output()  # nor the body
    for rejected in (sent, sent_forged):
        assert not stand_in.matching(stand_in.to_url(rejected.response_url))


def test_stale_timestamp_gets_401_and_no_answer(slack, stand_in):
    sent = slack.command("stance Poland", timestamp=int(time.time()) - 301)
    assert sent.status == 401
    time.sleep(0.5)
    assert not stand_in.matching(stand_in.to_url(sent.response_url))


def test_ack_comes_before_the_answer(slack, stand_in, gate_dir: Path):
    sent = slack.command("stance slow-ack")
    assert sent.status == 200
    assert sent.elapsed < 3.0  # generous bound: the engine is still blocked
    time.sleep(0.3)
    assert not stand_in.matching(stand_in.to_url(sent.response_url)), "answered before ack"
    open_gate(gate_dir, "slow-ack")
    body = stand_in.wait_for(stand_in.to_url(sent.response_url))[0].body
    assert body["blocks"][0]["text"]["text"] == "slow-ack"


def test_a_burst_of_slow_commands_is_acked_within_the_window(slack, stand_in, gate_dir: Path):
    """Twelve answers in progress at once: more than Bolt's default pool of five."""
    names = [f"slow-burst-{i}" for i in range(12)]
    with ThreadPoolExecutor(len(names)) as pool:
        sent = list(pool.map(lambda n: slack.command(f"stance {n}"), names))
    assert [s.status for s in sent] == [200] * len(names)
    assert max(s.elapsed for s in sent) < 3.0
    for name in names:
        open_gate(gate_dir, name)
    for s in sent:
        stand_in.wait_for(stand_in.to_url(s.response_url))


def test_unregistered_command_is_404_and_bolt_logs_json(slack, server):
    sent = slack.command("anything", command="/other")
    assert sent.status == 404
    warning = server.wait_event(
        lambda e: e.get("logger", "").startswith("newsbot.bolt") and e.get("level") == "warning"
    )
    assert "Unhandled request" in warning["event"]


def test_url_verification_is_echoed(slack):
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"})
    sent = slack.post(body, "application/json")
    assert sent.status == 200
    assert json.loads(sent.body) == {"challenge": "c-123"}


def test_one_log_event_per_request_and_never_a_secret(slack, stand_in, server):
    sent = slack.command("stance Poland sanctions")
    stand_in.wait_for(stand_in.to_url(sent.response_url))
    event = server.wait_event(
        lambda e: (
            e.get("event") == "slack_request"
            and e.get("actor") == "poland"
            and e.get("topic") == "sanctions"
        )
    )
    assert event["surface"] == "command" and event["kind"] == "stance"
    assert event["command"] == "/ukraine"
    assert event["results"] == 1 and event["outcome"] == "ok"
    assert isinstance(event["latency_ms"], float)
    assert event["user_id"] == "U0ALICE01" and event["channel_id"] == "C0DESK001"

    # The server logs at DEBUG: still no token or signing secret, anywhere.
    output = server.output()
    assert "xoxb-111-222-testtokenvalue" not in output
    assert SECRET not in output
    assert all(line.startswith("{") for line in output.splitlines() if line.strip())
    # The web API calls did carry the token.
    calls: list[Call] = stand_in.matching(lambda c: c.method == "auth.test")
    assert calls[0].headers["Authorization"] == "Bearer xoxb-111-222-testtokenvalue"
