"""The buttons on answers: Share in channel, Dismiss, and 👍 / 👎 feedback for the desk."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond

from bot.slack_blocks import DISMISS, FEEDBACK_DOWN, FEEDBACK_UP, SHARE
from handlers import command
from handlers.common import ids, log, log_request, parse_value, send, shared_by, with_buttons

if TYPE_CHECKING:
    from bot import Newsbot
    from bot.state import StateStore

ACTIONS = (SHARE, DISMISS, FEEDBACK_UP, FEEDBACK_DOWN)
FEEDBACK_IDS = ("team_id", "channel_id", "user_id")


def register(
    app: App, newsbot: Newsbot, command_name: str, state: StateStore | None = None
) -> None:
    def on_share(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        share(newsbot, command_name, body, respond)

    def on_dismiss(ack: Ack, respond: Respond) -> None:
        ack()
        send(respond, response_type="ephemeral", delete_original=True)

    def on_feedback(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        feedback(body, respond, state)

    app.action(SHARE)(on_share)
    app.action(DISMISS)(on_dismiss)
    app.action(FEEDBACK_UP)(on_feedback)
    app.action(FEEDBACK_DOWN)(on_feedback)


def share(newsbot: Newsbot, command_name: str, body: dict[str, Any], respond: Respond) -> None:
    """Answers the same request again and posts it in the channel, then removes the private
    copy. Ephemeral messages are not sent back with the click, so the request is replayed; if
    the corpus changed in between, the shared answer says that it was answered again."""
    started = time.perf_counter()
    value = parse_value(body["actions"][0].get("value", ""))
    text = str(value.get("q", ""))
    reply = command.answer(newsbot, command_name, text)
    if reply.answer:
        asked_on = value.get("c")
        changed = asked_on is not None and asked_on != newsbot.info().fingerprint[:12]
        note = shared_by(body.get("user", {}).get("id", ""), command_name, text, changed)
        message = with_buttons(reply, text, newsbot, shareable=False, note=note)
        shared = send(
            respond, response_type="in_channel", replace_original=False, **message.payload()
        )
        if shared:
            send(respond, response_type="ephemeral", delete_original=True)
        else:
            reply = replace(reply, outcome="error")
    else:
        send(respond, response_type="ephemeral", replace_original=False, **reply.message.payload())
    log_request("share", reply, started, **ids(body), command=command_name)


def feedback(body: dict[str, Any], respond: Respond, state: StateStore | None = None) -> None:
    """One structured event per vote (who rated which answer to which question), and a row in
    the state's ``feedback`` table, where the desk can count them across replicas."""
    action = body["actions"][0]
    up = action.get("action_id") == FEEDBACK_UP
    value = parse_value(action.get("value", ""))
    vote = {
        "rating": "up" if up else "down",
        "kind": value.get("k"),
        "question": value.get("q"),
        "answer": value.get("a"),
        "corpus": value.get("c"),
        "message_ts": (body.get("container") or {}).get("message_ts"),
    }
    who = ids(body)
    log.info("slack_feedback", **vote, thread_context=value.get("x"), **who)
    if state is not None:
        try:
            state.record_feedback(**vote, **{k: who.get(k) for k in FEEDBACK_IDS})
        except Exception:  # the vote is in the log above: thank the user all the same
            log.exception("slack_feedback_not_recorded", **who)
    send(
        respond,
        response_type="ephemeral",
        replace_original=False,
        text=f"Thanks: your {'👍' if up else '👎'} is logged for the desk's review.",
    )
