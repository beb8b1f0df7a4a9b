"""The index on disk: everything that does not depend on the question, done once per article.

An article is read, split into passages and annotated (actors, topics, claims, its vote per
actor and topic) when it enters the index, never at question time. A *generation* holds::

    store.sqlite   articles, passages, claims, votes; the files they came from (or why not)
    tantivy/       BM25 over the same passages, memory-mapped

Both grow incrementally: ``sync`` compares the corpus folder with the ``files`` table (size,
mtime, inode) and indexes only what changed, so a restart opens the generation and answers at
once. A generation belongs to one corpus folder and one state of the lexicons; a change of
``actors.yaml``, ``topics.yaml`` or ``cues.yaml`` (or ``newsbot reindex``) builds a new one
beside it while the old one serves, then ``CURRENT`` switches to it.

Crash safety, in the order of a batch: pids are reserved, then tantivy commits, then SQLite
commits the rows and the files' new signatures. A crash in between leaves the old signature,
so the next sync redoes the article (deleting by article id what tantivy already had), and a
search hit whose pid has no row yet is skipped. Nothing points at a missing article.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bot.corpus import (
    ArticleFileError,
    Corpus,
    Problem,
    lexicon_fingerprint,
    load_lexicons,
    parse_article,
)
from bot.lexicon import Lexicon
from bot.models import Article, ArticleInfo
from bot.retrieval import IndexedPassage, TantivyEngine
from bot.stance import Claim, Passage, StanceAnnotator
from bot.text import search_tokens

FORMAT = 4  # bump when the stored layout or the annotation changes meaning
KEEP = 2  # generations kept per corpus folder: the current one and the one before
BATCH = 2000  # articles per commit: bounds memory and what a crash costs
PART = 50  # articles per task of a worker process
PARALLEL_FROM = 200  # below this many changed files, worker processes cost more than they save

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, sig TEXT NOT NULL, article_id TEXT, line INTEGER, problem TEXT
);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, title TEXT NOT NULL, title_added_by_desk INTEGER,
    outlet TEXT, url TEXT, published TEXT, ingested TEXT, duplicate_of TEXT, words INTEGER
);
CREATE INDEX IF NOT EXISTS articles_newest ON articles (published DESC, id DESC);
CREATE INDEX IF NOT EXISTS articles_ingested ON articles (ingested);
CREATE TABLE IF NOT EXISTS passages (
    pid INTEGER PRIMARY KEY, article_id TEXT NOT NULL, start INTEGER, end INTEGER,
    text TEXT NOT NULL, actors TEXT NOT NULL, speakers TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages (article_id);
CREATE TABLE IF NOT EXISTS claims (
    pid INTEGER NOT NULL, article_id TEXT NOT NULL, actor_id TEXT NOT NULL,
    topic TEXT NOT NULL, stance TEXT NOT NULL, strength INTEGER NOT NULL, cue TEXT NOT NULL,
    speaker TEXT
);
CREATE INDEX IF NOT EXISTS claims_pair ON claims (actor_id, topic, strength, pid);
CREATE INDEX IF NOT EXISTS claims_article ON claims (article_id);
-- One vote per article, actor and topic: its strongest claim. ``source`` is the article a
-- copy was republished from (``duplicate_of``), else the article itself.
CREATE TABLE IF NOT EXISTS votes (
    article_id TEXT NOT NULL, source TEXT NOT NULL, actor_id TEXT NOT NULL, topic TEXT NOT NULL,
    stance TEXT NOT NULL, strength INTEGER NOT NULL, published TEXT,
    PRIMARY KEY (actor_id, topic, article_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS votes_article ON votes (article_id);
CREATE INDEX IF NOT EXISTS votes_source ON votes (source);
-- One vote per source: a wire story carried by several outlets counts once. Kept up to date
-- at every write, so that a stance reads one covering index and the board one scan.
CREATE TABLE IF NOT EXISTS source_votes (
    actor_id TEXT NOT NULL, topic TEXT NOT NULL, source TEXT NOT NULL,
    stance TEXT NOT NULL, strength INTEGER NOT NULL, published TEXT,
    PRIMARY KEY (actor_id, topic, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS source_votes_tally
    ON source_votes (actor_id, topic, stance, strength, published);
"""

# The strongest vote of each source; as within an article (``vote``) a caveat qualifies a yes
# at equal strength, and otherwise the copy with the first id wins. A source's reporting date
# is the source article's.
BEST_PER_SOURCE = """
SELECT actor_id, topic, source, stance, strength, published FROM (
    SELECT v.actor_id, v.topic, v.source, v.stance, v.strength,
           COALESCE(s.published, v.published) AS published,
           ROW_NUMBER() OVER (
               PARTITION BY v.actor_id, v.topic, v.source
               ORDER BY v.strength DESC, v.stance = 'support', v.article_id
           ) AS n
    FROM votes v LEFT JOIN articles s ON s.id = v.source
    WHERE {where}
) WHERE n = 1
"""
# Per actor × topic × stance: summed strength, sources, newest reporting, strongest vote.
TALLY = """
SELECT actor_id, topic, stance, SUM(strength), COUNT(*), MAX(published), MAX(strength)
FROM ({votes}) {where} GROUP BY actor_id, topic, stance
"""


@dataclass(frozen=True)
class Tally:
    """One stance's share of an actor × topic: summed strength, sources, newest reporting."""

    actor_id: str
    topic: str
    stance: str
    weight: int
    sources: int
    newest: date | None
    strongest: int


@dataclass(frozen=True)
class Changes:
    added: int = 0
    updated: int = 0
    removed: int = 0
    problems: int = 0

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.problems)


Progress = Callable[[int, int], None]  # (done, total) articles of this sync


def vote(claims: Sequence[Claim]) -> Claim:
    """An article's vote on one actor × topic: its strongest claim. Within one article a
    caveat qualifies a yes: conditional beats support at equal strength ("willing to commit
    personnel ... only after a ceasefire"); otherwise the first in the text."""
    best = claims[0]
    for c in claims[1:]:
        qualifies = c.stance == "conditional" and best.stance == "support"
        if c.strength > best.strength or (c.strength == best.strength and qualifies):
            best = c
    return best


def votes_of(passages: Iterable[Passage]) -> dict[tuple[str, str], Claim]:
    """An article's votes: ``vote`` of its claims on each actor × topic, in the text's order."""
    by_pair: dict[tuple[str, str], list[Claim]] = {}
    for p in passages:
        for c in p.claims:
            by_pair.setdefault((c.actor_id, c.topic), []).append(c)
    return {pair: vote(claims) for pair, claims in by_pair.items()}


# --- reading and annotating, in worker processes for a large sync ---------------------------

_annotator: StanceAnnotator | None = None


def _start_worker(lexicons: dict[str, Any]) -> None:
    global _annotator
    _annotator = StanceAnnotator(Lexicon.from_data(lexicons))


@dataclass
class _Read:
    """One file of the folder after reading: its article and passages, or its problem."""

    rel: str
    sig: str
    article: Article | None = None
    passages: list[Passage] | None = None
    words: int = 0
    problem: Problem | None = None


def _read(directory: Path, rel: str, sig: str) -> _Read:
    assert _annotator is not None
    try:
        article = parse_article((directory / rel).read_text(encoding="utf-8"), rel)
    except UnicodeDecodeError as exc:
        return _Read(rel, sig, problem=Problem(rel, None, f"not UTF-8 text ({exc.reason})"))
    except ArticleFileError as exc:
        return _Read(rel, sig, problem=exc.problem)
    except OSError as exc:  # removed or unreadable since the scan
        return _Read(rel, sig, problem=Problem(rel, None, f"cannot read ({exc.strerror})"))
    return _annotated(rel, sig, article)


def _annotated(rel: str, sig: str, article: Article) -> _Read:
    assert _annotator is not None
    passages = _annotator.annotate(article)
    words = len(article.body.split())
    article = article.model_copy(update={"body": ""})  # the passages carry the text
    return _Read(rel, sig, article, passages, words)


def corpus_reads(corpus: Corpus, lexicon: Lexicon) -> list[_Read]:
    """An in-memory corpus as a sync would read it: its articles annotated, its problems."""
    global _annotator
    _annotator = StanceAnnotator(lexicon)
    reads = [_annotated(a.path or a.id, "", a) for a in corpus.articles]
    return reads + [_Read(p.path, "", problem=p) for p in corpus.problems]


def _read_many(directory: Path, items: list[tuple[str, str]]) -> list[_Read]:
    return [_read(directory, rel, sig) for rel, sig in items]


def read_batches(
    directory: Path, todo: list[tuple[str, str]], lexicons: dict[str, Any]
) -> Iterator[list[_Read]]:
    """The files of ``todo`` read and annotated, a batch at a time, on every core."""
    if len(todo) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        _start_worker(lexicons)
        for i in range(0, len(todo), BATCH):
            yield _read_many(directory, todo[i : i + BATCH])
        return
    # Every part is queued at once, so the workers read on while this process writes a batch.
    parts = [todo[i : i + PART] for i in range(0, len(todo), PART)]
    workers = os.cpu_count() or 2
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(lexicons,)) as pool:
        batch: list[_Read] = []
        for part in pool.map(_read_many, itertools.repeat(directory), parts):
            batch += part
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def _signature(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def scan(directory: Path) -> dict[str, str]:
    """Every article file under ``directory`` (relative path → signature), without reading
    one: a million files take a couple of seconds."""
    found: dict[str, str] = {}
    stack = [directory]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.name.endswith(".md") and entry.is_file():
                    rel = os.path.relpath(entry.path, directory)
                    found[rel] = _signature(entry.stat())
    return found


def sync_files(
    directory: Path,
    known: dict[str, str],
    lexicons: dict[str, Any],
    apply: Callable[[list[_Read], list[str]], None],
    progress: Progress | None = None,
) -> Changes:
    """The sync of every engine: ``known`` (path → signature) is what the index holds; new and
    changed files are read and passed to ``apply`` a batch at a time, removed ones first."""
    on_disk = scan(directory)
    todo = sorted((rel, sig) for rel, sig in on_disk.items() if known.get(rel) != sig)
    gone = sorted(set(known) - set(on_disk))
    total, done = len(todo), 0
    if progress:
        progress(0, total)
    counts = {"added": 0, "updated": 0, "removed": len(gone), "problems": 0}
    if gone:
        apply([], gone)
    for reads in read_batches(directory, todo, lexicons):
        for r in reads:
            kind = "problems" if r.problem else "updated" if r.rel in known else "added"
            counts[kind] += 1
        apply(reads, [])
        done += len(reads)
        if progress:
            progress(done, total)
    return Changes(**counts)


def admit(reads: list[_Read], owners: dict[str, str]) -> list[_Read]:
    """The reads whose article enters the index. ``owners`` maps the batch's article ids to the
    files that hold them and stay; a read whose id another file holds becomes a problem."""
    entering: list[_Read] = []
    for r in reads:
        if r.article is None:
            continue
        owner = owners.get(r.article.id)
        if owner is not None:  # the id belongs to another file that stays
            r.problem = Problem(r.rel, 2, f"id {r.article.id!r} is already used by {owner}")
            r.article = None
            continue
        owners[r.article.id] = r.rel
        entering.append(r)
    return entering


# --- the generation ---------------------------------------------------------------------------


class PassageIndex:
    def __init__(self, folder: Path, lexicons: dict[str, Any]) -> None:
        self.folder = folder
        self.lexicons = lexicons
        self.lexicon = Lexicon.from_data(lexicons)
        self.db = _connect(folder / "store.sqlite")
        self.engine = TantivyEngine.open_or_create(folder / "tantivy")
        # Held while a batch becomes visible: the core sets it to its answer lock, so that no
        # answer reads half of a batch.
        self.commit_lock: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()

    # --- opening ------------------------------------------------------------------------------

    @classmethod
    def for_folder(cls, directory: Path, data_dir: Path, *, fresh: bool = False) -> PassageIndex:
        """The current generation of ``directory``'s index, created (empty) when the lexicons
        changed or ``fresh`` asks for a new one; ``sync`` then fills it."""
        lexicons = load_lexicons(directory)
        home = generations_of(directory, data_dir)
        current = home / (_current(home) or "none")
        wanted = lexicon_fingerprint(lexicons)
        if fresh or not (current / "store.sqlite").exists() or _meta(current) != wanted:
            stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
            current = home / f"{wanted}-{stamp}"
            current.mkdir(parents=True)
        index = cls(current, lexicons)
        index._set("lexicons", wanted)
        return index

    @classmethod
    def open_or_build(cls, corpus: Corpus, lexicon: Lexicon, data_dir: Path) -> PassageIndex:
        """An index of an in-memory corpus (tests, the evaluation harness): built once per
        corpus state, then reopened."""
        folder = data_dir / "index" / f"mem-{corpus.fingerprint}-v{FORMAT}"
        folder.mkdir(parents=True, exist_ok=True)
        index = cls(folder, corpus.lexicons)
        if index._get("complete") is None:
            index._apply(corpus_reads(corpus, lexicon), [])
            index._set("complete", "1")
        return index

    def switch_to(self) -> None:
        """Make this generation the one every process of its corpus folder opens."""
        home = self.folder.parent
        tmp = home / f".CURRENT-{os.getpid()}"
        tmp.write_text(self.folder.name)
        os.replace(tmp, home / "CURRENT")
        _prune(home, self.folder)

    def is_current(self) -> bool:
        return _current(self.folder.parent) == self.folder.name

    def close(self) -> None:
        self.db.close()

    # --- incremental sync ---------------------------------------------------------------------

    def sync(self, directory: Path, progress: Progress | None = None) -> Changes:
        """Bring the generation up to date with ``directory``: index new and changed files,
        drop removed ones. One process at a time per generation (a file lock)."""
        with _locked(self.folder / ".sync.lock"):
            self.engine.reload()
            known = dict(self.db.execute("SELECT path, sig FROM files"))
            changes = sync_files(directory, known, self.lexicons, self._apply, progress)
            if changes:
                self._set("complete", "1")
            return changes

    def _apply(self, reads: list[_Read], removed_paths: list[str]) -> None:
        """Write one batch: removed files and re-read files leave, read files enter."""
        db = self.db
        paths = removed_paths + [r.rel for r in reads]
        leaving = _ids_of(db, paths)
        entering = admit(reads, self._owners([r.article.id for r in reads if r.article], paths))
        rows = numbered(entering, self._reserve(sum(len(r.passages or ()) for r in entering)))
        docs = [IndexedPassage(pid, article_id, p.terms) for pid, article_id, p in rows]
        ids = leaving | {r.article.id for r in entering if r.article}
        self.engine.write(sorted(ids), docs)
        with self.commit_lock, db:
            sources = _sources_of(db, sorted(leaving)) | {
                r.article.duplicate_of or r.article.id for r in entering if r.article
            }
            _delete_articles(db, sorted(leaving))
            db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in removed_paths])
            db.executemany(
                "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?)", _article_rows(entering)
            )
            db.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?)", _passage_rows(rows))
            db.executemany("INSERT INTO claims VALUES (?,?,?,?,?,?,?,?)", _claim_rows(rows))
            db.executemany("INSERT INTO votes VALUES (?,?,?,?,?,?,?)", _vote_rows(entering))
            _recount(db, sorted(sources))
            db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?)",
                [
                    (
                        r.rel,
                        r.sig,
                        r.article.id if r.article else None,
                        r.problem.line if r.problem else None,
                        r.problem.message if r.problem else None,
                    )
                    for r in reads
                ],
            )
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('changed_at', ?)",
                (datetime.now(UTC).isoformat(),),
            )
            self.engine.reload()

    def _owners(self, ids: list[str], paths: list[str]) -> dict[str, str]:
        """Which file holds each of ``ids`` among the files that this batch does not touch."""
        touched = set(paths)
        rows = _rows_in(self.db, "SELECT id, path FROM articles WHERE id IN ({marks})", ids)
        return {aid: path for aid, path in rows if path not in touched}

    def _reserve(self, count: int) -> int:
        """Pids are never reused, even after a crash between the two commits."""
        with self.db:
            first = int(self._get("next_pid") or 0)
            self._set("next_pid", str(first + count))
        return first

    # --- reading ------------------------------------------------------------------------------

    def _get(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
        return row[0] if row else None

    def _set(self, name: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    @property
    def changed_at(self) -> datetime | None:
        value = self._get("changed_at")
        return datetime.fromisoformat(value) if value else None

    @property
    def state(self) -> str:
        """Names this state of the index: changes with every sync that changed something."""
        value = f"{self.folder.name}:{self._get('next_pid')}:{self._get('changed_at')}"
        return hashlib.sha256(value.encode()).hexdigest()[:16]

    def counts(self) -> tuple[int, int]:
        articles = self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        passages = self.db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        return articles, passages

    def problems(self) -> list[Problem]:
        rows = self.db.execute(
            "SELECT path, line, problem FROM files WHERE problem IS NOT NULL ORDER BY path"
        )
        return [Problem(path, line, message) for path, line, message in rows]

    def article(self, article_id: str) -> ArticleInfo | None:
        return self.articles_by_id([article_id]).get(article_id)

    def articles_by_id(self, ids: Iterable[str]) -> dict[str, ArticleInfo]:
        rows = _rows_in(self.db, _ARTICLE + " WHERE id IN ({marks})", sorted(set(ids)))
        return {row[0]: _article_info(row) for row in rows}

    def articles(
        self, *, limit: int | None = None, ingested: tuple[str, str] | None = None
    ) -> list[ArticleInfo]:
        """Newest first; ``ingested`` = (after, up to) ISO times keeps those ingested then."""
        sql, args = _ARTICLE, []
        if ingested:
            sql += " WHERE ingested > ? AND ingested <= ?"
            args += list(ingested)
        sql += " ORDER BY published IS NULL, published DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_article_info(row) for row in self.db.execute(sql, args)]

    def passages(self, pids: Iterable[int]) -> dict[int, Passage]:
        """The passages of these pids that exist (a pid from a crashed batch has none)."""
        rows = _rows_in(self.db, "SELECT * FROM passages WHERE pid IN ({marks})", pids)
        return {
            pid: Passage(article_id, start, end, text, set(actors.split()), set(speakers.split()))
            for pid, article_id, start, end, text, actors, speakers in rows
        }

    def indexed_passages(self) -> Iterator[IndexedPassage]:
        """Every passage as the engines see it: what the reference engine is built from."""
        rows = self.db.execute("SELECT pid, article_id, text FROM passages ORDER BY pid")
        for pid, article_id, text in rows:
            yield IndexedPassage(pid, article_id, search_tokens(text))

    def speakers_in(self, article_id: str) -> list[str]:
        rows = self.db.execute(
            "SELECT speakers FROM passages WHERE article_id = ? ORDER BY pid", (article_id,)
        )
        return [s for (speakers,) in rows for s in speakers.split()]

    def claims(
        self, actor_id: str, topic: str, limit: int, stance: str | None = None
    ) -> list[tuple[int, Claim]]:
        """The pair's claims (of one ``stance``, or all), strongest first, then the most
        recently indexed."""
        only = "AND stance = ?" if stance else ""
        rows = self.db.execute(
            "SELECT pid, actor_id, topic, stance, strength, cue, speaker FROM claims "
            f"WHERE actor_id = ? AND topic = ? {only} ORDER BY strength DESC, pid DESC LIMIT ?",
            (actor_id, topic, *([stance] if stance else []), limit),
        )
        return [(pid, Claim(*rest)) for pid, *rest in rows]

    def tallies(
        self, pair: tuple[str, str] | None = None, exclude: Iterable[str] = ()
    ) -> list[Tally]:
        """The votes summed per actor × topic × stance (one pair, or all for the board);
        ``exclude`` leaves articles out (then the votes per source are counted afresh)."""
        where, args = [], []
        if pair:
            where.append("actor_id = ? AND topic = ?")
            args += list(pair)
        excluded = sorted(exclude)
        if excluded:
            marks = ",".join("?" * len(excluded))
            votes = BEST_PER_SOURCE.format(where=f"v.article_id NOT IN ({marks})")
            args = excluded + args
        else:
            votes = "SELECT * FROM source_votes"
        sql = TALLY.format(votes=votes, where=f"WHERE {' AND '.join(where)}" if where else "")
        return [
            Tally(a, t, s, w, n, date.fromisoformat(p) if p else None, m)
            for a, t, s, w, n, p, m in self.db.execute(sql, args)
        ]


# --- helpers ------------------------------------------------------------------------------------

_ARTICLE = (
    "SELECT id, title, title_added_by_desk, outlet, url, published, ingested, duplicate_of,"
    " words FROM articles"
)


def utc_text(moment: datetime) -> str:
    """One fixed-width UTC form, so that text order is time order in SQL."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _article_info(row: tuple[Any, ...]) -> ArticleInfo:
    aid, title, desk, outlet, url, published, ingested, duplicate_of, words = row
    return ArticleInfo(
        id=aid,
        title=title,
        title_added_by_desk=bool(desk),
        outlet=outlet,
        url=url,
        published=published,
        ingested=ingested,
        duplicate_of=duplicate_of,
        words=words,
    )


def _article_rows(reads: list[_Read]) -> Iterator[tuple[Any, ...]]:
    for r in reads:
        a = r.article
        assert a is not None
        yield (
            a.id,
            r.rel,
            a.title,
            int(a.title_added_by_desk),
            a.outlet,
            a.url,
            a.published.isoformat() if a.published else None,
            # Stored in UTC so that text order is time order for the digest's window.
            utc_text(a.ingested) if a.ingested else None,
            a.duplicate_of,
            r.words,
        )


def numbered(entering: list[_Read], first: int) -> list[tuple[int, str, Passage]]:
    """The passages of a batch's entering articles as (pid, article id, passage), their pids
    from ``first`` on."""
    pids = itertools.count(first)
    rows: list[tuple[int, str, Passage]] = []
    for r in entering:
        assert r.article is not None and r.passages is not None
        rows += [(next(pids), r.article.id, p) for p in r.passages]
    return rows


def _passage_rows(rows: list[tuple[int, str, Passage]]) -> Iterator[tuple[Any, ...]]:
    for pid, article_id, p in rows:
        yield (
            pid,
            article_id,
            p.start,
            p.end,
            p.text,
            " ".join(sorted(p.actors)),
            " ".join(sorted(p.speakers)),
        )


def _claim_rows(rows: list[tuple[int, str, Passage]]) -> Iterator[tuple[Any, ...]]:
    for pid, article_id, p in rows:
        for c in p.claims:
            yield (pid, article_id, c.actor_id, c.topic, c.stance, c.strength, c.cue, c.speaker)


def _vote_rows(reads: list[_Read]) -> Iterator[tuple[Any, ...]]:
    for r in reads:
        assert r.article is not None and r.passages is not None
        a = r.article
        published = a.published.isoformat() if a.published else None
        source = a.duplicate_of or a.id
        for (actor_id, topic), best in votes_of(r.passages).items():
            yield (a.id, source, actor_id, topic, best.stance, best.strength, published)


def _sources_of(db: sqlite3.Connection, ids: list[str]) -> set[str]:
    rows = _rows_in(db, "SELECT source FROM votes WHERE article_id IN ({marks})", ids)
    return {source for (source,) in rows}


def _recount(db: sqlite3.Connection, sources: list[str]) -> None:
    """The one vote per source of every source this batch touched."""
    for chunk in _chunks(sources):
        marks = ",".join("?" * len(chunk))
        db.execute(f"DELETE FROM source_votes WHERE source IN ({marks})", chunk)
        best = BEST_PER_SOURCE.format(where=f"v.source IN ({marks})")
        db.execute(f"INSERT INTO source_votes {best}", chunk)


def _ids_of(db: sqlite3.Connection, paths: list[str]) -> set[str]:
    sql = "SELECT article_id FROM files WHERE path IN ({marks}) AND article_id IS NOT NULL"
    return {aid for (aid,) in _rows_in(db, sql, paths)}


def _delete_articles(db: sqlite3.Connection, ids: list[str]) -> None:
    for table, column in (
        ("articles", "id"),
        ("passages", "article_id"),
        ("claims", "article_id"),
        ("votes", "article_id"),
    ):  # source_votes: recounted by the caller
        db.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(i,) for i in ids])


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    # SQLite bounds the parameters of one statement.
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _rows_in(db: sqlite3.Connection, sql: str, items: Iterable[Any]) -> Iterator[Any]:
    """The rows of ``sql``, whose ``IN ({marks})`` takes ``items``, a chunk at a time."""
    for chunk in _chunks(list(items)):
        yield from db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


def _connect(path: Path) -> sqlite3.Connection:
    # Answers run one at a time under the core's lock, so one connection serves all threads.
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA mmap_size=1073741824")
    db.executescript(SCHEMA)
    db.isolation_level = ""  # `with db:` is one transaction
    return db


def folder_key(directory: Path) -> str:
    """Names one corpus folder in every engine's index home."""
    return hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:12]


def generations_of(directory: Path, data_dir: Path) -> Path:
    """The index home of one corpus folder: several folders may share a data folder."""
    return data_dir / "index" / f"{folder_key(directory)}-v{FORMAT}"


def _current(home: Path) -> str | None:
    try:
        return (home / "CURRENT").read_text().strip() or None
    except FileNotFoundError:
        return None


def _meta(folder: Path) -> str | None:
    """The lexicon fingerprint a generation was built with, without opening it for writing."""
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{folder / 'store.sqlite'}?mode=ro", uri=True)
        ) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'lexicons'").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _prune(home: Path, current: Path) -> None:
    """Keep the newest generations; a process still reading an older one keeps its open files
    (they are only unlinked)."""
    built = sorted(
        (p for p in home.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in built[KEEP:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
