"""``@newsbot`` mentions over real HTTP: thread replies, 👀, thread memory, retries, 429s."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.slack.conftest import USER, ServerProcess, Slack, texts
from tests.slack.stand_in import BOT_USER_ID, Call, SlackStandIn

ME = f"<@{BOT_USER_ID}>"


def channel() -> str:
    """A channel of its own for each test, so that calls are told apart."""
    return "C" + uuid.uuid4().hex[:9].upper()


def in_channel(method: str, where: str) -> Any:
    return lambda c: c.method == method and c.body.get("channel") == where


def post_in(stand_in: SlackStandIn, where: str, count: int = 1) -> list[Call]:
    return stand_in.wait_for(in_channel("chat.postMessage", where), count)


def test_mention_is_answered_in_its_thread_with_eyes_while_working(slack: Slack, stand_in):
    where = channel()
    sent, event = slack.mention(f"{ME} What does Poland say about troops?", channel=where)
    assert sent.status == 200

    post = post_in(stand_in, where)[0]
    assert post.body["thread_ts"] == event["ts"]
    assert post.body["blocks"][0]["text"]["text"] == "Poland"
    shown = texts(post.body["blocks"])
    assert "You asked: “What does Poland say about troops?”" in shown  # own mention stripped
    assert "🔴 *Troops for Ukraine*: opposes" in shown
    assert post.body["text"] == "Poland: 🔴 opposes Troops for Ukraine"
    actions = next(b for b in post.body["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["feedback_up", "feedback_down"]
    assert post.body["unfurl_links"] is False

    added = stand_in.wait_for(in_channel("reactions.add", where))[0]
    removed = stand_in.wait_for(in_channel("reactions.remove", where))[0]
    for reaction in (added, removed):
        assert reaction.body["channel"] == where
        assert (reaction.body["timestamp"], reaction.body["name"]) == (event["ts"], "eyes")
    assert added.at < post.at < removed.at


def test_mention_inside_a_thread_replies_to_that_thread(slack, stand_in):
    where = channel()
    _, event = slack.mention(
        f"{ME} and Poland on sanctions?", channel=where, thread_ts="1699999999.000100"
    )
    post = post_in(stand_in, where)[0]
    assert post.body["thread_ts"] == "1699999999.000100" != event["ts"]


def test_follow_up_reuses_the_threads_actor_or_topic(slack, stand_in):
    where, thread = channel(), "1699999999.000200"
    slack.mention(f"{ME} What does Poland say about troops?", channel=where, thread_ts=thread)
    assert post_in(stand_in, where, 1)[0].body["text"] == "Poland: 🔴 opposes Troops for Ukraine"

    slack.mention(f"{ME} and Spain?", channel=where, thread_ts=thread)
    second = post_in(stand_in, where, 2)[1]
    assert second.body["text"] == "Spain: 🟡 conditional on Troops for Ukraine"

    slack.mention(f"{ME} what about sanctions?", channel=where, thread_ts=thread)
    third = post_in(stand_in, where, 3)[2]
    assert third.body["text"] == "Spain: ⚪ undecided on Sanctions on Russia"
    value = json.loads(
        next(b for b in third.body["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    )
    assert value["x"] == ["spain", "troops"]  # the context the answer used

    # Another thread has no context: "and Spain?" alone names no topic.
    other = channel()
    slack.mention(f"{ME} and Spain?", channel=other)
    assert post_in(stand_in, other)[0].body["text"] == "2 passages for “and Spain?”"


def test_retried_event_is_answered_once(slack, stand_in, server: ServerProcess):
    where, event_id = channel(), "Ev0RETRIED01"
    ts = f"{time.time():.6f}"
    first, _ = slack.mention(f"{ME} Poland troops?", channel=where, ts=ts, event_id=event_id)
    again, _ = slack.mention(
        f"{ME} Poland troops?", channel=where, ts=ts, event_id=event_id, retry=1
    )
    assert first.status == again.status == 200
    post_in(stand_in, where)
    duplicate = server.wait_event(
        lambda e: e.get("event") == "slack_event_duplicate" and e.get("event_id") == event_id
    )
    assert duplicate["retry_num"] == "1"
    time.sleep(0.5)  # a second answer would have been posted by now
    assert len(stand_in.matching(in_channel("chat.postMessage", where))) == 1
    assert len(stand_in.matching(in_channel("reactions.add", where))) == 1


def test_nothing_found_is_said_in_the_thread(slack, stand_in):
    where = channel()
    _, event = slack.mention(f"{ME} nothing matches this", channel=where)
    post = post_in(stand_in, where)[0]
    assert post.body["thread_ts"] == event["ts"]
    assert post.body["text"] == (
        "I found nothing in the corpus for “nothing matches this”. Try naming an actor and a "
        "topic, for example `@newsbot What does Poland say about troops?`."
    )


def test_rate_limited_post_waits_out_retry_after_then_posts_once(slack, stand_in):
    where = channel()
    stand_in.fail_next(
        "chat.postMessage",
        429,
        headers={"Retry-After": "1"},
        when=lambda body: body.get("channel") == where,
    )
    slack.mention(f"{ME} Poland troops?", channel=where)
    limited, posted = post_in(stand_in, where, 2)
    assert (limited.status, posted.status) == (429, 200)
    assert posted.at - limited.at >= 1.0  # Retry-After was waited out
    assert posted.body == limited.body
    time.sleep(0.5)
    assert len(stand_in.matching(in_channel("chat.postMessage", where))) == 2


def test_engine_failure_in_a_mention_is_told_privately_and_logged(slack, stand_in, server):
    where = channel()
    _, event = slack.mention(f"{ME} boom?", channel=where)
    error = stand_in.wait_for(in_channel("chat.postEphemeral", where))[0]
    assert error.body["user"] == USER
    assert error.body["thread_ts"] == event["ts"]
    assert error.body["text"].startswith("⚠️ Sorry, newsbot failed while answering.")
    stand_in.wait_for(in_channel("reactions.remove", where))
    logged = server.wait_event(
        lambda e: e.get("surface") == "mention" and e.get("channel_id") == where
    )
    assert logged["outcome"] == "error"
    assert "RuntimeError: ask exploded" in logged["exception"]
    assert not stand_in.matching(in_channel("chat.postMessage", where))


def test_empty_mention_gets_help_privately(slack, stand_in):
    where = channel()
    slack.mention(ME, channel=where)
    help_ = stand_in.wait_for(in_channel("chat.postEphemeral", where))[0]
    assert "Ask me who stands where, for example `@newsbot What does" in help_.body["text"]
    assert "`/ukraine help` lists everything" in help_.body["text"]


def test_mention_injection_is_inert(slack, stand_in):
    where = channel()
    slack.mention(f"{ME} <!channel> what does <@U123> say? Poland troops", channel=where)
    post = post_in(stand_in, where)[0]
    shown = post.body["text"] + texts(post.body["blocks"])
    assert "<!channel>" not in shown and "<@U123>" not in shown
    assert "You asked: “&lt;!channel&gt; what does &lt;@U123&gt; say? Poland troops”" in shown


def test_server_error_is_retried_then_posted_once(slack, stand_in):
    where = channel()
    stand_in.fail_next(
        "chat.postMessage",
        500,
        body={"ok": False, "error": "internal_error"},
        when=lambda body: body.get("channel") == where,
    )
    slack.mention(f"{ME} Poland troops?", channel=where)
    failed, posted = post_in(stand_in, where, 2)
    assert (failed.status, posted.status) == (500, 200)
    assert posted.body == failed.body
    time.sleep(0.5)
    assert len(stand_in.matching(in_channel("chat.postMessage", where))) == 2
    assert not stand_in.matching(in_channel("chat.postEphemeral", where))


def test_an_answer_that_cannot_be_posted_is_told_privately(slack, stand_in, server):
    where = channel()
    for _ in range(3):  # the first post and the server-error handler's two retries
        stand_in.fail_next(
            "chat.postMessage",
            503,
            body={"ok": False, "error": "service_unavailable"},
            when=lambda body: body.get("channel") == where,
        )
    _, event = slack.mention(f"{ME} Poland troops?", channel=where)
    notice = stand_in.wait_for(in_channel("chat.postEphemeral", where), timeout=30)[0]
    attempts = stand_in.matching(in_channel("chat.postMessage", where))
    assert [c.status for c in attempts] == [503, 503, 503]
    assert notice.body["user"] == USER
    assert notice.body["thread_ts"] == event["ts"]
    assert "Slack would not let me post it" in notice.body["text"]
    stand_in.wait_for(in_channel("reactions.remove", where))
    logged = server.wait_event(
        lambda e: e.get("surface") == "mention" and e.get("channel_id") == where
    )
    assert logged["outcome"] == "error" and "service_unavailable" in logged["exception"]


def test_bad_signature_or_stale_timestamp_on_an_event_gets_401_and_no_answer(slack, stand_in):
    where = channel()
    forged, _ = slack.mention(f"{ME} Poland troops?", channel=where, secret="not-the-secret")
    stale, _ = slack.mention(
        f"{ME} Poland troops?", channel=where, timestamp=int(time.time()) - 301
    )
    assert (forged.status, stale.status) == (401, 401)
    time.sleep(0.5)  # a listener would have reacted by now
    assert not stand_in.matching(lambda c: c.body.get("channel") == where)


def test_a_3000_character_mention_gets_help_privately(slack, stand_in):
    where = channel()
    question = ("Poland troops " * 300)[:3000]
    sent, event = slack.mention(f"{ME} {question}", channel=where)
    assert sent.status == 200 and sent.elapsed < 3.0
    notice = stand_in.wait_for(in_channel("chat.postEphemeral", where))[0]
    assert notice.body["thread_ts"] == event["ts"]
    assert "That question is 3,000 characters long; I read at most 500." in notice.body["text"]
    time.sleep(0.3)
    assert not stand_in.matching(in_channel("chat.postMessage", where))
