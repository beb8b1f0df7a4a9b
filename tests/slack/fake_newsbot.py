"""A stand-in engine with the core's interface and typed answers, whose content the tests
know: hostile strings in titles and quotes, a slow actor, a failing actor, oversized answers.

``slow-…`` actors wait until the test creates a file of that name in ``$FAKE_GATE_DIR``.
"""

from __future__ import annotations

import difflib
import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bot.errors import EmptyQuery, UnknownActor, UnknownTopic
from bot.models import (
    ActorRef,
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

TOPICS = {
    "troops": "Troops for Ukraine",
    "us_backstop": "US backstop",
    "defence_spending": "Defence spending",
    "peace_talks": "Seat at peace talks",
    "sanctions": "Sanctions on Russia",
}
TOPIC_WORDS = {"troops": "troops", "sanctions": "sanctions", "backstop": "us_backstop"}
ACTORS = {"poland": "Poland", "spain": "Spain", "italy": "Italy"}
INFO = CorpusInfo(
    articles=3,
    passages=42,
    last_ingest=datetime(2025, 3, 4, 9, 30, tzinfo=UTC),
    fingerprint="f00dfacecafe0123456789",
)

HOSTILE_TITLE = "Leaders meet <!here> in Paris"
HOSTILE_QUOTE = (
    "Poland <@U999> will not <http://evil.example|click> send troops & says so <!channel>"
)
SAFE_URL = "https://news.example/poland-troops?a=1&b=2"
BAD_URL = "javascript:alert(1)"
DISSENT_QUOTE = "Warsaw could send troops if the US gives a backstop"
SUMMARY = "Poland opposes troops for Ukraine (2 of 3 sources)."


def _evidence(
    quote: str, stance: str, url: str | None, title: str, speaker: str | None
) -> Evidence:
    return Evidence(
        quote=quote,
        article_id=f"a-{abs(hash(quote)) % 1000}",
        title=title,
        outlet="Example Times",
        url=url,
        published=date(2025, 2, 17),
        stance=stance,  # type: ignore[arg-type]
        speaker=speaker,
    )


def _positions(actor: str) -> list[Position]:
    if actor == "poland":
        troops = Position(
            topic="troops",
            stance="oppose",
            confidence=0.8,
            summary=SUMMARY,
            sources_agreeing=2,
            disagreement=True,
            evidence=[
                _evidence(HOSTILE_QUOTE, "oppose", SAFE_URL, HOSTILE_TITLE, "Donald Tusk"),
                _evidence(
                    "We will not send soldiers.", "oppose", BAD_URL, "Tusk rules it out", None
                ),
                _evidence(
                    "Poland focuses on its own border.", "oppose", None, "Eastern flank", None
                ),
                _evidence(DISSENT_QUOTE, "conditional", None, "A softer line", None),
            ],
        )
        sanctions = Position(
            topic="sanctions",
            stance="support",
            confidence=0.6,
            summary="Poland supports sanctions on Russia (1 source).",
            sources_agreeing=1,
            disagreement=False,
            evidence=[_evidence("Sanctions must stay.", "support", SAFE_URL, "Sanctions", None)],
        )
        return [troops, sanctions]
    if actor == "spain":
        return [
            Position(
                topic="troops",
                stance="conditional",
                confidence=0.5,
                summary="Spain supports troops only on conditions (1 source).",
                sources_agreeing=1,
                disagreement=False,
                evidence=[
                    _evidence("Only with a UN mandate.", "conditional", None, "Madrid", None)
                ],
            ),
            Position(
                topic="sanctions",
                stance="undecided",
                confidence=0.3,
                summary="Spain is undecided on sanctions (1 source).",
                sources_agreeing=1,
                disagreement=False,
                evidence=[_evidence("We will see.", "undecided", None, "Madrid", None)],
            ),
        ]
    if actor == "many":
        return [
            Position(
                topic=topic,
                stance="support",
                confidence=0.9,
                summary="Long summary. " * 400,
                sources_agreeing=30,
                disagreement=False,
                evidence=[
                    _evidence(f"Quote {i} " + "words " * 200, "support", SAFE_URL, f"T{i}", None)
                    for i in range(30)
                ],
            )
            for topic in TOPICS
        ]
    return []


class FakeNewsbot:
    def info(self) -> CorpusInfo:
        return INFO

    def topic_label(self, topic_id: str) -> str:
        return TOPICS[topic_id]

    def suggest_actors(self, name: str) -> list[str]:
        matches = difflib.get_close_matches(name.lower(), list(ACTORS), n=3, cutoff=0.6)
        return [ACTORS[m] for m in matches]

    def stance(self, actor: str, topic: str | None = None) -> StanceAnswer:
        ref = self._actor(actor)
        wanted = self._topic(topic) if topic else None
        positions = _positions(ref.id)
        if wanted:
            positions = [p for p in positions if p.topic == wanted]
        return StanceAnswer(actor=ref, positions=positions)

    def search(self, query: str, k: int = 10) -> SearchAnswer:
        if not query.strip():
            raise EmptyQuery()
        if "boom" in query:
            raise RuntimeError("search index exploded")
        if "nothing" in query:
            return SearchAnswer(query=query, results=[])
        hits = [
            SearchHit(
                quote=HOSTILE_QUOTE if i == 0 else f"Passage {i} about troops.",
                article_id=f"a{i}",
                title=HOSTILE_TITLE if i == 0 else f"Article {i}",
                outlet="Example Times",
                url=SAFE_URL if i == 0 else None,
                published=date(2025, 3, 2),
                score=10.0 - i,
            )
            for i in range(2)
        ]
        return SearchAnswer(query=query, results=hits[:k])

    def ask(self, question: str, actor: str | None = None, topic: str | None = None) -> AskAnswer:
        if not question.strip():
            raise EmptyQuery()
        if "boom" in question.lower():
            raise RuntimeError("ask exploded")
        if "nothing" in question.lower():
            return AskAnswer(query=question, results=[])
        words = question.lower().replace("?", " ").split()
        actors = [self._actor(w) for w in words if w in ACTORS]
        topics = [TOPIC_WORDS[w] for w in words if w in TOPIC_WORDS]
        if not actors and actor:
            actors = [self._actor(actor)]
        if not topics and topic:
            topics = [self._topic(topic)]
        stance = None
        if len(actors) == 1 and len(topics) == 1:
            stance = self.stance(actors[0].id, topics[0])
        hits = self.search("anything", k=2).results
        return AskAnswer(query=question, results=hits, actors=actors, topics=topics, stance=stance)

    def sources(self) -> SourcesAnswer:
        return SourcesAnswer(
            articles=[
                Source(
                    id="a0",
                    title=HOSTILE_TITLE,
                    outlet="Example Times",
                    url=SAFE_URL,
                    published=date(2025, 3, 2),
                    words=859,
                ),
                Source(
                    id="a1",
                    title="No link here",
                    outlet=None,
                    url="ftp://files.example/x",
                    published=date(2025, 2, 17),
                    words=477,
                ),
                Source(id="a2", title="Undated", outlet="Wire", url=None, published=None, words=12),
            ],
            total=3,
        )

    def board(self) -> Board:
        cells = [
            BoardCell(
                actor=ActorRef(id="poland", name="Poland"),
                topic="troops",
                stance="oppose",
                sources_agreeing=2,
                disagreement=True,
            ),
            BoardCell(
                actor=ActorRef(id="poland", name="Poland"),
                topic="sanctions",
                stance="support",
                sources_agreeing=1,
                disagreement=False,
            ),
            BoardCell(
                actor=ActorRef(id="spain", name="Spain"),
                topic="troops",
                stance="conditional",
                sources_agreeing=1,
                disagreement=False,
            ),
        ]
        return Board(
            topics=list(TOPICS),
            actors=[ActorRef(id="poland", name="Poland"), ActorRef(id="spain", name="Spain")],
            cells=cells,
        )

    def _actor(self, name: str) -> ActorRef:
        key = name.strip().lower()
        if key.startswith("slow-"):
            gate = Path(os.environ["FAKE_GATE_DIR"]) / key
            deadline = time.monotonic() + 30
            while not gate.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            return ActorRef(id="poland", name=name)
        if key == "boom":
            raise RuntimeError("stance engine exploded")
        if key == "many":
            return ActorRef(id="many", name="Manyland")
        if key in ACTORS:
            return ActorRef(id=key, name=ACTORS[key])
        raise UnknownActor(name, self.suggest_actors(name))

    def _topic(self, name: str) -> str:
        key = name.strip().lower()
        if key in TOPICS:
            return key
        if key in TOPIC_WORDS:
            return TOPIC_WORDS[key]
        matches = difflib.get_close_matches(key, list(TOPIC_WORDS), n=2, cutoff=0.6)
        raise UnknownTopic(name, matches)
