"""Typed answers of the core. Their JSON form is exactly the CLI's ``--json`` output."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Stance = Literal["support", "oppose", "conditional", "undecided"]
STANCES: tuple[Stance, ...] = ("support", "oppose", "conditional", "undecided")


class ArticleMeta(BaseModel):
    """What an article file's front matter says about it."""

    id: str
    title: str
    title_added_by_desk: bool = False
    outlet: str | None = None
    url: str | None = None
    published: date | None = None
    ingested: datetime | None = None  # when it entered the corpus; None for the shipped seeds
    duplicate_of: str | None = None  # the first copy of a wire story republished elsewhere


class Article(ArticleMeta):
    """One article of the corpus: its metadata, and its body exactly as stored."""

    body: str
    path: str = Field(default="", exclude=True)


class ArticleInfo(ArticleMeta):
    """An article as the index knows it: its metadata and length, without the body."""

    words: int


class Quoted(BaseModel):
    """A passage shown to a journalist: its exact words and where they were published."""

    quote: str
    article_id: str
    title: str
    outlet: str | None
    url: str | None
    published: date | None


class Evidence(Quoted):
    stance: Stance
    speaker: str | None


class Position(BaseModel):
    topic: str
    stance: Stance
    confidence: float
    summary: str
    sources_agreeing: int
    disagreement: bool
    evidence: list[Evidence]


def sources_agree(n: int) -> str:
    """How ``sources_agreeing`` reads in every renderer. "Independent": a wire story and the
    copies other outlets carried count once."""
    return f"{n:,} independent source agrees" if n == 1 else f"{n:,} independent sources agree"


class ActorRef(BaseModel):
    id: str
    name: str


class StanceAnswer(BaseModel):
    actor: ActorRef
    positions: list[Position]


class SearchHit(Quoted):
    score: float


class SearchAnswer(BaseModel):
    query: str
    results: list[SearchHit]


class AskAnswer(SearchAnswer):
    """A free question: the actors and topics read from it, the stance view where both are clear."""

    actors: list[ActorRef] = []
    topics: list[str] = []
    stance: StanceAnswer | None = None


class Source(BaseModel):
    id: str
    title: str
    outlet: str | None
    url: str | None
    published: date | None
    words: int


class SourcesAnswer(BaseModel):
    articles: list[Source]  # newest first, at most the number asked for
    total: int  # articles in the corpus


class BoardCell(BaseModel):
    actor: ActorRef
    topic: str
    stance: Stance
    sources_agreeing: int
    disagreement: bool


class Board(BaseModel):
    """The desk's "who stands where": one cell per actor and topic that has a position."""

    topics: list[str]
    actors: list[ActorRef]
    cells: list[BoardCell]


class CorpusInfo(BaseModel):
    """Which corpus snapshot answered: shown in footers so a journalist can judge freshness."""

    articles: int
    passages: int
    last_ingest: datetime | None
    fingerprint: str
