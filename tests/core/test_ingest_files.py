"""Ingestion on disk: article files readable by the desk, no half-written article after a crash,
and the near-duplicate signatures cached in the data folder so a run hashes only what is new."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import Newsbot
from bot.corpus import load_corpus
from bot.ingest import Ingestor, SignatureCache, _minhash, ingesting, sweep_partial
from tests.texts import DENMARK, FLIP, SPAIN, write_wire_export


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The bodies MinHashed, in order."""
    bodies: list[str] = []

    def counting(body: str):  # type: ignore[no-untyped-def]
        bodies.append(body)
        return _minhash(body)

    monkeypatch.setattr("bot.ingest._minhash", counting)
    yield bodies


def buckets(ingestor: Ingestor) -> dict[str, list[bytes]]:
    storage = ingestor.lsh.keys
    return {key: list(storage.get(key)) for key in sorted(storage.keys())}


def test_a_second_run_hashes_only_new_and_changed_articles(
    corpus_dir: Path, tmp_path: Path, hashed: list[str]
) -> None:
    data = tmp_path / "data"
    corpus = load_corpus(corpus_dir)
    Ingestor(corpus, data_dir=data)
    assert len(hashed) == len(corpus.articles)  # the first run hashes every article
    hashed.clear()
    Ingestor(load_corpus(corpus_dir), data_dir=data)
    assert hashed == []  # the second, none

    edited, removed = sorted((corpus_dir / "articles").glob("*.md"))[:2]
    edited.write_text(edited.read_text() + "\nA paragraph the desk added by hand.\n")
    removed.unlink()
    (tmp_path / "es.txt").write_text("Spain to raise spending\n" + " ".join(SPAIN))
    Ingestor(load_corpus(corpus_dir), data_dir=data).ingest([str(tmp_path / "es.txt")])
    assert len(hashed) == 2  # the edited article, and the new one
    assert hashed[0].endswith("A paragraph the desk added by hand.\n")
    hashed.clear()
    Ingestor(load_corpus(corpus_dir), data_dir=data)
    assert hashed == []  # the new article's signature was kept too
    [cache] = (data / "ingest").glob("*.sqlite3")
    with sqlite3.connect(cache) as db:
        ids = {row[0] for row in db.execute("SELECT id FROM signatures")}
    assert ids == {a.id for a in load_corpus(corpus_dir).articles}  # the removed one is gone


def test_cached_signatures_find_the_same_near_duplicates(corpus_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_wire_export(tmp_path / "first.json", [("wire", "")])
    write_wire_export(
        tmp_path / "copies.json", [("daily", " Reporting by staff."), ("post", " (AFP)")]
    )
    [first] = (
        Ingestor(load_corpus(corpus_dir), data_dir=data)
        .ingest([str(tmp_path / "first.json")])
        .added
    )
    warm = Ingestor(load_corpus(corpus_dir), data_dir=data)  # every signature from the cache
    cold = Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "elsewhere")
    assert buckets(warm) == buckets(cold)  # signatures from the cache: the same LSH buckets
    copies = warm.ingest([str(tmp_path / "copies.json")]).added
    assert [c.duplicate_of for c in copies] == [first.id, first.id]


def test_a_broken_cache_is_rebuilt_and_never_fails_an_ingest(
    corpus_dir: Path, tmp_path: Path, hashed: list[str]
) -> None:
    data = tmp_path / "data"
    cache = SignatureCache.of(corpus_dir, data)
    assert cache is not None
    cache.path.parent.mkdir(parents=True)
    cache.path.write_bytes(b"this is not a database" * 100)
    write_wire_export(tmp_path / "wire.json", [("wire", ""), ("post", " (AFP)")])
    report = Ingestor(load_corpus(corpus_dir), data_dir=data).ingest([str(tmp_path / "wire.json")])
    first, copy = report.added
    assert copy.duplicate_of == first.id
    hashed.clear()
    Ingestor(load_corpus(corpus_dir), data_dir=data)  # the next run starts a new cache
    hashed.clear()
    Ingestor(load_corpus(corpus_dir), data_dir=data)
    assert hashed == []


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_article_files_are_readable_as_the_umask_allows(
    corpus_dir: Path, tmp_path: Path, umask: int, mode: int
) -> None:
    (tmp_path / "es.txt").write_text("Spain to raise spending\n" + " ".join(SPAIN))
    old = os.umask(umask)
    try:
        [added] = (
            Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data")
            .ingest([str(tmp_path / "es.txt")])
            .added
        )
    finally:
        os.umask(old)
    written = corpus_dir / "articles" / f"{added.id}.md"
    assert stat.S_IMODE(written.stat().st_mode) == mode


def test_a_crash_while_writing_leaves_no_partial_article(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in").mkdir()
    for name, text in [("a", SPAIN), ("b", DENMARK), ("c", [FLIP])]:
        (tmp_path / "in" / f"{name}.txt").write_text(f"Headline {name}\n" + " ".join(text))
    replaced = 0
    real_replace = os.replace

    def crash_on_the_second(src: str, dst: Path) -> None:
        nonlocal replaced
        replaced += 1
        if replaced == 2:  # the second article is written to its temporary file, then ...
            assert Path(src).read_text().endswith(" ".join(DENMARK))
            raise KeyboardInterrupt  # ... the process is stopped before the rename
        real_replace(src, dst)

    monkeypatch.setattr("bot.ingest.os.replace", crash_on_the_second)
    before = {p.name for p in (corpus_dir / "articles").iterdir()}
    with pytest.raises(KeyboardInterrupt):
        Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data").ingest([str(tmp_path / "in")])
    monkeypatch.undo()
    new = {p.name for p in (corpus_dir / "articles").iterdir()} - before
    assert len(new) == 1 and new.pop().endswith(".md")  # the first article; no .part left
    corpus = load_corpus(corpus_dir)
    assert corpus.problems == []
    assert [a.title for a in corpus.articles if a.ingested] == ["Headline a"]
    bot = Newsbot.open(corpus_dir, tmp_path / "data")
    assert {a.id for a in bot.index.articles()} == {a.id for a in corpus.articles}

    # Run again: the rest is added, nothing twice.
    again = Ingestor(load_corpus(corpus_dir), data_dir=tmp_path / "data").ingest(
        [str(tmp_path / "in")]
    )
    assert [a.title for a in again.added] == ["Headline b", "Headline c"]
    assert [why.split(" as ")[0] for _, why in again.skipped] == ["same text"]
    assert load_corpus(corpus_dir).problems == []


def test_stray_temporary_files_are_ignored_then_swept(corpus_dir: Path, tmp_path: Path) -> None:
    articles = corpus_dir / "articles"
    old = articles / ".tmpa1b2c3.part"
    old.write_text("---\nid: half\ntitle: Half an arti")  # what a killed run leaves
    fresh = articles / ".tmpd4e5f6.part"
    fresh.write_text("---\nid: other\n")
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    corpus = load_corpus(corpus_dir)
    assert corpus.problems == [] and len(corpus.articles) == 5  # the loader reads only *.md

    # An ingest removes those no running write can own; under the ingest lock, all of them.
    (tmp_path / "es.txt").write_text("Spain to raise spending\n" + " ".join(SPAIN))
    Ingestor(corpus, data_dir=tmp_path / "data").ingest([str(tmp_path / "es.txt")])
    assert not old.exists() and fresh.exists()
    with ingesting(corpus_dir):
        assert not fresh.exists()
    assert sweep_partial(articles) == []
    assert len(load_corpus(corpus_dir).articles) == 6
