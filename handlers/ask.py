"""``ask QUESTION`` and ``@newsbot QUESTION``: one free question, answered from the corpus.

A mention is answered in its thread. The thread remembers the last actor and topic, so that a
follow-up naming only one of them ("and Spain?", "what about sanctions?") keeps the other. The
app keeps that context in the state database (``SharedThreadMemory``), so that a follow-up
reaching another replica has it too; ``ThreadMemory`` keeps it in the process.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.errors import NewsbotError
from bot.models import AskAnswer
from bot.slack_blocks import ask_message
from handlers.common import (
    EXAMPLE_QUESTION,
    MAX_QUERY_CHARS,
    MENTION_EXAMPLE,
    Query,
    Reply,
    engine_error,
    failure,
    ids,
    log,
    log_request,
    user_error,
    with_buttons,
)

if TYPE_CHECKING:
    from bot import Newsbot
    from bot.state import SharedThreads

NAME = "ask"
USAGE = (
    "ask QUESTION",
    "A free question; the same answer as mentioning @newsbot.",
    "ask Does Italy support sending troops?",
)
EVENT = "app_mention"
WORKING = "eyes"


def answer(q: Query) -> Reply:
    if not q.args.strip():
        return user_error(NAME, f"Ask what? For example `{q.command} ask {EXAMPLE_QUESTION}`.")
    hint = f"Try naming an actor and a topic, for example `{q.command} ask {EXAMPLE_QUESTION}`."
    return _reply(q.newsbot, q.newsbot.ask(q.args), hint)


def _reply(newsbot: Newsbot, result: AskAnswer, hint: str) -> Reply:
    found = len(result.results) + (len(result.stance.positions) if result.stance else 0)
    return Reply(
        NAME,
        ask_message(result, newsbot.info(), newsbot.topic_label, hint),
        answer=True,
        outcome="ok" if found else "empty",
        actor=result.actors[0].id if result.actors else None,
        topic=result.topics[0] if result.topics else None,
        results=found,
    )


# --- thread memory -------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadContext:
    actor: str | None
    topic: str | None


ThreadKey = tuple[str, str, str]  # (team_id, channel, thread_ts)


class ThreadStore(Protocol):
    """The last actor and topic of each thread."""

    def get(self, key: ThreadKey) -> ThreadContext | None: ...

    def put(self, key: ThreadKey, value: ThreadContext) -> None: ...


class ThreadMemory:
    """The last actor and topic of each thread, in this process (lost on restart: a follow-up
    then simply has to name both)."""

    def __init__(
        self,
        ttl_s: float = 24 * 3600,
        max_threads: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max = max_threads
        self._clock = clock
        self._lock = threading.Lock()
        self._items: OrderedDict[ThreadKey, tuple[float, ThreadContext]] = OrderedDict()

    def get(self, key: ThreadKey) -> ThreadContext | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] < self._clock():
                return None
            return found[1]

    def put(self, key: ThreadKey, value: ThreadContext) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (self._clock() + self._ttl_s, value)
            while len(self._items) > self._max:
                self._items.popitem(last=False)


class SharedThreadMemory:
    """The thread context in the state database (``slack_threads``), shared by the replicas.
    The database being unreachable costs a follow-up its context, never its answer."""

    def __init__(self, shared: SharedThreads) -> None:
        self._shared = shared

    def get(self, key: ThreadKey) -> ThreadContext | None:
        try:
            found = self._shared.get(key)
        except Exception as exc:
            log.warning("slack_thread_context_unavailable", op="get", error=type(exc).__name__)
            return None
        return ThreadContext(*found) if found else None

    def put(self, key: ThreadKey, value: ThreadContext) -> None:
        try:
            self._shared.put(key, value.actor, value.topic)
        except Exception as exc:
            log.warning("slack_thread_context_unavailable", op="put", error=type(exc).__name__)


# --- the mention ---------------------------------------------------------------------------


def register(app: App, newsbot: Newsbot, command: str, memory: ThreadStore | None = None) -> None:
    threads = memory or ThreadMemory()

    def on_mention(
        event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        handle_mention(newsbot, command, threads, event, body, client, context.bot_user_id)

    app.event(EVENT)(on_mention)


def handle_mention(
    newsbot: Newsbot,
    command: str,
    threads: ThreadStore,
    event: dict[str, Any],
    body: dict[str, Any],
    client: WebClient,
    bot_user_id: str | None,
) -> None:
    started = time.perf_counter()
    channel, ts, user = event["channel"], event["ts"], event.get("user", "")
    thread_ts = event.get("thread_ts") or ts
    key = (body.get("team_id") or "", channel, thread_ts)
    question = " ".join(strip_mention(event.get("text", ""), bot_user_id).split())
    before = threads.get(key)

    _reaction(client, "add", channel, ts)
    reply = answer_mention(newsbot, command, question, before)
    try:
        if reply.answer:
            threads.put(key, _remember(reply, before))
            used = [before.actor, before.topic] if before else None
            message = with_buttons(reply, question, newsbot, shareable=False, thread=used)
            client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                **message.payload(),
            )
        else:
            client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, **reply.message.payload()
            )
    except Exception as exc:  # the answer could not be delivered: the log must say so
        reply = replace(reply, outcome="error", error=exc)
        if reply.answer:
            _tell_undelivered(client, channel, user, thread_ts)
    finally:
        _reaction(client, "remove", channel, ts)
    log_request("mention", reply, started, **ids(body), thread_ts=thread_ts, chars=len(question))


def answer_mention(
    newsbot: Newsbot, command: str, question: str, before: ThreadContext | None
) -> Reply:
    """The reply to a mention's question, with the thread's context; never raises."""
    if not question:
        return user_error(
            NAME,
            f"Ask me who stands where, for example `{MENTION_EXAMPLE}`. "
            f"`{command} help` lists everything I can do.",
        )
    if len(question) > MAX_QUERY_CHARS:
        return user_error(
            NAME,
            f"That question is {len(question):,} characters long; I read at most "
            f"{MAX_QUERY_CHARS}. Ask it in a sentence, for example `{MENTION_EXAMPLE}`.",
        )
    hint = f"Try naming an actor and a topic, for example `{MENTION_EXAMPLE}`."
    try:
        result = newsbot.ask(
            question,
            actor=before.actor if before else None,
            topic=before.topic if before else None,
        )
        return _reply(newsbot, result, hint)
    except NewsbotError as err:
        return engine_error(NAME, err)
    except Exception as exc:
        return failure(NAME, exc)


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """The question without the bot's own ``<@U…>`` (other mentions stay, as text)."""
    me = re.escape(bot_user_id) if bot_user_id else r"[UW][A-Z0-9]+"
    return re.sub(rf"<@{me}(?:\|[^>]*)?>", " ", text)


def _remember(reply: Reply, before: ThreadContext | None) -> ThreadContext:
    return ThreadContext(
        actor=reply.actor or (before.actor if before else None),
        topic=reply.topic or (before.topic if before else None),
    )


def _tell_undelivered(client: WebClient, channel: str, user: str, thread_ts: str) -> None:
    """The answer could not be posted (after the client's retries): tell the asker privately,
    so that the mention does not go unanswered. Best effort: Slack may be refusing this too."""
    text = (
        "⚠️ Sorry, I found an answer but Slack would not let me post it in this thread. "
        "Please ask again in a moment."
    )
    try:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)
    except Exception as exc:
        log.warning("slack_undelivered_notice_failed", channel_id=channel, error=str(exc))


def _reaction(client: WebClient, op: str, channel: str, ts: str) -> None:
    """👀 while working; a failed reaction is logged and never stops the answer."""
    try:
        if op == "add":
            client.reactions_add(channel=channel, timestamp=ts, name=WORKING)
        else:
            client.reactions_remove(channel=channel, timestamp=ts, name=WORKING)
    except Exception as exc:
        log.warning("slack_reaction_failed", op=op, channel_id=channel, error=str(exc))
