"""BM25 retrieval over passages, behind one small interface.

Two engines implement it: ``TantivyEngine``, persistent and memory-mapped, which answers the
bot; and ``RankBM25Engine``, the textbook BM25 of rank-bm25, kept as the reference that the
tests (and the benchmark) compare the embedded engine with. Both see exactly the same terms:
text is tokenised by ``bot.text.search_tokens`` before it reaches either, so tantivy only splits
on spaces.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import tantivy
from rank_bm25 import BM25Okapi

# tantivy's BM25 constants; the reference uses the same so the two rank alike.
K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class IndexedPassage:
    """What an engine needs of a passage: its id, its article and its terms."""

    pid: int
    article_id: str
    terms: list[str]


class Retriever(Protocol):
    def search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        """Best ``k`` passage ids with scores."""
        ...


class TantivyEngine:
    """Persistent and incremental: documents are added and deleted (by article) in commits;
    readers see a commit after ``reload``."""

    def __init__(self, index: tantivy.Index) -> None:
        self._index = index
        self._schema = index.schema
        self._searcher = index.searcher()

    @staticmethod
    def _schema_def() -> tantivy.Schema:
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("terms", stored=False, tokenizer_name="whitespace", index_option="freq")
        sb.add_text_field("article", stored=False, tokenizer_name="raw")
        sb.add_unsigned_field("pid", stored=True, indexed=False, fast=True)
        return sb.build()

    @classmethod
    def open_or_create(cls, path: Path) -> TantivyEngine:
        if (path / "meta.json").exists():
            return cls(tantivy.Index.open(str(path)))
        path.mkdir(parents=True, exist_ok=True)
        return cls(tantivy.Index(cls._schema_def(), path=str(path)))

    @classmethod
    def build(cls, path: Path, passages: Iterable[IndexedPassage]) -> TantivyEngine:
        engine = cls.open_or_create(path)
        engine.write([], passages)
        engine.reload()
        return engine

    def write(self, remove: Iterable[str], add: Iterable[IndexedPassage]) -> None:
        """One commit: the passages of the ``remove`` articles leave, ``add`` enters."""
        writer = self._index.writer(heap_size=128_000_000, num_threads=1)
        for article_id in remove:
            writer.delete_documents_by_term("article", article_id)
        for p in add:
            doc = tantivy.Document()
            doc.add_unsigned("pid", p.pid)
            doc.add_text("article", p.article_id)
            doc.add_text("terms", " ".join(p.terms))
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()

    def reload(self) -> None:
        self._index.reload()
        self._searcher = self._index.searcher()

    def search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        schema = self._schema
        clauses = [
            (tantivy.Occur.Should, tantivy.Query.term_query(schema, "terms", t))
            for t in dict.fromkeys(terms)
        ]
        if not clauses:
            return []
        query = tantivy.Query.boolean_query(clauses)
        hits = self._searcher.search(query, k).hits
        return [(self._searcher.doc(addr)["pid"][0], score) for score, addr in hits]


class RankBM25Engine:
    """Textbook BM25 (rank-bm25's BM25Okapi) over the same passages: the reference."""

    def __init__(self, passages: Iterable[IndexedPassage]) -> None:
        items = list(passages)
        self._pids = [p.pid for p in items]
        self._bm25 = BM25Okapi([p.terms or [""] for p in items], k1=K1, b=B)

    def search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        if not terms:
            return []
        scores = self._bm25.get_scores(list(dict.fromkeys(terms)))
        ranked = [(pid, float(scores[i])) for i, pid in enumerate(self._pids) if scores[i] > 0]
        ranked.sort(key=lambda r: -r[1])
        return ranked[:k]
