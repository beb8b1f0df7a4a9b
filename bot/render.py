"""Terminal rendering of the core's answers (rich): what a journalist reads in a shell."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.digest import Digest, movement
from bot.models import (
    AskAnswer,
    Board,
    Evidence,
    SearchAnswer,
    SourcesAnswer,
    StanceAnswer,
    sources_agree,
)

MARK = {"support": "🟢", "oppose": "🔴", "conditional": "🟡", "undecided": "⚪"}
QUOTES_SHOWN = 3


def source_line(e: Evidence | object) -> str:
    outlet = getattr(e, "outlet", None) or "outlet unknown"
    published = getattr(e, "published", None)
    when = f"{published:%-d %b %Y}" if published else "date unknown"
    url = getattr(e, "url", None)
    return f"{getattr(e, 'title', '')} — {outlet}, {when}" + (f" — {url}" if url else "")


def stance(
    answer: StanceAnswer,
    labels: dict[str, str],
    console: Console,
    asked: list[str] | None = None,
) -> None:
    """``asked``: the topics the question was about (all when None)."""
    console.print(Text(f"{answer.actor.name}", style="bold"))
    if not answer.positions and not asked:
        console.print("No position found in the corpus on any topic.")
        return
    for p in answer.positions:
        agree = sources_agree(p.sources_agreeing)
        note = " · sources disagree" if p.disagreement else ""
        head = Text.assemble(
            (f"{MARK[p.stance]} {labels[p.topic]}: ", "bold"),
            (p.stance, "bold"),
            f"  ({agree}, confidence {p.confidence:.2f}{note})\n",
            (p.summary, "italic"),
        )
        quotes = []
        for e in p.evidence[:QUOTES_SHOWN]:
            who = f"{e.speaker} · " if e.speaker else ""
            quotes.append(
                Text.assemble(
                    (f"[{e.stance}] ", "dim"),
                    f"“{e.quote}”\n",
                    (f"   {who}{source_line(e)}", "dim"),
                )
            )
        more = len(p.evidence) - QUOTES_SHOWN
        if more > 0:
            quotes.append(Text(f"   and {more} more", style="dim"))
        console.print(Panel(Group(head, *quotes), expand=True))
    missing = [t for t in asked or labels if t not in {p.topic for p in answer.positions}]
    if missing:
        names = ", ".join(labels[t] for t in missing)
        console.print(Text(f"No position found: {names}", style="dim"))


def _marked(stance: str | None) -> str:
    return f"{MARK[stance]} {stance}" if stance else "no position"


def _legend() -> str:
    return (
        "  ".join(f"{mark} {name}" for name, mark in MARK.items())
        + "  (n = independent sources agreeing)"
    )


def search(answer: SearchAnswer, console: Console) -> None:
    if not answer.results:
        console.print(f"Nothing in the corpus matches {escape(answer.query)!s}.")
        return
    for r in answer.results:
        console.print(Text.assemble((f"{r.score:6.2f}  ", "dim"), f"“{r.quote}”"))
        console.print(Text(f"        {source_line(r)}", style="dim"))


def ask(answer: AskAnswer, labels: dict[str, str], console: Console) -> None:
    if answer.stance is not None:
        stance(answer.stance, labels, console, asked=answer.topics)
        console.print()
    if answer.results:
        console.print(Text("Best passages", style="bold"))
    search(answer, console)


def sources(answer: SourcesAnswer, console: Console) -> None:
    table = Table("published", "title", "outlet", "words", "id")
    for a in answer.articles:
        table.add_row(
            f"{a.published}" if a.published else "—",
            a.title,
            a.outlet or "—",
            str(a.words),
            a.id,
        )
    if answer.total > len(answer.articles):
        table.caption = f"the newest {len(answer.articles):,} of {answer.total:,} articles"
    console.print(table)


def board(answer: Board, labels: dict[str, str], console: Console) -> None:
    table = Table("actor", *(labels[t] for t in answer.topics), caption=_legend())
    cells = {(c.actor.id, c.topic): c for c in answer.cells}
    for actor in answer.actors:
        row = []
        for t in answer.topics:
            c = cells.get((actor.id, t))
            row.append(f"{MARK[c.stance]} {c.sources_agreeing}" if c else "·")
        table.add_row(actor.name, *row)
    console.print(table)


def digest(answer: Digest, labels: dict[str, str], console: Console) -> None:
    """The digest as ``newsbot digest --dry-run`` prints it: what would be posted."""
    n, m = len(answer.articles), len(answer.changes)
    since, until = answer.since, answer.until
    console.print(Text(f"Daily digest · {answer.day:%-d %b %Y}", style="bold"))
    console.print(
        Text(
            f"{since:%-d %b %H:%M} → {until:%-d %b %H:%M} ({until.tzinfo}) · "
            f"{n} new article{'s' if n != 1 else ''}, {m} stance change{'s' if m != 1 else ''}",
            style="dim",
        )
    )
    if answer.quiet:
        console.print("Quiet day: no new articles and no stance changes.")
        return
    if answer.changes:
        console.print(Text("\nWho moved", style="bold"))
    for c in answer.changes:
        what = movement(c, _marked)
        console.print(Text.assemble((f"{c.actor.name} · {labels[c.topic]}: ", "bold"), what))
        if c.evidence:
            who = f"{c.evidence.speaker} · " if c.evidence.speaker else ""
            console.print(Text(f"   “{c.evidence.quote}”", style="italic"))
            console.print(Text(f"   {who}{source_line(c.evidence)}", style="dim"))
    if answer.articles:
        console.print(Text("\nNew articles", style="bold"))
    for a in answer.articles:
        console.print(Text(f"• {source_line(a)}"))
        if a.actors:
            more = f" and {a.more_actors} more" if a.more_actors else ""
            console.print(Text(f"   quotes {', '.join(a.actors)}{more}", style="dim"))
    console.print(Text("\nWho stands where", style="bold"))
    board(answer.board, labels, console)
