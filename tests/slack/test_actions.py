"""The answer buttons, clicked over real HTTP: Share in channel, Dismiss, 👍 / 👎."""

from __future__ import annotations

import json

from tests.slack.conftest import texts


def responses(stand_in, sent, count=1):
    return [c.body for c in stand_in.wait_for(stand_in.to_url(sent.response_url), count)]


def test_share_posts_the_same_answer_in_channel_then_removes_the_private_one(slack, stand_in):
    private = responses(stand_in, slack.command("stance Poland"))[0]
    share = next(
        e
        for b in private["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "share"
    )
    sent = slack.click("share", share["value"], user="U0BOB0001")
    assert sent.status == 200

    shared, deleted = responses(stand_in, sent, 2)
    assert shared["response_type"] == "in_channel"
    assert shared["replace_original"] is False
    assert shared["text"] == private["text"]
    # The same answer: every block up to the buttons, then who shared it.
    answer_blocks = [b for b in private["blocks"] if b["type"] != "actions"]
    assert shared["blocks"][: len(answer_blocks)] == answer_blocks
    assert shared["blocks"][-2]["elements"][0]["text"] == (
        "Shared by <@U0BOB0001> · `/ukraine stance Poland`"
    )
    in_channel_buttons = [e["action_id"] for e in shared["blocks"][-1]["elements"]]
    assert in_channel_buttons == ["feedback_up", "feedback_down"]
    assert deleted["delete_original"] is True


def test_share_after_the_corpus_changed_says_it_was_answered_again(slack, stand_in):
    # The button carries the snapshot that answered; another one answers the share.
    value = json.dumps({"q": "stance Poland", "c": "0123456789ab"})
    shared, _ = responses(stand_in, slack.click("share", value, user="U0BOB0001"), 2)
    assert shared["blocks"][-2]["elements"][0]["text"] == (
        "Shared by <@U0BOB0001> · `/ukraine stance Poland` · answered again: the corpus has "
        "changed since it was asked"
    )


def test_share_of_a_request_that_now_fails_stays_private(slack, stand_in):
    sent = slack.click("share", json.dumps({"q": "stance boom"}))
    (reply,) = responses(stand_in, sent)
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("⚠️ Sorry, newsbot failed while answering.")


def test_share_cannot_forge_a_mention_of_the_sharer(slack, stand_in):
    sent = slack.click("share", json.dumps({"q": "stance Poland"}), user="<!channel>")
    shared, _ = responses(stand_in, sent, 2)
    assert "Shared by someone" in texts(shared["blocks"])
    assert "<!channel>" not in texts(shared["blocks"])


def test_dismiss_deletes_the_private_answer(slack, stand_in):
    sent = slack.click("dismiss", "dismiss")
    (reply,) = responses(stand_in, sent)
    assert reply["delete_original"] is True


def test_feedback_is_a_structured_log_event_and_thanks_privately(slack, stand_in, server):
    private = responses(stand_in, slack.command("search coalition"))[0]
    down = next(
        e
        for b in private["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "feedback_down"
    )
    sent = slack.click("feedback_down", down["value"], user="U0CAROL01")
    (thanks,) = responses(stand_in, sent)
    assert thanks == {
        "text": "Thanks: your 👎 is logged for the desk's review.",
        "response_type": "ephemeral",
        "replace_original": False,
    }
    event = server.wait_event(
        lambda e: e.get("event") == "slack_feedback" and e.get("user_id") == "U0CAROL01"
    )
    assert event["rating"] == "down"
    assert event["kind"] == "search"
    assert event["question"] == "search coalition"
    assert event["answer"] == "2 passages for “coalition”"
    assert event["corpus"] == "f00dfacecafe"
    assert event["message_ts"] == "1700000000.000100"
    assert event["channel_id"] == "C0DESK001"
