"""The one slash command (``/ukraine`` by default): ack, parse the sub-command, dispatch, respond.

Every kind answers through ``respond`` (the response_url), ephemeral, with Share and Dismiss.
"""

from __future__ import annotations

import difflib
import time
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond

from bot.settings import Settings
from bot.slack_blocks import escape
from handlers import add, ask, board, digest, help, search, sources, stance
from handlers.common import (
    MAX_QUERY_CHARS,
    Query,
    Reply,
    failure,
    ids,
    log_request,
    run_kind,
    send,
    with_buttons,
)

if TYPE_CHECKING:
    from bot import Newsbot
    from bot.state import StateStore

KINDS = {m.NAME: m.answer for m in (stance, search, ask, board, sources, add, digest)}
USAGES = [m.USAGE for m in (stance, search, ask, board, sources, add, digest, help)]


def register(
    app: App,
    newsbot: Newsbot,
    command: str,
    settings: Settings | None = None,
    state: StateStore | None = None,
) -> None:
    def on_command(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()  # first: Slack fails the command without an HTTP 200 within 3 s
        handle(newsbot, command, body, respond, settings, state)

    app.command(command)(on_command)


def handle(
    newsbot: Newsbot,
    command: str,
    body: dict[str, Any],
    respond: Respond,
    settings: Settings | None = None,
    state: StateStore | None = None,
) -> None:
    started = time.perf_counter()
    text = " ".join(body.get("text", "").split())
    reply = answer(newsbot, command, text, settings, state)
    message = with_buttons(reply, text, newsbot, shareable=True)
    send(respond, response_type="ephemeral", **message.payload())
    log_request(
        "command",
        reply,
        started,
        **ids(body),
        command=body.get("command") or command,
        chars=len(text),
    )


def answer(
    newsbot: Newsbot,
    command: str,
    text: str,
    settings: Settings | None = None,
    state: StateStore | None = None,
) -> Reply:
    """The reply to ``text`` (the command without its name); never raises. ``settings``: the
    app's (else read from the environment); ``state``: the app's (else none is recorded)."""
    typed, _, args = text.partition(" ")
    name = typed.lower()
    q = Query(newsbot, command, args, settings, state)
    try:
        if len(text) > MAX_QUERY_CHARS:
            note = (
                f"⚠️ That request is {len(text):,} characters long; newsbot reads at most "
                f"{MAX_QUERY_CHARS}. Ask a shorter question, or search for a few words."
            )
            return help.answer(q, USAGES, note)
        if name in ("", help.NAME):
            return help.answer(q, USAGES)
        if name not in KINDS:
            return help.answer(q, USAGES, _did_you_mean(q, typed, args))
    except Exception as exc:
        return failure(name or help.NAME, exc)
    return run_kind(name, KINDS[name], q)


def _did_you_mean(q: Query, name: str, args: str) -> str:
    """A close sub-command, else an actor close to what was typed, else just the usage."""
    text = f"⚠️ `{q.command}` has no sub-command “{escape(name)}”."
    kinds = difflib.get_close_matches(name.lower(), [*KINDS, help.NAME], n=1, cutoff=0.6)
    if kinds:
        return f"{text} Did you mean `{escape(f'{q.command} {kinds[0]} {args}'.strip())}`?"
    actors = q.newsbot.suggest_actors(name)
    if actors:
        options = [f"`{escape(f'{q.command} stance {a} {args}'.strip())}`" for a in actors]
        return f"{text} Did you mean {' or '.join(options)}?"
    return text
