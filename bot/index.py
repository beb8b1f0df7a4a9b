"""The passage index on disk: built once per corpus state, then opened, never rebuilt per query.

Layout under the data folder::

    index/<fingerprint>/passages.jsonl   passages with their claims (annotation done at build)
    index/<fingerprint>/tantivy/         the BM25 index over the same passages
    index/<fingerprint>/meta.json        when it was built, and from how many articles

The fingerprint covers every article and lexicon, so a changed corpus gets a new index beside
the old one; a build goes to a temporary folder and is renamed into place, so a crash never
leaves a half-built index that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bot.corpus import Corpus
from bot.lexicon import Lexicon
from bot.retrieval import IndexedPassage, TantivyEngine
from bot.stance import Claim, Passage, StanceAnnotator
from bot.text import search_tokens

FORMAT = 2  # bump when the stored layout or the annotation changes meaning


KEEP = 2  # index folders kept: the current one and the one before, which may still be open


def _prune(current: Path) -> None:
    """Every corpus change builds a new index beside the old; drop all but the newest few.
    A process still reading an older one keeps its open files (they are only unlinked)."""
    built = sorted(
        (p for p in current.parent.iterdir() if (p / "meta.json").exists()),
        key=lambda p: (p / "meta.json").stat().st_mtime,
        reverse=True,
    )
    for old in built[KEEP:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def key(actor_id: str, topic: str) -> str:
    return f"{actor_id}|{topic}"


def indexed(pid: int, passage: Passage) -> IndexedPassage:
    return IndexedPassage(
        pid, search_tokens(passage.text), [key(c.actor_id, c.topic) for c in passage.claims]
    )


class PassageIndex:
    def __init__(self, passages: list[Passage], engine: TantivyEngine, built_at: datetime) -> None:
        self.passages = passages
        self.engine = engine
        self.built_at = built_at

    @classmethod
    def open_or_build(cls, corpus: Corpus, lexicon: Lexicon, data_dir: Path) -> PassageIndex:
        folder = data_dir / "index" / f"{corpus.fingerprint}-v{FORMAT}"
        if not (folder / "meta.json").exists():
            cls._build(corpus, lexicon, folder)
            _prune(folder)
        return cls._open(folder)

    @staticmethod
    def _build(corpus: Corpus, lexicon: Lexicon, folder: Path) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=folder.parent))
        try:
            annotator = StanceAnnotator(lexicon)
            passages = [p for a in corpus.articles for p in annotator.annotate(a)]
            with (tmp / "passages.jsonl").open("w", encoding="utf-8") as out:
                for p in passages:
                    row = asdict(p)
                    row["actors"] = sorted(p.actors)
                    row["speakers"] = sorted(p.speakers)
                    row["topics"] = sorted(p.topics)
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
            TantivyEngine.build(tmp / "tantivy", (indexed(i, p) for i, p in enumerate(passages)))
            meta = {"built_at": datetime.now(UTC).isoformat(), "articles": len(corpus.articles)}
            (tmp / "meta.json").write_text(json.dumps(meta))
            try:
                os.rename(tmp, folder)
            except OSError:
                if not (folder / "meta.json").exists():  # not a concurrent build that won
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def _open(cls, folder: Path) -> PassageIndex:
        passages = []
        with (folder / "passages.jsonl").open(encoding="utf-8") as rows:
            for line in rows:
                row = json.loads(line)
                claims = [Claim(**c) for c in row.pop("claims")]
                passage = Passage(**row)
                passage.actors, passage.speakers = set(row["actors"]), set(row["speakers"])
                passage.topics, passage.claims = set(row["topics"]), claims
                passages.append(passage)
        meta = json.loads((folder / "meta.json").read_text())
        engine = TantivyEngine.open(folder / "tantivy")
        return cls(passages, engine, datetime.fromisoformat(meta["built_at"]))
