"""The digest as Slack messages: the channel message, then thread replies for what does not fit
in it. Every message stays within Block Kit's limits, every item is kept whole (a change with
its quote, an article line with its link), and every string from the corpus is escaped."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.digest import Digest, DigestArticle, StanceChange, movement
from bot.slack_blocks import (
    LEGEND,
    MARKERS,
    MAX_BLOCKS,
    MAX_MESSAGE_CHARS,
    MAX_TEXT_CHARS,
    Block,
    Item,
    Label,
    Message,
    block_chars,
    board_lines,
    clip_markup,
    context,
    day,
    header,
    inline,
    link,
    pack_lines,
    plural,
    quote_line,
    section,
)

# Room left in every message: the preview appends one note to the first.
ROOM_BLOCKS = MAX_BLOCKS - 1
ROOM_CHARS = MAX_MESSAGE_CHARS - 400
MAX_ACTOR_CHARS = 60


def digest_messages(digest: Digest, label: Label, tz: ZoneInfo, command: str) -> list[Message]:
    """The channel message first, then its thread replies, in posting order."""
    if digest.quiet:
        return [quiet_message(digest, tz)]
    head = [header(f"Daily digest · {day(digest.day)}"), context(_period(digest, tz))]
    parts = [
        ("Who moved", [change_item(c, label) for c in digest.changes]),
        ("New articles", pack_lines([article_line(a) for a in digest.articles])),
        (
            "Who stands where",
            [Item([context(LEGEND)]), *pack_lines(board_lines(digest.board, label))],
        ),
    ]
    footer = context(
        f"`{command} stance ACTOR` shows the quotes behind a position · "
        f"`{command} digest` previews the next digest"
    )
    pages = _pages(head, [(title, items) for title, items in parts if items], [footer])
    title = f"newsbot digest, {day(digest.day)}"
    first = f"{title}: {_summary(digest)}"
    texts = [first] + [f"{title}, part {i} of {len(pages)}" for i in range(2, len(pages) + 1)]
    return [
        Message(clip_markup(t, MAX_TEXT_CHARS), blocks)
        for t, blocks in zip(texts, pages, strict=True)
    ]


def quiet_message(digest: Digest, tz: ZoneInfo) -> Message:
    text = (
        f"☕ Quiet day: no new articles and no stance changes since "
        f"{_when(digest.since, tz)} ({tz.key})."
    )
    return Message(text, [section(text)])


def preview_message(
    digest: Digest, label: Label, tz: ZoneInfo, command: str, channel: str | None
) -> Message:
    """The channel message as it would be posted now, with a note of what follows it."""
    first, *thread = digest_messages(digest, label, tz, command)
    where = f"in <#{channel}>" if channel else "(no DIGEST_CHANNEL is set)"
    note = f"👀 Preview of the digest of {day(digest.day)} {where}, as it stands now"
    if thread:
        note += f"; {plural(len(thread), 'more message')} would follow in its thread"
    return Message(first.text, [*first.blocks, context(note + ".")])


def change_item(change: StanceChange, label: Label) -> Item:
    """ "*Denmark* · Troops for Ukraine: ⚪ undecided → 🔴 oppose, 2 new independent sources",
    then the quote."""
    what = movement(change, _mark)
    blocks = [section(f"*{inline(change.actor.name)}* · {inline(label(change.topic))}: {what}")]
    if change.evidence is not None:
        blocks.append(context(quote_line(change.evidence)))
    return Item(blocks)


def article_line(article: DigestArticle) -> str:
    meta = [inline(article.outlet) if article.outlet else None, day(article.published)]
    line = f"• {link(article.url, article.title)} — {' · '.join(m for m in meta if m) or 'new'}"
    if article.actors:
        names = ", ".join(inline(a, MAX_ACTOR_CHARS) for a in article.actors)
        more = f" and {article.more_actors} more" if article.more_actors else ""
        line += f" · quotes {names}{more}"
    return line


def _pages(
    head: list[Block], parts: list[tuple[str, list[Item]]], footer: list[Block]
) -> list[list[Block]]:
    """Items in order, as many to a message as fit; a part cut by a message break starts the
    next one with its title, "continued"."""
    pages: list[list[Block]] = [list(head)]
    for title, items in parts:
        for i, item in enumerate(items):
            lead = [section(f"*{title}*")] if i == 0 else []
            if not _fits(pages[-1], lead + item.blocks):
                pages.append([])
                lead = [section(f"*{title}*" + (" (continued)" if i else ""))]
            pages[-1] += lead + item.blocks
    if not _fits(pages[-1], footer):
        pages.append([])
    pages[-1] += footer
    return pages


def _fits(page: list[Block], blocks: list[Block]) -> bool:
    return len(page) + len(blocks) <= ROOM_BLOCKS and block_chars(page + blocks) <= ROOM_CHARS


def _mark(stance: str | None) -> str:
    return f"{MARKERS[stance][0]} {stance}" if stance else "no position"


def _summary(digest: Digest) -> str:
    return (
        f"{plural(len(digest.articles), 'new article')}, "
        f"{plural(len(digest.changes), 'stance change')}"
    )


def _period(digest: Digest, tz: ZoneInfo) -> str:
    span = f"{_when(digest.since, tz)} to {_when(digest.until, tz)} ({tz.key})"
    return f"{span} · {_summary(digest)}"


def _when(moment: dt.datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.day} {local:%b %H:%M}"
