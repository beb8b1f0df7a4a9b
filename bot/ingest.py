"""Adding articles to the corpus folder: from files, JSON exports, article URLs and feeds.

Each source is reported by name: added, skipped (a duplicate, with what it duplicates) or failed
(with the reason); one bad item never stops the others. An article becomes a file in the corpus
format, written to a temporary name and renamed, so a crash never leaves half an article. The
corpus folder stays the source of truth: the index follows it on the next refresh.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import socket
import sqlite3
import struct
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlsplit, urlunsplit

import datasketch
import feedparser
import trafilatura
import yaml
from datasketch import LeanMinHash, MinHash, MinHashLSH
from pydantic import ValidationError

from bot.corpus import ArticleFileError, Corpus, CorpusError, _FrontMatter, parse_article
from bot.models import Article
from bot.text import fold

NEAR_DUPLICATE = 0.8  # estimated Jaccard similarity of word 5-shingles
NUM_PERM = 128
# Bump when the shingling or hashing of `_minhash` changes: cached signatures are then recomputed.
SIGNATURES = f"minhash-1 shingles=5 num_perm={NUM_PERM} datasketch={datasketch.__version__}"
MAX_BYTES = 5_000_000
TIMEOUT_S = 15
# Exactly these types are feeds; any other (application/xhtml+xml too) is a page unless its
# first element is a feed's.
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)
FEED_ROOTS = frozenset({"rss", "feed", "rdf:rdf"})
# Query parameters that only say where a reader came from: never part of an article's URL.
TRACKING_PREFIXES = ("utm_",)
TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gclsrc",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ocid",
        "cmpid",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
    }
)
ARTICLE_MODE = 0o644  # before the umask: editors and a serve process of another user read it
STALE_PART_S = 3600  # a temporary file this old belongs to no running ingest


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    body: bytes


Fetch = Callable[[str], Fetched]


def http_fetch(url: str, *, public_only: bool = False) -> Fetched:
    """``public_only``: refuse a host (also one redirected to) that resolves to a private,
    loopback or link-local address, for URLs that anyone in the workspace may send."""
    if public_only:
        _refuse_private(url)
    opener = urllib.request.build_opener(*([_PublicRedirects()] if public_only else []))
    request = urllib.request.Request(url, headers={"User-Agent": "newsbot/0.1 (+ingest)"})
    with opener.open(request, timeout=TIMEOUT_S) as response:
        body = response.read(MAX_BYTES + 1)
        if len(body) > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES // 1_000_000} MB")
        return Fetched(response.geturl(), response.headers.get_content_type(), body)


def _refuse_private(url: str) -> None:
    host = urlparse(url).hostname
    if not host:
        raise ValueError("no host in the URL")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise urllib.error.URLError(exc.strerror) from None
    for address in addresses:
        if not ipaddress.ip_address(address).is_global:
            raise ValueError(f"{host} is not a public address ({address})")


class _PublicRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        _refuse_private(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass(frozen=True)
class Added:
    id: str
    title: str
    outlet: str | None
    published: dt.date | None
    url: str | None
    words: int
    duplicate_of: str | None
    source: str


@dataclass
class IngestReport:
    added: list[Added] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, why)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)

    def merge(self, other: IngestReport) -> None:
        self.added += other.added
        self.skipped += other.skipped
        self.failed += other.failed


class Ingestor:
    """Adds articles to one corpus folder; knows what it holds so nothing is added twice.

    ``data_dir``, where given, keeps each article's MinHash signature, keyed by id and a hash
    of its body, so a run hashes only new and changed articles; without it every run hashes
    the whole corpus."""

    def __init__(
        self,
        corpus: Corpus,
        *,
        data_dir: Path | None = None,
        fetch: Fetch = http_fetch,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.folder = corpus.directory / "articles"
        self.fetch = fetch
        self.now = now
        self.ids = {a.id for a in corpus.articles}
        self.urls = {_norm_url(a.url): a.id for a in corpus.articles if a.url}
        self.groups = {a.id: a.duplicate_of or a.id for a in corpus.articles}
        # The same text, by which outlets: a copy from another outlet or URL is added, a repeat
        # is not.
        self.texts: dict[str, list[Article]] = {}
        digests = {}
        for a in corpus.articles:
            digests[a.id] = _digest(a.body)
            self.texts.setdefault(digests[a.id], []).append(a)
        self.signatures = SignatureCache.of(corpus.directory, data_dir)
        # Only the first article of a group is a key of the LSH (copies point at it), so only
        # those need a signature.
        keys = {a.id: a for a in corpus.articles if not a.duplicate_of}
        cached = self.signatures.load({i: digests[i] for i in keys}) if self.signatures else {}
        fresh = {i: _minhash(a.body) for i, a in keys.items() if i not in cached}
        if self.signatures:
            self.signatures.save({i: (digests[i], mh) for i, mh in fresh.items()})
        self.lsh = MinHashLSH(threshold=NEAR_DUPLICATE, num_perm=NUM_PERM)
        with self.lsh.insertion_session() as session:
            for article_id, mh in {**cached, **fresh}.items():
                session.insert(article_id, mh, check_duplication=False)

    def ingest(self, sources: Iterable[str]) -> IngestReport:
        sweep_partial(self.folder, older_than=STALE_PART_S)
        report = IngestReport()
        for source in sources:
            if re.match(r"https?://", source):
                report.merge(self._url(source))
            else:
                report.merge(self._path(Path(source)))
        return report

    # --- sources ---------------------------------------------------------------------------

    def _path(self, path: Path) -> IngestReport:
        if path.is_dir():
            report = IngestReport()
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in READERS:
                    report.merge(self._path(child))
            return report
        if not path.is_file():
            return IngestReport(failed=[(str(path), "no such file")])
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            kinds = ", ".join(sorted(READERS))
            return IngestReport(failed=[(str(path), f"unsupported file type (use {kinds})")])
        try:
            raw = path.read_bytes()
        except OSError as exc:
            return IngestReport(failed=[(str(path), exc.strerror or str(exc))])
        return self._candidates(reader(raw, str(path)))

    def _url(self, url: str, entry: Any = None) -> IngestReport:
        """``entry``: the feed entry that linked to ``url``, whose title and date stand in for
        what the page does not say."""
        known = self.urls.get(_norm_url(url))
        if known:
            return IngestReport(skipped=[(url, f"already in the corpus as {known}")])
        try:
            page = self.fetch(url)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return IngestReport(failed=[(url, f"unreachable: {_reason(exc)}")])
        if _is_feed(page):
            parsed = feedparser.parse(page.body)
            if parsed.entries or _root_tag(page.body) in FEED_ROOTS:
                return self._feed(page, parsed)
            # Served as XML but not a feed (an XHTML page, say): read it as a page, and if it
            # is not one either, say why it is no feed.
            item = _from_html(page.body, page.url, url)
            if isinstance(item, tuple):
                return self._feed(page, parsed)
            return self._candidates(iter([item]))
        item = _from_html(page.body, page.url, url)
        if entry is not None and not isinstance(item, tuple):
            item = _with_entry(item, entry)
        return self._candidates(iter([item]))

    def _feed(self, page: Fetched, parsed: Any) -> IngestReport:
        report = IngestReport()
        if parsed.bozo:  # still take the entries that could be read
            report.failed.append((page.url, f"malformed feed: {parsed.bozo_exception}"))
        for entry in parsed.entries:
            link = entry.get("link")
            if not link:
                if not parsed.bozo:
                    report.failed.append((f"{page.url} {entry.get('title', '?')!r}", "no link"))
                continue
            report.merge(self._url(link, entry))
        return report

    # --- candidates ------------------------------------------------------------------------

    def _candidates(self, items: Iterator[Article | tuple[str, str]]) -> IngestReport:
        report = IngestReport()
        for item in items:
            if isinstance(item, tuple):
                report.failed.append(item)
            else:
                report.merge(self._add(item))
        return report

    def _add(self, article: Article) -> IngestReport:
        source = article.path or article.url or article.id
        known = self.urls.get(_norm_url(article.url)) if article.url else None
        if known:
            return IngestReport(skipped=[(source, f"same URL as {known}")])
        digest = _digest(article.body)
        same = self.texts.get(digest, [])
        if same and _repeats(article, same):
            return IngestReport(skipped=[(source, f"same text as {same[0].id}")])
        mh = None
        if same:  # the same text from another outlet or URL: a copy, listed with its outlet
            duplicate_of: str | None = self.groups[same[0].id]
        else:
            mh = _minhash(article.body)
            found = self.lsh.query(mh)
            duplicate_of = min(found) if found else None
        article = article.model_copy(
            update={
                "id": self._new_id(article),
                "ingested": self.now(),
                "duplicate_of": duplicate_of,
            }
        )
        write_article(self.folder, article)
        self.ids.add(article.id)
        self.groups[article.id] = duplicate_of or article.id
        self.texts.setdefault(digest, []).append(article)
        if article.url:
            self.urls[_norm_url(article.url)] = article.id
        if mh is not None and duplicate_of is None:  # a new group: later copies find it
            self.lsh.insert(article.id, mh)
            if self.signatures:
                self.signatures.save({article.id: (digest, mh)})
        added = Added(
            article.id,
            article.title,
            article.outlet,
            article.published,
            article.url,
            len(article.body.split()),
            article.duplicate_of,
            source,
        )
        return IngestReport(added=[added])

    def _new_id(self, article: Article) -> str:
        """Readable and stable: date, outlet, headline words, and a short hash."""
        day = f"{article.published}" if article.published else f"{self.now():%Y-%m-%d}"
        words = re.findall(r"[a-z0-9]+", fold(f"{article.outlet or ''} {article.title}"))
        stem = "-".join([day, *words[:8]])[:80]
        tag = hashlib.sha1((article.url or article.body).encode()).hexdigest()[:8]
        new = f"{stem}-{tag}"
        n = 2
        while new in self.ids:
            new, n = f"{stem}-{tag}-{n}", n + 1
        return new


def _repeats(article: Article, same_text: list[Article]) -> bool:
    """True when ``article`` says nothing the articles with its text do not: no URL of its own
    (a known URL was skipped before) and no other outlet. Otherwise it is another outlet's
    copy of the story, which the stance view lists."""
    if article.url:
        return False
    outlets = {fold(a.outlet or "").strip() for a in same_text}
    return not article.outlet or fold(article.outlet).strip() in outlets


class SignatureCache:
    """Each article's MinHash signature, keyed by id and a hash of its body, in a small SQLite
    file in the data folder. A cache only: any trouble with it means hashing again, never a
    failed ingest."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.broken = False

    @classmethod
    def of(cls, corpus_dir: Path, data_dir: Path | None) -> SignatureCache | None:
        # No data folder, no cache: the caller decides where state lives, as Newsbot.open does.
        if data_dir is None:
            return None
        # Several corpus folders may share a data folder (as their indexes do).
        name = hashlib.sha256(str(corpus_dir.resolve()).encode()).hexdigest()[:12]
        return cls(Path(data_dir) / "ingest" / f"{name}-signatures.sqlite3")

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS signatures"
            " (id TEXT PRIMARY KEY, body TEXT NOT NULL, signature BLOB NOT NULL)"
        )
        return db

    def load(self, wanted: dict[str, str]) -> dict[str, LeanMinHash]:
        """The cached signatures of ``wanted`` (id -> body hash) whose body is unchanged; rows
        of articles no longer in the folder are dropped."""
        found: dict[str, LeanMinHash] = {}
        try:
            with closing(self._connect()) as db:
                db.execute("BEGIN IMMEDIATE")
                row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                if row is None or row[0] != SIGNATURES:  # hashed another way: start again
                    db.execute("DELETE FROM signatures")
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (SIGNATURES,))
                gone = []
                for article_id, body, blob in db.execute("SELECT * FROM signatures"):
                    if wanted.get(article_id) == body:
                        found[article_id] = LeanMinHash.deserialize(blob)
                    elif article_id not in wanted:
                        gone.append((article_id,))
                db.executemany("DELETE FROM signatures WHERE id = ?", gone)
                db.execute("COMMIT")
        except (sqlite3.Error, OSError, ValueError, struct.error) as exc:
            self._fail(exc)
            return {}
        return found

    def save(self, signatures: dict[str, tuple[str, MinHash | LeanMinHash]]) -> None:
        """Store id -> (body hash, signature)."""
        if not signatures or self.broken:
            return
        rows = []
        for article_id, (body, mh) in signatures.items():
            lean = mh if isinstance(mh, LeanMinHash) else LeanMinHash(mh)
            blob = bytearray(lean.bytesize())
            lean.serialize(blob)
            rows.append((article_id, body, bytes(blob)))
        try:
            with closing(self._connect()) as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO signatures VALUES (?, ?, ?)", rows)
                db.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        self.broken = True  # hash in memory for the rest of the run
        corrupt = isinstance(exc, ValueError | struct.error) or (
            isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)
        )
        if corrupt:  # not merely locked or read-only: the next run starts a new file
            with suppress(OSError):
                self.path.unlink(missing_ok=True)


@contextmanager
def ingesting(corpus_dir: Path) -> Iterator[None]:
    """One ingest at a time per corpus folder, across processes (a feed CronJob and
    /ukraine add): the second waits, then reads the folder with the first one's articles in
    it, so the same URL is never written twice. Holding the lock, it removes the temporary
    files a killed run left behind."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    with (corpus_dir / ".ingest.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            sweep_partial(corpus_dir / "articles")
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sweep_partial(folder: Path, *, older_than: float = 0) -> list[Path]:
    """Remove the ``.*.part`` files of article writes that never finished (a killed run): all
    of them under the ingest lock, else only those older than ``older_than`` seconds, which no
    running write can still own."""
    swept = []
    cutoff = time.time() - older_than
    for path in folder.glob(".*.part"):
        try:
            if older_than and path.stat().st_mtime > cutoff:
                continue
            path.unlink()
            swept.append(path)
        except FileNotFoundError:
            continue
    return swept


def write_article(folder: Path, article: Article) -> Path:
    """Write the corpus-format file atomically: a crash leaves either nothing or all of it."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = article.model_dump(
        mode="json", include=set(_FrontMatter.model_fields), exclude_none=True
    )
    meta.setdefault("title_added_by_desk", False)
    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    text = f"---\n{header}---\n{article.body}"
    target = folder / f"{article.id}.md"
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), ARTICLE_MODE & ~_umask())  # mkstemp's 0600 survives a rename
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, without changing it where Linux tells (other threads may be creating
    files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


# --- readers: bytes of one file -> articles, or (name, reason) for what cannot be read ------

Item = Article | tuple[str, str]


def _read_markdown(raw: bytes, name: str) -> Iterator[Item]:
    text = _decode(raw)
    if text is None:
        yield (name, "not UTF-8 text")
    elif text.startswith("---\n"):
        try:
            yield parse_article(text, name)
        except ArticleFileError as exc:
            yield (str(exc.problem.path), f"line {exc.problem.line}: {exc.problem.message}")
    else:
        yield from _read_text(raw, name)


def _read_text(raw: bytes, name: str) -> Iterator[Item]:
    text = _decode(raw)
    if text is None or not text.strip():
        yield (name, "not UTF-8 text" if text is None else "empty file")
        return
    first = text.strip().split("\n", 1)[0].lstrip("# ").strip()
    # A short first line without a full stop reads as the headline; otherwise the desk titles it.
    if len(first) <= 150 and not first.endswith("."):
        yield Article(id="new", title=first, body=text, path=name)
    else:
        words = first.split()
        title = " ".join(words[:10]) + ("…" if len(words) > 10 else "")
        yield Article(id="new", title=title, title_added_by_desk=True, body=text, path=name)


def _read_html(raw: bytes, name: str) -> Iterator[Item]:
    yield _from_html(raw, None, name)


def _read_json(raw: bytes, name: str) -> Iterator[Item]:
    text = _decode(raw)
    if text is None:
        yield (name, "not UTF-8 text")
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield (f"{name}:{exc.lineno}", f"not valid JSON: {exc.msg}")
        return
    for n, obj in enumerate(data if isinstance(data, list) else [data], start=1):
        yield _from_object(obj, f"{name}[{n}]")


def _read_jsonl(raw: bytes, name: str) -> Iterator[Item]:
    text = _decode(raw)
    if text is None:
        yield (name, "not UTF-8 text")
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield (f"{name}:{n}", f"not valid JSON: {exc.msg}")
            continue
        yield _from_object(obj, f"{name}:{n}")


READERS: dict[str, Callable[[bytes, str], Iterator[Item]]] = {
    ".md": _read_markdown,
    ".txt": _read_text,
    ".html": _read_html,
    ".htm": _read_html,
    ".json": _read_json,
    ".jsonl": _read_jsonl,
}


def _from_object(obj: Any, name: str) -> Item:
    if not isinstance(obj, dict):
        return (name, "expected an object with title and body")
    body = obj.get("body") or obj.get("text")
    if not isinstance(body, str) or not body.strip():
        return (name, "no body")
    meta = {k: obj.get(k) for k in ("title", "outlet", "url", "published")}
    meta["published"] = _date(meta["published"])
    try:
        fm = _FrontMatter.model_validate({"id": "new", **{k: v for k, v in meta.items() if v}})
    except ValidationError as exc:
        err = exc.errors()[0]
        return (name, f"{err['loc'][0] if err['loc'] else ''}: {err['msg']}")
    return Article(**fm.model_dump(), body=body, path=name)


def _from_html(raw: bytes, url: str | None, name: str) -> Item:
    html = raw.decode("utf-8", errors="replace")
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or len(text.split()) < 40:
        return (name, "no article text found on the page")
    title = getattr(doc, "title", None) or text.split("\n", 1)[0][:120]
    page_url = getattr(doc, "url", None) or url
    if page_url and not re.match(r"https?://", page_url):
        page_url = None
    return Article(
        id="new",
        title=title,
        title_added_by_desk=not getattr(doc, "title", None),
        outlet=getattr(doc, "sitename", None),
        url=page_url,
        published=_date(getattr(doc, "date", None)),
        body=text,
        path=name,
    )


# --- small helpers -----------------------------------------------------------------------


def _decode(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value):
        return dt.date.fromisoformat(value[:10])
    return None


def _is_feed(page: Fetched) -> bool:
    """A feed by its first element, else by a feed's content type (unless it is a page)."""
    root = _root_tag(page.body)
    if root in FEED_ROOTS:
        return True
    return page.content_type.lower() in FEED_TYPES and root != "html"


_PROLOGUE = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->|<!doctype[^>]*>)*", re.I | re.S)


def _root_tag(body: bytes) -> str | None:
    """The name of the first element (lowercased), past the XML declaration, comments and
    doctype: ``rss``, ``feed``, ``rdf:rdf``, ``html`` ..."""
    head = body[:4096].removeprefix(b"\xef\xbb\xbf")
    start = _PROLOGUE.match(head)
    found = re.match(rb"<([A-Za-z][\w:.-]*)", head[start.end() if start else 0 :])
    return found.group(1).decode("ascii").lower() if found else None


def _norm_url(url: str) -> str:
    """One spelling per article URL: the scheme and host lowercased, no fragment, no tracking
    parameters, the other parameters sorted, no trailing slash. The path and the query keep
    their case: ``a.php?id=1`` and ``a.php?id=2`` are two articles."""
    parts = urlsplit(url.strip())
    userinfo, _, host = parts.netloc.rpartition("@")
    netloc = f"{userinfo}@{host.lower()}" if userinfo else host.lower()
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _tracking(key)
    )
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), urlencode(query), ""))


def _tracking(key: str) -> bool:
    key = key.lower()
    return key in TRACKING or key.startswith(TRACKING_PREFIXES)


def _with_entry(article: Article, entry: Any) -> Article:
    """The feed entry's title and date where the page gave none."""
    update: dict[str, Any] = {}
    title = " ".join(str(entry.get("title") or "").split())
    if article.title_added_by_desk and title:
        update |= {"title": title, "title_added_by_desk": False}
    if article.published is None:
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        if stamp:
            update["published"] = dt.date(*stamp[:3])
    return article.model_copy(update=update) if update else article


def _digest(body: str) -> str:
    return hashlib.sha256(" ".join(body.split()).encode()).hexdigest()


def _minhash(body: str) -> LeanMinHash:
    words = re.findall(r"\w+", fold(body))
    mh = MinHash(num_perm=NUM_PERM)
    mh.update_batch([" ".join(words[i : i + 5]).encode() for i in range(max(1, len(words) - 4))])
    return LeanMinHash(mh)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def writable(corpus: Corpus, shipped: Path) -> None:
    """New articles go into a folder of the desk's own, never into the shipped corpus."""
    if corpus.directory.resolve() == shipped.resolve():
        raise CorpusError(
            "the shipped corpus is read-only: set --corpus DIR or NEWSBOT_CORPUS_DIR to a folder "
            "of your own (copy corpus/ there to start from the seed articles)"
        )
