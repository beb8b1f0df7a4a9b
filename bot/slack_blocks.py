"""Block Kit messages for every answer, within Slack's limits, with untrusted text made inert.

Every string that comes from a user or from the corpus goes through `escape` before it is
placed in mrkdwn, and every mrkdwn object is ``verbatim`` so that Slack adds no links or
mentions of its own. Links are built only from http(s) URLs. The limits are enforced here:
a long answer is cut with an "and N more" line instead of being rejected by Slack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlparse

from bot.models import (
    AskAnswer,
    Board,
    CorpusInfo,
    Evidence,
    Position,
    SearchAnswer,
    SearchHit,
    SourcesAnswer,
    StanceAnswer,
    sources_agree,
)

Block = dict[str, Any]
Label = Callable[[str], str]

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_VALUE_CHARS = 2000
MAX_TEXT_CHARS = 3000
# Slack rejects messages whose blocks add up to much more than this (msg_blocks_too_long).
MAX_MESSAGE_CHARS = 12000
# Room that every composed message leaves for what handlers append (actions, "shared by").
TAIL_BLOCKS = 2
TAIL_CHARS = 600

# Bounds on the parts of a line, so that a line (with its link) never needs cutting.
MAX_NAME_CHARS = 200
MAX_URL_CHARS = 1000
QUOTES_PER_POSITION = 3
MAX_QUOTE_CHARS = 400
MAX_SUMMARY_CHARS = 1500
LINES_PER_SECTION = 10

SHARE = "share"
DISMISS = "dismiss"
FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"

MARKERS = {
    "support": ("🟢", "supports"),
    "oppose": ("🔴", "opposes"),
    "conditional": ("🟡", "conditional"),
    "undecided": ("⚪", "undecided"),
}
PHRASES = {
    "support": "supports",
    "oppose": "opposes",
    "conditional": "conditional on",
    "undecided": "undecided on",
}
LEGEND = "🟢 supports · 🔴 opposes · 🟡 conditional · ⚪ undecided · ⚠️ sources disagree"


def escape(text: str) -> str:
    """The one escape for mrkdwn: ``<!channel>``, ``<@U…>`` and ``<http://x|y>`` become inert."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inline(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """``text`` escaped, on one line, at most ``limit`` characters and never half an entity:
    the parts of a line are bounded here, so that a whole line (and its link) never needs
    cutting later."""
    return clip_markup(escape(" ".join(text.split())), limit)


def link(url: str | None, label: str) -> str:
    """``label`` escaped, linked to ``url`` only when that is an http(s) URL."""
    text = inline(label)
    if not url or len(escape(url)) > MAX_URL_CHARS or any(c.isspace() or c in "<>|" for c in url):
        return text
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return text
    return f"<{escape(url)}|{text}>"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clip_markup(text: str, limit: int) -> str:
    """``clip`` for safe mrkdwn: never half an entity (``&am…``) or half a link (``<http…``),
    which Slack would show as broken markup."""
    if len(text) <= limit:
        return text
    cut = re.sub(r"&[a-z]*$", "", text[: limit - 1])
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    return cut.rstrip() + "…"


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


# --- blocks --------------------------------------------------------------------------------


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip_markup(text, MAX_SECTION_CHARS), "verbatim": True}


def header(text: str) -> Block:
    text = clip(" ".join(text.split()), MAX_HEADER_CHARS) or "newsbot"
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:MAX_CONTEXT_ELEMENTS]]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    if len(value) > MAX_BUTTON_VALUE_CHARS:
        raise ValueError(f"button value of {len(value)} characters for {action_id}")
    element = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def answer_actions(share_value: str | None, feedback_value: str) -> Block:
    """Share/Dismiss for an ephemeral answer (``share_value`` set), 👍/👎 on every answer."""
    elements = []
    if share_value is not None:
        elements += [
            button("Share in channel", SHARE, share_value, style="primary"),
            button("Dismiss", DISMISS, "dismiss"),
        ]
    elements += [
        button("👍", FEEDBACK_UP, feedback_value),
        button("👎", FEEDBACK_DOWN, feedback_value),
    ]
    return {"type": "actions", "block_id": "newsbot_answer_actions", "elements": elements}


# --- composing within the limits -----------------------------------------------------------


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[Block]

    def with_tail(self, *blocks: Block) -> Message:
        if len(blocks) > TAIL_BLOCKS:
            raise ValueError(f"{len(blocks)} tail blocks, room for {TAIL_BLOCKS}")
        return Message(self.text, [*self.blocks, *blocks])

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


@dataclass(frozen=True)
class Item:
    """Blocks that are kept or cut together; ``count`` is how many things they show."""

    blocks: list[Block]
    count: int = 1


def block_chars(blocks: Iterable[Block]) -> int:
    total = 0
    for block in blocks:
        texts = [block.get("text"), *block.get("elements", []), *block.get("fields", [])]
        total += sum(len(t.get("text", "")) for t in texts if isinstance(t, dict))
    return total


def compose(
    text: str,
    head: list[Block],
    items: Sequence[Item],
    footer: list[Block],
    noun: str,
    unlisted: int = 0,
) -> Message:
    """``head``, as many ``items`` as fit, an "and N more" line if some did not (or if
    ``unlisted`` more were never fetched), ``footer``."""
    more_line = 1
    room_blocks = MAX_BLOCKS - TAIL_BLOCKS - more_line - len(head) - len(footer)
    room_chars = MAX_MESSAGE_CHARS - TAIL_CHARS - 100 - block_chars(head) - block_chars(footer)
    kept: list[Block] = []
    shown = 0
    for item in items:
        chars = block_chars(item.blocks)
        if len(item.blocks) > room_blocks or chars > room_chars:
            break
        kept += item.blocks
        shown += item.count
        room_blocks -= len(item.blocks)
        room_chars -= chars
    blocks = head + kept
    left = sum(i.count for i in items) - shown + unlisted
    if left:
        blocks.append(context(f"_…and {plural(left, noun)} more not shown._"))
    return Message(text=clip_markup(text, MAX_TEXT_CHARS) or "newsbot", blocks=blocks + footer)


def pack_lines(lines: Sequence[str]) -> list[Item]:
    """Lines grouped into sections, so that a long list takes few blocks. Lines are kept
    whole (their parts are bounded where they are built), so no link is ever cut."""
    items: list[Item] = []
    group: list[str] = []
    for line in lines:
        full = len(group) == LINES_PER_SECTION
        if group and (full or len("\n".join([*group, line])) > MAX_SECTION_CHARS):
            items.append(Item([section("\n".join(group))], count=len(group)))
            group = []
        group.append(line)
    if group:
        items.append(Item([section("\n".join(group))], count=len(group)))
    return items


# --- pieces --------------------------------------------------------------------------------


def day(value: date | None) -> str | None:
    return f"{value.day} {value:%b %Y}" if value else None


def corpus_footer(info: CorpusInfo) -> Block:
    ingest = info.last_ingest
    when = f"{ingest:%Y-%m-%d %H:%M} UTC" if isinstance(ingest, datetime) else "unknown"
    return context(
        f"Answered from {plural(info.articles, 'article')} ({plural(info.passages, 'passage')})"
        f" · last ingest {when} · snapshot `{inline(info.fingerprint[:12])}`"
    )


def source_line(
    title: str, url: str | None, outlet: str | None, published: date | None, speaker: str | None
) -> str:
    parts = [inline(p) for p in (speaker, outlet) if p]
    parts += [p for p in (day(published), link(url, title)) if p]
    return " · ".join(parts)


def quote_line(e: Evidence) -> str:
    marker, _ = MARKERS[e.stance]
    quote = inline(e.quote, MAX_QUOTE_CHARS)
    return f"{marker} “{quote}” — {source_line(e.title, e.url, e.outlet, e.published, e.speaker)}"


def best_quotes(position: Position) -> list[Evidence]:
    """The strongest quotes; where sources disagree, the best dissenting one is among them."""
    quotes = position.evidence[:QUOTES_PER_POSITION]
    dissent = [e for e in position.evidence if e.stance != position.stance]
    if position.disagreement and dissent and dissent[0] not in quotes:
        quotes = [*quotes[: QUOTES_PER_POSITION - 1], dissent[0]]
    return quotes


def position_item(position: Position, label: Label) -> Item:
    marker, verb = MARKERS[position.stance]
    agreeing = sources_agree(position.sources_agreeing)
    note = "⚠️ other sources disagree" if position.disagreement else "no source disagrees"
    text = "\n".join(
        [
            f"{marker} *{inline(label(position.topic))}*: {verb}",
            inline(position.summary, MAX_SUMMARY_CHARS),
            f"_{agreeing} · {note}_",
        ]
    )
    quotes = [context(quote_line(e)) for e in best_quotes(position)]
    return Item([section(text), *quotes])


def hit_item(hit: SearchHit, lead: str = "") -> Item:
    quote = inline(hit.quote, 2 * MAX_QUOTE_CHARS)
    source = source_line(hit.title, hit.url, hit.outlet, hit.published, None)
    return Item([section(f"{lead}“{quote}”\n— {source}")])


def stance_summary(answer: StanceAnswer, label: Label) -> str:
    parts = [
        f"{MARKERS[p.stance][0]} {PHRASES[p.stance]} {label(p.topic)}" for p in answer.positions
    ]
    return inline(f"{answer.actor.name}: {'; '.join(parts) or 'no position found'}", MAX_TEXT_CHARS)


# --- messages ------------------------------------------------------------------------------


def stance_message(
    answer: StanceAnswer, info: CorpusInfo, label: Label, asked_topic: str | None = None
) -> Message:
    """``asked_topic``: the topic as the user wrote it, named when there is no position."""
    name = answer.actor.name
    head = [header(name)]
    if not answer.positions:
        where = f" on “{inline(asked_topic)}”" if asked_topic else ""
        head.append(
            section(
                f"No position of *{inline(name)}*{where} was found in the corpus. "
                "Its articles may not quote it on this question yet."
            )
        )
    items = [position_item(p, label) for p in answer.positions]
    return compose(stance_summary(answer, label), head, items, [corpus_footer(info)], "topic")


def search_message(answer: SearchAnswer, info: CorpusInfo, hint: str) -> Message:
    query = inline(answer.query)
    n = len(answer.results)
    if not n:
        text = f"Nothing in the corpus matches “{query}”. {hint}"
        return compose(
            text, [header("Search"), section(text)], [], [corpus_footer(info)], "passage"
        )
    head = [header("Search"), section(f"*{plural(n, 'passage')}* for “{query}”, best first")]
    items = [hit_item(h) for h in answer.results]
    text = f"{plural(n, 'passage')} for “{query}”"
    return compose(text, head, items, [corpus_footer(info)], "passage")


def ask_message(answer: AskAnswer, info: CorpusInfo, label: Label, hint: str) -> Message:
    question = inline(answer.query)
    if answer.stance is None and not answer.results:
        text = f"I found nothing in the corpus for “{question}”. {hint}"
        return compose(text, [section(text)], [], [corpus_footer(info)], "passage")
    if answer.stance is not None:
        topic = answer.topics[0] if answer.topics else None
        head = [header(answer.stance.actor.name), context(f"You asked: “{question}”")]
        if not answer.stance.positions:
            head.append(section(f"No position of *{inline(answer.stance.actor.name)}* found."))
        items = [position_item(p, label) for p in answer.stance.positions]
        text = stance_summary(answer.stance, label)
        if topic and not answer.stance.positions:
            text = inline(f"{answer.stance.actor.name}: no position on {label(topic)} found", 400)
    else:
        head = [context(f"You asked: “{question}”")]
        items = []
        text = f"{plural(len(answer.results), 'passage')} for “{question}”"
    shown = {
        (e.article_id, e.quote)
        for p in (answer.stance.positions if answer.stance else [])
        for e in best_quotes(p)
    }
    more = [h for h in answer.results if (h.article_id, h.quote) not in shown]
    hits = [
        hit_item(h, lead="*Related passages*\n" if i == 0 else "")
        for i, h in enumerate(more[:QUOTES_PER_POSITION])
    ]
    return compose(text, head, items + hits, [corpus_footer(info)], "item")


def board_lines(board: Board, label: Label) -> list[str]:
    """One line per actor: the marker of each topic it has a position on."""
    cells = {(c.actor.id, c.topic): c for c in board.cells}
    lines = []
    for actor in board.actors:
        marks = []
        for topic in board.topics:
            cell = cells.get((actor.id, topic))
            if cell:
                warn = " ⚠️" if cell.disagreement else ""
                marks.append(f"{MARKERS[cell.stance][0]} {inline(label(topic))}{warn}")
        lines.append(f"*{inline(actor.name)}*  {'  ·  '.join(marks)}")
    return lines


def board_message(board: Board, info: CorpusInfo, label: Label) -> Message:
    lines = board_lines(board, label)
    head = [header("Who stands where"), context(LEGEND)]
    if not lines:
        head.append(section("No actor has a position in the corpus yet."))
    size = f"{plural(len(board.actors), 'actor')} × {plural(len(board.topics), 'topic')}"
    text = f"Who stands where: {size}"
    return compose(text, head, pack_lines(lines), [corpus_footer(info)], "actor")


def sources_message(answer: SourcesAnswer, info: CorpusInfo) -> Message:
    lines = []
    for a in answer.articles:
        outlet = inline(a.outlet) if a.outlet else None
        meta = [outlet, day(a.published), plural(a.words, "word")]
        lines.append(f"• {link(a.url, a.title)} — {' · '.join(m for m in meta if m)}")
    n = answer.total
    head = [header("Sources"), context(f"{plural(n, 'article')} in the corpus, newest first")]
    if not lines:
        head.append(section("The corpus has no articles yet."))
    return compose(
        f"{plural(n, 'article')} in the corpus",
        head,
        pack_lines(lines),
        [corpus_footer(info)],
        "article",
        unlisted=max(0, n - len(answer.articles)),
    )


def help_message(
    usages: Sequence[tuple[str, str, str]], topics: Sequence[str], note: str | None = None
) -> Message:
    """``usages``: (syntax, purpose, example) rows, already safe mrkdwn; ``note`` likewise."""
    # A blank note would be an empty section, which Slack rejects, and a blank fallback text.
    note = note if note and note.strip() else None
    head = [header("newsbot: who stands where, with sources")]
    if note:
        head.append(section(note))
    rows = [
        f"`{syntax}`\n{purpose}" + (f" e.g. `{example}`" if example != syntax else "")
        for syntax, purpose, example in usages
    ]
    items = [Item([section("\n\n".join(rows))], count=len(rows))] if rows else []
    if topics:
        items.append(Item([context("Topics: " + " · ".join(inline(t) for t in topics))]))
    text = note or "How to use newsbot"
    return compose(text, head, items, [], "line")


def notice_message(text: str) -> Message:
    """A short message; ``text`` is already safe mrkdwn."""
    return compose(text, [section(text)], [], [], "line")
