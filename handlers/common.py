"""What the handlers share: the reply a kind produces, the answer buttons, the request log."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from slack_bolt import Respond

from bot.errors import NewsbotError
from bot.slack_blocks import (
    MAX_BUTTON_VALUE_CHARS,
    Block,
    Message,
    answer_actions,
    clip,
    context,
    escape,
    notice_message,
)

if TYPE_CHECKING:
    from bot import Newsbot
    from bot.settings import Settings
    from bot.state import StateStore

log = structlog.get_logger("newsbot.slack")

# Longer requests get the help text: no one types 500 characters into a slash command, and a
# bounded query keeps the answer buttons' values within Slack's 2,000 characters.
MAX_QUERY_CHARS = 500
EXAMPLE_QUESTION = "What does Poland say about troops?"
MENTION_EXAMPLE = f"@newsbot {EXAMPLE_QUESTION}"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")


@dataclass(frozen=True)
class Query:
    newsbot: Newsbot
    command: str  # the slash command's name, for usage lines and suggestions
    args: str  # what follows the sub-command
    settings: Settings | None = None  # the app's: add and digest need them
    state: StateStore | None = None  # the app's: the ingest ledger, the last digest posted


@dataclass(frozen=True)
class Reply:
    kind: str
    message: Message
    answer: bool = False  # answers get the Share and feedback buttons; help and errors do not
    outcome: str = "ok"  # ok | empty | user_error | error
    actor: str | None = None
    topic: str | None = None
    results: int = 0
    error: BaseException | None = None  # an unexpected failure: its traceback goes to the log


def user_error(kind: str, text: str) -> Reply:
    """A request the engine cannot answer as asked; ``text`` is already safe mrkdwn."""
    return Reply(kind, notice_message(f"⚠️ {text}"), outcome="user_error")


def engine_error(kind: str, err: NewsbotError) -> Reply:
    return user_error(kind, escape(str(err)))


def failure(kind: str, exc: BaseException) -> Reply:
    text = (
        "⚠️ Sorry, newsbot failed while answering. The error is logged for the desk; "
        "please try again in a moment."
    )
    return Reply(kind, notice_message(text), outcome="error", error=exc)


def run_kind(kind: str, answer: Callable[[Query], Reply], query: Query) -> Reply:
    """Runs one kind's answer function; failures become replies, never silence."""
    try:
        return answer(query)
    except NewsbotError as err:
        return engine_error(kind, err)
    except Exception as exc:
        return failure(kind, exc)


# --- answer buttons ------------------------------------------------------------------------


def share_value(text: str, fingerprint: str) -> str:
    """What the Share button carries: the request itself, answered again when shared, and the
    corpus snapshot that answered it, so that a share after the corpus changed says so."""
    return json.dumps({"q": text, "c": fingerprint[:12]}, ensure_ascii=False)


def feedback_value(
    reply: Reply, question: str, fingerprint: str, thread: list[str | None] | None
) -> str:
    """Enough for the desk to find and replay the rated answer: kind, question, snapshot."""
    value: dict[str, Any] = {
        "k": reply.kind,
        "q": clip(question, MAX_QUERY_CHARS),
        "c": fingerprint[:12],
        "a": clip(reply.message.text, 300),
    }
    if thread:
        value["x"] = thread
    dumped = json.dumps(value, ensure_ascii=False)
    if len(dumped) > MAX_BUTTON_VALUE_CHARS:
        del value["a"]
        dumped = json.dumps(value, ensure_ascii=False)
    return dumped


def parse_value(value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def with_buttons(
    reply: Reply,
    question: str,
    newsbot: Newsbot,
    *,
    shareable: bool,
    thread: list[str | None] | None = None,
    note: Block | None = None,
) -> Message:
    """An answer with its buttons (and ``note`` above them); other replies as they are."""
    if not reply.answer:
        return reply.message
    fingerprint = newsbot.info().fingerprint
    share = share_value(question, fingerprint) if shareable else None
    actions = answer_actions(share, feedback_value(reply, question, fingerprint, thread))
    return reply.message.with_tail(*([note] if note else []), actions)


def shared_by(user_id: str, command: str, text: str, changed: bool = False) -> Block:
    who = f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else "someone"
    note = " · answered again: the corpus has changed since it was asked" if changed else ""
    return context(f"Shared by {who} · `{escape(clip(f'{command} {text}', 200))}`{note}")


# --- sending and logging -------------------------------------------------------------------


def send(respond: Respond, **payload: Any) -> bool:
    """``respond``, with a failure logged: a response_url is single-use and short-lived, so a
    failed call is not retried."""
    try:
        response = respond(**payload)
    except Exception:
        log.exception("slack_respond_failed")
        return False
    if response.status_code == 200:
        return True
    log.error("slack_respond_failed", status=response.status_code, body=clip(response.body, 200))
    return False


def ids(body: dict[str, Any]) -> dict[str, Any]:
    """The request's team, channel and user, as log fields (never message text)."""
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    event = body.get("event") or {}
    fields = {
        "team_id": team,
        "channel_id": channel or event.get("channel"),
        "user_id": user or event.get("user"),
        "event_id": body.get("event_id"),
    }
    return {k: v for k, v in fields.items() if v}


def log_request(surface: str, reply: Reply, started: float, **fields: Any) -> None:
    """The one event of a request: what was asked for, what came of it, and how long it took."""
    event = {
        "surface": surface,
        "kind": reply.kind,
        "outcome": reply.outcome,
        "actor": reply.actor,
        "topic": reply.topic,
        "results": reply.results,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        **fields,
    }
    if reply.error is not None:
        log.error("slack_request", exc_info=reply.error, **event)
    else:
        log.info("slack_request", **event)
