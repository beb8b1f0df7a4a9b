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
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import feedparser
import trafilatura
import yaml
from datasketch import MinHash, MinHashLSH
from pydantic import ValidationError

from bot.corpus import ArticleFileError, Corpus, CorpusError, _FrontMatter, parse_article
from bot.models import Article
from bot.text import fold

NEAR_DUPLICATE = 0.8  # estimated Jaccard similarity of word 5-shingles
MAX_BYTES = 5_000_000
TIMEOUT_S = 15
FEED_TYPES = ("rss", "atom", "xml")


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
    """Adds articles to one corpus folder; knows what it holds so nothing is added twice."""

    def __init__(
        self,
        corpus: Corpus,
        *,
        fetch: Fetch = http_fetch,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.folder = corpus.directory / "articles"
        self.fetch = fetch
        self.now = now
        self.ids = {a.id for a in corpus.articles}
        self.urls = {_norm_url(a.url): a.id for a in corpus.articles if a.url}
        self.hashes = {_digest(a.body): a.id for a in corpus.articles}
        self.lsh = MinHashLSH(threshold=NEAR_DUPLICATE, num_perm=128)
        self.minhashes: dict[str, MinHash] = {}
        for a in corpus.articles:
            self._remember_shape(a.duplicate_of or a.id, a.body, a.id)

    def ingest(self, sources: Iterable[str]) -> IngestReport:
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

    def _url(self, url: str) -> IngestReport:
        known = self.urls.get(_norm_url(url))
        if known:
            return IngestReport(skipped=[(url, f"already in the corpus as {known}")])
        try:
            page = self.fetch(url)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return IngestReport(failed=[(url, f"unreachable: {_reason(exc)}")])
        if _is_feed(page):
            return self._feed(page)
        return self._candidates(iter([_from_html(page.body, page.url, url)]))

    def _feed(self, page: Fetched) -> IngestReport:
        parsed = feedparser.parse(page.body)
        report = IngestReport()
        if parsed.bozo:  # still take the entries that could be read
            report.failed.append((page.url, f"malformed feed: {parsed.bozo_exception}"))
        for entry in parsed.entries:
            link = entry.get("link")
            if not link:
                if not parsed.bozo:
                    report.failed.append((f"{page.url} {entry.get('title', '?')!r}", "no link"))
                continue
            report.merge(self._url(link))
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
        same = self.hashes.get(_digest(article.body))
        if same:
            return IngestReport(skipped=[(source, f"same text as {same}")])
        article = article.model_copy(
            update={
                "id": self._new_id(article),
                "ingested": self.now(),
                "duplicate_of": self._near_duplicate(article.body),
            }
        )
        write_article(self.folder, article)
        self.ids.add(article.id)
        self.hashes[_digest(article.body)] = article.id
        if article.url:
            self.urls[_norm_url(article.url)] = article.id
        self._remember_shape(article.duplicate_of or article.id, article.body, article.id)
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

    def _near_duplicate(self, body: str) -> str | None:
        found = self.lsh.query(_minhash(body))
        return min(found) if found else None

    def _remember_shape(self, group: str, body: str, article_id: str) -> None:
        if article_id in self.minhashes:
            return
        mh = _minhash(body)
        self.minhashes[article_id] = mh
        if group == article_id:  # only a group's first copy is a key; copies point at it
            self.lsh.insert(article_id, mh)


@contextmanager
def ingesting(corpus_dir: Path) -> Iterator[None]:
    """One ingest at a time per corpus folder, across processes (a feed CronJob and
    /ukraine add): the second waits, then reads the folder with the first one's articles in
    it, so the same URL is never written twice."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    with (corpus_dir / ".ingest.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


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
    if any(t in page.content_type for t in FEED_TYPES):
        return True
    head = page.body[:500].lstrip().lower()
    return head.startswith((b"<?xml", b"<rss", b"<feed"))


def _norm_url(url: str) -> str:
    return re.sub(r"[#?].*$", "", url.strip()).rstrip("/").lower()


def _digest(body: str) -> str:
    return hashlib.sha256(" ".join(body.split()).encode()).hexdigest()


def _minhash(body: str) -> MinHash:
    words = re.findall(r"\w+", fold(body))
    mh = MinHash(num_perm=128)
    for i in range(max(1, len(words) - 4)):
        mh.update(" ".join(words[i : i + 5]).encode())
    return mh


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
