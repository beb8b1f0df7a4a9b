"""``Newsbot``: the one core that the CLI and the Slack handlers call.

It opens the corpus folder's index (``bot.index``: built once, then kept up to date
incrementally) and answers with the typed models of ``bot.models``. Nothing here imports Slack.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from bot.corpus import Problem, shipped_corpus_dir
from bot.errors import BadLimit, EmptyQuery, UnknownActor, UnknownTopic
from bot.index import PassageIndex, Progress, Tally, utc_text
from bot.lexicon import Actor, Lexicon, Topic
from bot.models import (
    ActorRef,
    ArticleInfo,
    AskAnswer,
    Board,
    BoardCell,
    CorpusInfo,
    Evidence,
    Position,
    SearchAnswer,
    SearchHit,
    Source,
    SourcesAnswer,
    StanceAnswer,
)
from bot.settings import Settings
from bot.stance import CONTRA, Claim, Passage
from bot.text import cue_tokens, fold, search_tokens

if TYPE_CHECKING:
    from bot.opensearch_index import OpenSearchIndex

P = ParamSpec("P")
R = TypeVar("R")

VERB = {
    "support": "supports",
    "oppose": "opposes",
    "conditional": "supports only on conditions",
    "undecided": "is undecided on",
}
# Cue strength to vote weight: one weak cue alone never makes a position.
MIN_STRENGTH = 2
# Claims read per actor × topic for its quotes (the stance itself counts every vote), and
# quotes kept: renderers show a few, the JSON shows these.
EVIDENCE_POOL = 60
MAX_EVIDENCE = 20
SOURCES_LIMIT = 100


def open_index(
    settings: Settings, directory: Path, data_dir: Path, *, fresh: bool = False
) -> PassageIndex | OpenSearchIndex:
    """The current index of a corpus folder in the engine that NEWSBOT_ENGINE names."""
    if settings.engine == "opensearch":
        from bot.opensearch_index import OpenSearchIndex  # opensearch-py loads only if chosen

        return OpenSearchIndex.for_folder(directory, data_dir, fresh=fresh, settings=settings)
    return PassageIndex.for_folder(directory, data_dir, fresh=fresh)


def _consistent(method: Callable[P, R]) -> Callable[P, R]:
    """Answers run under the lock that ``refresh`` swaps the corpus under, so one answer never
    mixes two states of the corpus. Answers take milliseconds and the GIL serialises them
    anyway, so the lock costs nothing worth measuring."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return wrapper


class Newsbot:
    def __init__(
        self,
        lexicon: Lexicon,
        index: PassageIndex | OpenSearchIndex,
        corpus_dir: Path | None = None,
        data_dir: Path | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._settings = settings
        self._lock = threading.RLock()
        self._refreshing = threading.Lock()  # one sync or switch at a time
        self.corpus_dir = corpus_dir
        self.data_dir = data_dir
        self._use(lexicon, index)

    def _use(self, lexicon: Lexicon, index: PassageIndex | OpenSearchIndex) -> None:
        index.commit_lock = self._lock
        self.lexicon = lexicon
        self.index = index
        self._changed()

    def _changed(self) -> None:
        self._board: Board | None = None  # the whole board, once per state of the index
        self._info: CorpusInfo | None = None
        self._state = self.index.state

    @classmethod
    def open(
        cls,
        corpus_dir: Path | str | None = None,
        data_dir: Path | str | None = None,
        *,
        sync: bool = True,
        progress: Progress | None = None,
        settings: Settings | None = None,
    ) -> Newsbot:
        """Open the corpus folder's index (building it the first time). ``sync`` first brings
        it up to date with the folder; a server passes False to answer at once and syncs in the
        background. ``settings`` default to the environment's."""
        settings = settings or Settings()
        folder = Path(corpus_dir or settings.corpus_dir or shipped_corpus_dir())
        data = Path(data_dir) if data_dir else settings.data_dir
        index = open_index(settings, folder, data)
        if sync or not index.is_current():
            index.sync(folder, progress)
            if not index.is_current():
                index.switch_to()
        return cls(index.lexicon, index, folder, data, settings)

    def refresh(self, progress: Progress | None = None, *, reindex: bool = False) -> bool:
        """Bring the index up to date with the corpus folder: new, changed and removed files
        are indexed incrementally. When the lexicons changed (or ``reindex`` asks), a new
        index is built beside the one that keeps answering, then answers switch to it. True
        when anything changed."""
        if self.corpus_dir is None or self.data_dir is None:
            return False  # an in-memory corpus has no folder to follow
        with self._refreshing:  # a tick and a /ukraine add never race each other
            settings = self._settings or Settings()
            index = open_index(settings, self.corpus_dir, self.data_dir, fresh=reindex)
            if index.folder == self.index.folder:
                index.close()
                changes = self.index.sync(self.corpus_dir, progress)
                # Replicas sharing a cluster: another one may have indexed what this one then
                # found unchanged.
                moved = bool(changes) or self.index.state != self._state
                if moved:
                    with self._lock:
                        self._changed()
                return moved
            # Another generation: a new lexicon, a reindex, or one another process switched to.
            index.sync(self.corpus_dir, progress)
            if not index.is_current():
                index.switch_to()
            with self._lock:
                old, lexicon = self.index, index.lexicon
                self._use(lexicon, index)
            old.close()
            return True

    def consistent(self) -> threading.RLock:
        """Hold it to read several answers and attributes from one state of the corpus."""
        return self._lock

    @property
    def problems(self) -> list[Problem]:
        """Files that were skipped while indexing, each with its reason."""
        return self.index.problems()

    # --- lookups -----------------------------------------------------------------------------

    def actor(self, name: str) -> Actor:
        actor = self.lexicon.resolve_actor(name)
        if actor is None:
            raise UnknownActor(name, self.lexicon.suggest_actors(name))
        return actor

    def topic(self, name: str) -> Topic:
        topic = self.lexicon.resolve_topic(name)
        if topic is None:
            raise UnknownTopic(name, self.lexicon.suggest_topics(name))
        return topic

    def topic_label(self, topic_id: str) -> str:
        return self.lexicon.topics[topic_id].label

    def suggest_actors(self, name: str) -> list[str]:
        return self.lexicon.suggest_actors(name)

    @_consistent
    def info(self) -> CorpusInfo:
        if self._info is None:  # counting a million rows is not free: once per state
            articles, passages = self.index.counts()
            self._info = CorpusInfo(
                articles=articles,
                passages=passages,
                last_ingest=self.index.changed_at,
                fingerprint=self.index.state,
            )
        return self._info

    @_consistent
    def article(self, article_id: str) -> ArticleInfo | None:
        return self.index.article(article_id)

    @_consistent
    def ingested_between(self, since: datetime, until: datetime) -> list[ArticleInfo]:
        """Articles that entered the corpus in (since, until], oldest first."""
        found = self.index.articles(ingested=(utc_text(since), utc_text(until)))
        return sorted(found, key=lambda a: (a.ingested, a.id))

    @_consistent
    def speakers_in(self, article_id: str) -> list[str]:
        """Actor ids of who speaks or acts in the article, once per passage."""
        return self.index.speakers_in(article_id)

    # --- answers -----------------------------------------------------------------------------

    @_consistent
    def stance(self, actor: str, topic: str | None = None) -> StanceAnswer:
        who = self.actor(actor)
        topics = [self.topic(topic)] if topic else list(self.lexicon.topics.values())
        positions = [p for t in topics if (p := self._position(who, t)) is not None]
        return StanceAnswer(actor=_ref(who), positions=positions)

    @_consistent
    def search(self, query: str, k: int = 10) -> SearchAnswer:
        terms = search_tokens(query, query=True)
        if not query.strip():
            raise EmptyQuery()
        if k < 1:
            raise BadLimit("k", k)
        hits = self.index.engine.search(terms, k)
        passages = self.index.passages(pid for pid, _ in hits)
        return SearchAnswer(query=query, results=self._hits(hits, passages))

    @_consistent
    def ask(self, question: str, actor: str | None = None, topic: str | None = None) -> AskAnswer:
        """Answer a free question; ``actor``/``topic`` are the thread's previous context, used
        when the question names only one of them ("and Spain?", "what about sanctions?")."""
        if not question.strip():
            raise EmptyQuery()
        actors = self._actors_in(question)
        topics = self._topics_in(question)
        if actors and not topics and topic:
            topics = [self.topic(topic)]
        if topics and not actors and actor:
            actors = [self.actor(actor)]
        terms = search_tokens(question, query=True)
        if not terms:  # "and Spain?" once context filled in the rest: search what is known
            for t in topics:
                terms += search_tokens(" ".join(t.search_terms), query=True)
            terms += [w for a in actors for w in search_tokens(a.name, query=True)]
        stance = None
        if len(actors) == 1 and len(topics) <= 1:  # "where does Spain stand?" gets all topics
            chosen = topics or list(self.lexicon.topics.values())
            positions = [self._position(actors[0], t) for t in chosen]
            stance = StanceAnswer(actor=_ref(actors[0]), positions=[p for p in positions if p])
        hits = self._question_hits(terms, actors, topics)
        return AskAnswer(
            query=question,
            results=hits,
            actors=[_ref(a) for a in actors],
            topics=[t.id for t in topics],
            stance=stance,
        )

    @_consistent
    def sources(self, limit: int = SOURCES_LIMIT) -> SourcesAnswer:
        """The newest ``limit`` articles, and how many there are."""
        if limit < 1:
            raise BadLimit("limit", limit)
        return SourcesAnswer(
            articles=[
                Source(
                    id=a.id,
                    title=a.title,
                    outlet=a.outlet,
                    url=a.url,
                    published=a.published,
                    words=a.words,
                )
                for a in self.index.articles(limit=limit)
            ],
            total=self.info().articles,
        )

    @_consistent
    def board(self, exclude: set[str] | frozenset[str] = frozenset()) -> Board:
        """Every actor × topic with a position: one aggregation of the stored votes, never a
        search per cell. ``exclude`` leaves articles out (the digest's "before" picture). The
        whole board is computed once per state of the index."""
        if exclude:
            return self._compute_board(exclude)
        if self._board is None:
            self._board = self._compute_board(exclude)
        return self._board

    def _compute_board(self, exclude: set[str] | frozenset[str]) -> Board:
        by_pair: dict[tuple[str, str], list[Tally]] = defaultdict(list)
        for t in self.index.tallies(exclude=exclude):
            if t.actor_id in self.lexicon.actors and t.topic in self.lexicon.topics:
                by_pair[(t.actor_id, t.topic)].append(t)
        cells = []
        for (actor_id, topic_id), tallies in by_pair.items():
            verdict = _verdict(tallies)
            if verdict:
                cells.append(
                    BoardCell(
                        actor=_ref(self.lexicon.actors[actor_id]),
                        topic=topic_id,
                        stance=verdict.stance,  # type: ignore[arg-type]
                        sources_agreeing=verdict.agreeing,
                        disagreement=verdict.disagreement,
                    )
                )
        order = {a: i for i, a in enumerate(self.lexicon.actors)}
        topics = list(self.lexicon.topics)
        topic_order = {t: i for i, t in enumerate(topics)}
        cells.sort(key=lambda c: (order[c.actor.id], topic_order[c.topic]))
        actors = list(dict.fromkeys(c.actor.id for c in cells))
        return Board(
            topics=topics,
            actors=[_ref(self.lexicon.actors[a]) for a in actors],
            cells=cells,
        )

    # --- internals ---------------------------------------------------------------------------

    def _position(self, actor: Actor, topic: Topic) -> Position | None:
        """The stored votes decide the stance; the quotes are the strongest claims, the most
        recent reporting first where strength ties (positions move)."""
        verdict = _verdict(self.index.tallies((actor.id, topic.id)))
        if verdict is None:
            return None
        claims = self.index.claims(actor.id, topic.id, EVIDENCE_POOL)
        if not any(c.stance == verdict.stance for _, c in claims):
            claims += self.index.claims(actor.id, topic.id, MAX_EVIDENCE, verdict.stance)
        passages = self.index.passages(pid for pid, _ in claims)
        found = [(passages[pid], c) for pid, c in claims if pid in passages]
        articles = self.index.articles_by_id(p.article_id for p, _ in found)
        found.sort(key=lambda pc: articles[pc[0].article_id].published or date.min, reverse=True)
        ordered = _ordered(found, verdict.stance)[:MAX_EVIDENCE]
        evidence = [
            Evidence(**_quoted(p, articles[p.article_id]), stance=c.stance, speaker=c.speaker)
            for p, c in ordered
        ]
        # The summary names who said it where the evidence names someone.
        winners = [
            (c, e)
            for (_, c), e in zip(ordered, evidence, strict=True)
            if c.stance == verdict.stance
        ]
        top = max(c.strength for c, _ in winners)
        lead, lead_ev = next(
            ((c, e) for c, e in winners if c.strength == top and c.speaker), winners[0]
        )
        return Position(
            topic=topic.id,
            stance=verdict.stance,  # type: ignore[arg-type]
            confidence=verdict.confidence,
            summary=self._summary(
                actor, topic.id, verdict.stance, lead, lead_ev, verdict.agreeing, verdict.total
            ),
            sources_agreeing=verdict.agreeing,
            disagreement=verdict.disagreement,
            evidence=evidence,
        )

    def _summary(
        self,
        actor: Actor,
        topic_id: str,
        stance: str,
        lead: Claim,
        lead_ev: Evidence,
        agreeing: int,
        total: int,
    ) -> str:
        """A fixed template filled from the evidence: the cue words are quoted as printed."""
        who = lead.speaker or lead_ev.outlet or lead_ev.title
        when = f", {lead_ev.published:%-d %b %Y}" if lead_ev.published else ""
        return (
            f"{actor.name} {VERB[stance]} “{self.lexicon.topics[topic_id].proposition}”: "
            f"{agreeing} of {total} source{'s' if total != 1 else ''}; "
            f"key words “{lead.cue}” ({who}{when})."
        )

    def _hits(self, hits: list[tuple[int, float]], passages: dict[int, Passage]) -> list[SearchHit]:
        # A pid of a batch that crashed before its rows were written has no passage: skipped.
        found = [(passages[pid], score) for pid, score in hits if pid in passages]
        articles = self.index.articles_by_id(p.article_id for p, _ in found)
        return [
            SearchHit(**_quoted(p, articles[p.article_id]), score=round(score, 4))
            for p, score in found
        ]

    def _question_hits(
        self, terms: list[str], actors: list[Actor], topics: list[Topic]
    ) -> list[SearchHit]:
        hits = self.index.engine.search(terms, 50)
        passages = self.index.passages(pid for pid, _ in (hits if actors else hits[:5]))
        if actors:
            # Passages that name the asked-about actor first: "what did Meloni say" wants Meloni.
            wanted = {a.id for a in actors}
            hits.sort(
                key=lambda h: (h[0] not in passages or not passages[h[0]].actors & wanted, -h[1])
            )
        return self._hits(hits[:5], passages)

    def _actors_in(self, text: str) -> list[Actor]:
        found = [self.lexicon.actors[m.actor_id] for m in self.lexicon.mentions(text)]
        if not found:  # people type lowercase: "and spain?"
            for word in re.findall(r"[^\W\d_]+(?:\s+[^\W\d_]+)?", text):
                actor = self.lexicon.resolve_actor(word)
                if actor:
                    found.append(actor)
        return list({a.id: a for a in found}.values())

    def _topics_in(self, text: str) -> list[Topic]:
        """Topics a question names; a weak anchor is enough here ("what about the talks?")."""
        tokens = cue_tokens(fold(text))
        words, surface = [t.text for t in tokens], [t.surface for t in tokens]
        return [
            topic
            for topic in self.lexicon.topics.values()
            if topic.anchors.find(words, surface)
            or topic.weak.find(words, surface)
            or topic.id in fold(text)
        ]


def _quoted(passage: Passage, art: ArticleInfo) -> dict[str, object]:
    return {
        "quote": passage.text,
        "article_id": art.id,
        "title": art.title,
        "outlet": art.outlet,
        "url": art.url,
        "published": art.published,
    }


def _ref(actor: Actor) -> ActorRef:
    return ActorRef(id=actor.id, name=actor.name)


@dataclass(frozen=True)
class Verdict:
    stance: str
    agreeing: int
    total: int
    disagreement: bool
    confidence: float


def _verdict(tallies: list[Tally]) -> Verdict | None:
    """One actor × topic from its votes (one per source, weighted by cue strength): one weak
    cue alone never makes a position; ties go to the most recent reporting, positions move."""
    if not any(t.strongest >= MIN_STRENGTH for t in tallies):
        return None
    win = max(tallies, key=lambda t: (t.weight, t.newest or date.min))
    # Only for against: "conditional" and "undecided" qualify a position, they do not
    # contradict it.
    disagreement = any(t.stance == CONTRA.get(win.stance) for t in tallies)
    share = win.weight / sum(t.weight for t in tallies)
    return Verdict(
        stance=win.stance,
        agreeing=win.sources,
        total=sum(t.sources for t in tallies),
        disagreement=disagreement,
        confidence=round(share * (1 - 0.5**win.sources), 2),
    )


def _ordered(found: list[tuple[Passage, Claim]], stance: str) -> list[tuple[Passage, Claim]]:
    """Evidence for the overall stance first, strongest first, then the dissent; the order of
    ``found`` (newest first) breaks ties. One item per passage."""
    seen: set[tuple[str, int]] = set()
    out = []
    ranked = sorted(
        enumerate(found), key=lambda x: (x[1][1].stance != stance, -x[1][1].strength, x[0])
    )
    for _, (p, c) in ranked:
        if (p.article_id, p.start) not in seen:
            seen.add((p.article_id, p.start))
            out.append((p, c))
    return out
