"""``Newsbot``: the one core that the CLI and the Slack handlers call.

It loads the corpus, opens (or builds once) the passage index, and answers with the typed models
of ``bot.models``. Nothing here imports Slack.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import ParamSpec, TypeVar

from bot.corpus import Corpus, Problem, load_corpus
from bot.errors import EmptyQuery, UnknownActor, UnknownTopic
from bot.index import PassageIndex, key
from bot.lexicon import Actor, Lexicon, Topic
from bot.models import (
    ActorRef,
    Article,
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
        corpus: Corpus,
        lexicon: Lexicon,
        index: PassageIndex,
        data_dir: Path | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._refreshing = threading.Lock()  # one load-and-swap at a time
        self.data_dir = data_dir
        self._use(corpus, lexicon, index)

    def _use(self, corpus: Corpus, lexicon: Lexicon, index: PassageIndex) -> None:
        self.corpus = corpus
        self.lexicon = lexicon
        self.index = index
        self.articles: dict[str, Article] = {a.id: a for a in corpus.articles}
        self._board: Board | None = None  # the whole board, once per corpus state

    @classmethod
    def open(
        cls, corpus_dir: Path | str | None = None, data_dir: Path | str | None = None
    ) -> Newsbot:
        settings = Settings()
        corpus = load_corpus(Path(corpus_dir) if corpus_dir else settings.corpus_dir)
        lexicon = Lexicon.from_data(corpus.lexicons)
        data = Path(data_dir) if data_dir else settings.data_dir
        return cls(corpus, lexicon, PassageIndex.open_or_build(corpus, lexicon, data), data)

    def refresh(self) -> bool:
        """Re-read the corpus folder; when anything changed, answer from the new state (its
        index is built beside the old one first). True when it changed."""
        with self._refreshing:  # a tick and a /ukraine add never swap an older state in
            corpus = load_corpus(self.corpus.directory)
            if corpus.fingerprint == self.corpus.fingerprint:
                return False
            lexicon = Lexicon.from_data(corpus.lexicons)
            data_dir = self.data_dir or Settings().data_dir
            index = PassageIndex.open_or_build(corpus, lexicon, data_dir)
            with self._lock:
                self._use(corpus, lexicon, index)
            return True

    def consistent(self) -> threading.RLock:
        """Hold it to read several answers and attributes from one state of the corpus."""
        return self._lock

    @property
    def problems(self) -> list[Problem]:
        """Files that were skipped while loading, each with its reason."""
        return self.corpus.problems

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
        return CorpusInfo(
            articles=len(self.articles),
            passages=len(self.index.passages),
            last_ingest=self.index.built_at,
            fingerprint=self.corpus.fingerprint,
        )

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
        hits = self.index.engine.search(terms, k)
        return SearchAnswer(query=query, results=[self._hit(pid, score) for pid, score in hits])

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
    def sources(self) -> SourcesAnswer:
        ordered = sorted(
            self.articles.values(), key=lambda a: (a.published or date.min, a.id), reverse=True
        )
        return SourcesAnswer(
            articles=[
                Source(
                    id=a.id,
                    title=a.title,
                    outlet=a.outlet,
                    url=a.url,
                    published=a.published,
                    words=len(a.body.split()),
                )
                for a in ordered
            ]
        )

    @_consistent
    def board(self, exclude: set[str] | frozenset[str] = frozenset()) -> Board:
        """Every actor × topic with a position, from one pass over the annotated passages;
        ``exclude`` leaves articles out (the digest's "before" picture). The whole board is
        computed once per corpus state: it changes only when the corpus does."""
        if exclude:
            return self._compute_board(exclude)
        if self._board is None:
            self._board = self._compute_board(exclude)
        return self._board

    def _compute_board(self, exclude: set[str] | frozenset[str]) -> Board:
        by_pair: dict[tuple[str, str], list[tuple[Passage, Claim]]] = defaultdict(list)
        for p in self.index.passages:
            if p.article_id in exclude:
                continue
            for c in p.claims:
                by_pair[(c.actor_id, c.topic)].append((p, c))
        cells = []
        for (actor_id, topic_id), found in by_pair.items():
            pos = self._aggregate(self.lexicon.actors[actor_id], topic_id, found)
            if pos:
                cells.append(
                    BoardCell(
                        actor=_ref(self.lexicon.actors[actor_id]),
                        topic=topic_id,
                        stance=pos.stance,
                        sources_agreeing=pos.sources_agreeing,
                        disagreement=pos.disagreement,
                    )
                )
        order = {a: i for i, a in enumerate(self.lexicon.actors)}
        cells.sort(key=lambda c: (order[c.actor.id], list(self.lexicon.topics).index(c.topic)))
        actors = list(dict.fromkeys(c.actor.id for c in cells))
        return Board(
            topics=list(self.lexicon.topics),
            actors=[_ref(self.lexicon.actors[a]) for a in actors],
            cells=cells,
        )

    # --- internals ---------------------------------------------------------------------------

    def _position(self, actor: Actor, topic: Topic) -> Position | None:
        terms = search_tokens(" ".join(topic.search_terms), query=True)
        hits = self.index.engine.search(terms, 1000, key=key(actor.id, topic.id))
        found = []
        for pid, _ in hits:  # ranked by BM25 for the topic: best evidence first
            passage = self.index.passages[pid]
            found += [
                (passage, c)
                for c in passage.claims
                if c.actor_id == actor.id and c.topic == topic.id
            ]
        return self._aggregate(actor, topic.id, found)

    def _aggregate(
        self, actor: Actor, topic_id: str, found: list[tuple[Passage, Claim]]
    ) -> Position | None:
        """One vote per article (its strongest claim), weighted by cue strength."""
        if not any(c.strength >= MIN_STRENGTH for _, c in found):
            return None
        # A wire story carried by several outlets is one independent source.
        per_article: dict[str, Claim] = {}
        for p, c in found:
            first = self.articles[p.article_id].duplicate_of
            source = first if first in self.articles else p.article_id
            best = per_article.get(source)
            # Within one article a caveat qualifies a yes: conditional beats support at equal
            # strength ("willing to commit personnel ... only after a ceasefire").
            qualifies = c.stance == "conditional" and best is not None and best.stance == "support"
            if (
                best is None
                or c.strength > best.strength
                or (c.strength == best.strength and qualifies)
            ):
                per_article[source] = c
        weight: dict[str, float] = defaultdict(float)
        newest: dict[str, date] = {}
        for art_id, c in per_article.items():
            weight[c.stance] += c.strength
            published = self.articles[art_id].published or date.min
            newest[c.stance] = max(newest.get(c.stance, date.min), published)
        # Ties go to the most recent reporting: positions move.
        stance = max(weight, key=lambda s: (weight[s], newest[s]))
        agreeing = sum(1 for c in per_article.values() if c.stance == stance)
        # Only for against: "conditional" and "undecided" qualify a position, they do not
        # contradict it.
        disagreement = any(c.stance == CONTRA.get(stance) for c in per_article.values())
        share = weight[stance] / sum(weight.values())
        confidence = round(share * (1 - 0.5**agreeing), 2)
        ordered = _ordered(found, stance)
        evidence = [self._evidence(p, c) for p, c in ordered]
        # The summary names who said it where the evidence names someone.
        winners = [
            (c, e) for (_, c), e in zip(ordered, evidence, strict=True) if c.stance == stance
        ]
        top = max(c.strength for c, _ in winners)
        lead, lead_ev = next(
            ((c, e) for c, e in winners if c.strength == top and c.speaker), winners[0]
        )
        return Position(
            topic=topic_id,
            stance=stance,
            confidence=confidence,
            summary=self._summary(
                actor, topic_id, stance, lead, lead_ev, agreeing, len(per_article)
            ),
            sources_agreeing=agreeing,
            disagreement=disagreement,
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

    def _quoted(self, passage: Passage) -> dict[str, object]:
        art = self.articles[passage.article_id]
        return {
            "quote": passage.text,
            "article_id": art.id,
            "title": art.title,
            "outlet": art.outlet,
            "url": art.url,
            "published": art.published,
        }

    def _evidence(self, passage: Passage, claim: Claim) -> Evidence:
        return Evidence(**self._quoted(passage), stance=claim.stance, speaker=claim.speaker)

    def _hit(self, pid: int, score: float) -> SearchHit:
        return SearchHit(**self._quoted(self.index.passages[pid]), score=round(score, 4))

    def _question_hits(
        self, terms: list[str], actors: list[Actor], topics: list[Topic]
    ) -> list[SearchHit]:
        hits = self.index.engine.search(terms, 50)
        if actors:
            # Passages that name the asked-about actor first: "what did Meloni say" wants Meloni.
            wanted = {a.id for a in actors}
            hits.sort(key=lambda h: (not (self.index.passages[h[0]].actors & wanted), -h[1]))
        return [self._hit(pid, score) for pid, score in hits[:5]]

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


def _ref(actor: Actor) -> ActorRef:
    return ActorRef(id=actor.id, name=actor.name)


def _ordered(found: list[tuple[Passage, Claim]], stance: str) -> list[tuple[Passage, Claim]]:
    """Evidence for the overall stance first, strongest first, then the dissent; BM25 rank
    (the order of ``found``) breaks ties. One item per passage."""
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
