"""The daily digest's content: what arrived since the last digest, who moved, the board.

Built from the core alone (no Slack): ``newsbot digest --dry-run`` prints it, the poster in
``bot.digest_post`` sends it. Changes are measured against a snapshot of the board stored with
the previous digest of the channel; the first digest compares with the corpus as it was before
its period. The board, the changes and the snapshot are those of the corpus as it was at the end
of the period: an article ingested later (while a late run, a retry or a backfill of a past date
is built) belongs to the next digest, which then reports the moves it causes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from bot.core import Newsbot
from bot.models import ActorRef, ArticleInfo, Board, Evidence, Stance, sources_agree

if TYPE_CHECKING:  # SQLAlchemy loads only where the state is used
    from bot.state import PostedDigest, StateStore

ACTORS_LISTED = 10
# After any article's ingest time: "ingested after the period" is (until, _END_OF_TIME].
_END_OF_TIME = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)

Snapshot = dict[str, dict[str, object]]  # "actor|topic" -> {"stance": ..., "sources": n}


class DigestArticle(BaseModel):
    id: str
    title: str
    outlet: str | None
    url: str | None
    published: dt.date | None
    ingested: dt.datetime | None
    actors: list[str]  # who speaks or acts in it, most often first; the first ACTORS_LISTED
    more_actors: int


class StanceChange(BaseModel):
    actor: ActorRef
    topic: str
    before: Stance | None  # None: no position before
    after: Stance | None  # None: no position any more
    sources_before: int
    sources_after: int
    new_sources: int  # independent sources (a wire story and its copies: one) of this period
    # with evidence for the new stance
    evidence: Evidence | None  # the newest evidence for the new stance


class Digest(BaseModel):
    day: dt.date
    since: dt.datetime
    until: dt.datetime
    articles: list[DigestArticle]
    changes: list[StanceChange]
    board: Board
    quiet: bool


def movement(change: StanceChange, mark: Callable[[Stance | None], str]) -> str:
    """How a position moved, for every renderer: "⚪ undecided → 🔴 oppose, 2 new independent
    sources". Sources are counted as in "N independent sources agree": a wire story republished
    by several outlets is one."""
    if change.before != change.after:
        what = f"{mark(change.before)} → {mark(change.after)}"
    else:
        agree = sources_agree(change.sources_after)
        what = f"{mark(change.after)}, {change.sources_before} → {agree}"
    if change.new_sources:
        s = "" if change.new_sources == 1 else "s"
        what += f", {change.new_sources} new independent source{s}"
    return what


def snapshot(board: Board) -> Snapshot:
    return {
        f"{c.actor.id}|{c.topic}": {"stance": c.stance, "sources": c.sources_agreeing}
        for c in board.cells
    }


def build_digest(
    bot: Newsbot,
    day: dt.date,
    since: dt.datetime,
    until: dt.datetime,
    previous: Snapshot | None = None,
) -> tuple[Digest, Snapshot]:
    """The digest for articles ingested in (since, until], and the snapshot to store with it:
    both as of ``until`` (articles ingested after it are left out of the board and changes)."""
    with bot.consistent():  # one state of the corpus, even if /ukraine add refreshes meanwhile
        return _build(bot, day, since, until, previous)


def _build(
    bot: Newsbot,
    day: dt.date,
    since: dt.datetime,
    until: dt.datetime,
    previous: Snapshot | None,
) -> tuple[Digest, Snapshot]:
    new = bot.ingested_between(since, until)
    new_ids = {a.id for a in new}
    later = {a.id for a in bot.ingested_between(until, _END_OF_TIME)}
    board = bot.board(exclude=later) if later else bot.board()  # as of until
    now = snapshot(board)
    before = previous if previous is not None else snapshot(bot.board(exclude=new_ids | later))
    changes = _changes(bot, before, now, new_ids, later)
    articles = [_article(bot, a) for a in new]
    digest = Digest(
        day=day,
        since=since,
        until=until,
        articles=articles,
        changes=changes,
        board=board,
        quiet=not articles and not changes,
    )
    return digest, now


def due_day(now: dt.datetime, at: dt.time, tz: ZoneInfo) -> dt.date:
    """The latest digest that is due: today's once its time has passed, else yesterday's. Its
    period has ended, so an article that arrives while it is built belongs to the next one.
    (APScheduler and Kubernetes never start a run before its time.)"""
    local = now.astimezone(tz)
    return local.date() if local.time() >= at else local.date() - dt.timedelta(days=1)


def digest_of(
    bot: Newsbot, day: dt.date, at: dt.time, tz: ZoneInfo, last: PostedDigest | None
) -> tuple[Digest, Snapshot]:
    """The digest of ``day`` for a channel whose last posted digest is ``last``: its period
    runs from that digest's time (else the day before's, 24 h) to ``at`` on ``day``, in ``tz``;
    its changes are measured against that digest's snapshot."""
    previous = dt.date.fromisoformat(last.day) if last else day - dt.timedelta(days=1)
    since = dt.datetime.combine(previous, at, tzinfo=tz)
    until = dt.datetime.combine(day, at, tzinfo=tz)
    return build_digest(bot, day, since, until, last.snapshot if last else None)


def upcoming(
    bot: Newsbot,
    store: StateStore | None,
    channel: str | None,
    now: dt.datetime,
    at: dt.time,
    tz: ZoneInfo,
) -> Digest:
    """The next digest of ``channel`` as it would be if it were posted ``now``: everything
    since its last digest (else the last 24 h), compared with that digest's snapshot."""
    due = due_day(now, at, tz)
    after = f"{due + dt.timedelta(days=2)}"
    last = store.last_posted(channel, after) if store is not None and channel else None
    day = due + dt.timedelta(days=1) if last and last.day >= f"{due}" else due
    since = (
        dt.datetime.combine(dt.date.fromisoformat(last.day), at, tzinfo=tz)
        if last
        else now - dt.timedelta(hours=24)
    )
    until = now.astimezone(tz)
    return build_digest(bot, day, since, until, last.snapshot if last else None)[0]


def _article(bot: Newsbot, a: ArticleInfo) -> DigestArticle:
    counts = Counter(bot.speakers_in(a.id))
    names = [bot.lexicon.actors[actor].name for actor, _ in counts.most_common()]
    return DigestArticle(
        id=a.id,
        title=a.title,
        outlet=a.outlet,
        url=a.url,
        published=a.published,
        ingested=a.ingested,
        actors=names[:ACTORS_LISTED],
        more_actors=max(0, len(names) - ACTORS_LISTED),
    )


def _changes(
    bot: Newsbot, before: Snapshot, now: Snapshot, new_ids: set[str], later: set[str]
) -> list[StanceChange]:
    """What moved between the snapshots. The evidence is the current stance's, less what came
    from articles ingested after the period (``later``)."""
    actors = {a: i for i, a in enumerate(bot.lexicon.actors)}
    topics = {t: i for i, t in enumerate(bot.lexicon.topics)}

    def order(key: str) -> tuple[int, int]:
        actor_id, topic = key.split("|")
        return actors.get(actor_id, len(actors)), topics.get(topic, len(topics))

    out = []
    for key in sorted(set(before) | set(now), key=order):
        old, cur = before.get(key), now.get(key)
        if old == cur:
            continue
        actor_id, topic = key.split("|")
        evidence = None
        new_sources = 0
        if cur is not None:
            stance = cur["stance"]
            positions = bot.stance(actor_id, topic).positions
            known = [e for p in positions for e in p.evidence if e.article_id not in later]
            mine = [e for e in known if e.stance == stance]
            # Each article once, for both the count and the recency.
            infos = {i: bot.article(i) for i in {e.article_id for e in mine}}
            new_sources = _independent(infos, new_ids)
            evidence = max(mine, key=lambda e: _recency(infos[e.article_id]), default=None)
        out.append(
            StanceChange(
                actor=ActorRef(id=actor_id, name=bot.lexicon.actors[actor_id].name),
                topic=topic,
                before=old["stance"] if old else None,  # type: ignore[arg-type]
                after=cur["stance"] if cur else None,  # type: ignore[arg-type]
                sources_before=int(old["sources"]) if old else 0,  # type: ignore[call-overload]
                sources_after=int(cur["sources"]) if cur else 0,  # type: ignore[call-overload]
                new_sources=new_sources,
                evidence=evidence,
            )
        )
    return out


def _independent(infos: dict[str, ArticleInfo | None], new_ids: set[str]) -> int:
    """How many independent sources the new ones of these articles are: a wire copy counts as
    its original."""
    return len(
        {
            a.duplicate_of if a is not None and a.duplicate_of else article_id
            for article_id, a in infos.items()
            if article_id in new_ids
        }
    )


def _recency(a: ArticleInfo | None) -> tuple[dt.datetime, dt.date]:
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)
    if a is None:
        return (floor, dt.date.min)
    return (a.ingested or floor, a.published or dt.date.min)
