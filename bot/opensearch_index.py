"""The index in OpenSearch: the same generations, annotations and answers as ``bot.index``, kept
in a cluster that several replicas share (``NEWSBOT_ENGINE=opensearch``).

Reading and annotating are ``bot.index``'s (``sync_files``, ``read_batches``): an article is
annotated once, when it enters, and what is stored is the same. A generation is six indices,
``{home}-{lexicons}-{stamp}-{kind}``::

    passages  the BM25 terms of ``search_tokens`` (whitespace analyzer, BM25 k1=1.2 b=0.75, as
              tantivy), the text, and keyword fields: article, actors, speakers
    claims    one document per claim: actor, topic, stance, strength, cue, speaker
    votes     one per article × actor × topic (its strongest claim), with its source (the
              duplicate group's root) and ``best``: whether it is its source's strongest vote
    articles  the articles' metadata; files: the ledger of what was read (or why not); meta

Stance and board are aggregations on the cluster over ``best`` votes (terms by actor, topic
and stance; sum and max of strength, max of the source's day); the per-source choice is made
when votes are written, for the groups a batch touches. The aliases ``{home}-{kind}`` name the
current generation: ``switch_to`` moves all six in one atomic ``_aliases`` call.

The indices refresh only when newsbot says (``refresh_interval: -1``): a batch becomes
visible whole, under the core's answer lock, or not at all. Its ledger entries are written
after its documents, so a crash in between leaves the old signatures and the next sync redoes
the articles, deleting by article id what was written.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from opensearchpy import ConflictError, NotFoundError, OpenSearch, helpers

from bot import index as shared
from bot.corpus import Corpus, Problem, lexicon_fingerprint, load_lexicons
from bot.index import (
    FORMAT,
    KEEP,
    Changes,
    IndexedPassage,
    Progress,
    Tally,
    _article_rows,
    _passage_rows,
    _Read,
    admit,
    corpus_reads,
    folder_key,
    numbered,
    sync_files,
    votes_of,
)
from bot.lexicon import Lexicon
from bot.models import ArticleInfo
from bot.settings import Settings, secret
from bot.stance import Claim, Passage
from bot.text import search_tokens

KINDS = ("passages", "claims", "votes", "articles", "files", "meta")
CHUNK = 500  # documents per bulk request: small enough for any cluster's request limits
IDS = 1000  # ids per lookup or delete request
LEASE_S = 900.0  # a sync lock whose holder died frees itself after this

_KEYWORD = {"type": "keyword"}
_STORED = {"type": "keyword", "index": False, "doc_values": False}
_INT = {"type": "integer"}

MAPPINGS: dict[str, dict[str, Any]] = {
    "passages": {
        "pid": {"type": "long"},
        "article": _KEYWORD,
        "start": {"type": "integer", "index": False},
        "end": {"type": "integer", "index": False},
        "text": {"type": "text", "index": False},
        # Terms as ``search_tokens`` made them (stemmed, stopwords out): the analyzer only
        # splits on spaces, so both engines rank the same terms.
        "terms": {
            "type": "text",
            "analyzer": "newsbot_terms",
            "similarity": "newsbot_bm25",
            "index_options": "freqs",
        },
        "actors": _KEYWORD,
        "speakers": _KEYWORD,
    },
    "claims": {
        "pid": {"type": "long"},
        "seq": _INT,  # the claim's order in the batch: ties keep the text's order
        "article": _KEYWORD,
        "actor": _KEYWORD,
        "topic": _KEYWORD,
        "stance": _KEYWORD,
        "strength": _INT,
        "cue": _STORED,
        "speaker": _STORED,
    },
    "votes": {
        "article": _KEYWORD,
        "actor": _KEYWORD,
        "topic": _KEYWORD,
        "stance": _KEYWORD,
        "strength": _INT,
        "duplicate_of": _KEYWORD,
        "own_day": _INT,  # the article's own publication day, yyyymmdd
        "source": _KEYWORD,  # the duplicate group's root when it is in the index, else itself
        "day": _INT,  # the source's publication day: integers aggregate on any cluster
        "best": {"type": "boolean"},
    },
    "articles": {
        "id": _KEYWORD,
        "path": _KEYWORD,
        "title": _STORED,
        "title_added_by_desk": {"type": "boolean", "index": False},
        "outlet": _STORED,
        "url": _STORED,
        "published": _KEYWORD,  # ISO date: text order is time order
        "ingested": _KEYWORD,  # ``utc_text``: fixed width, so ranges compare as text
        "duplicate_of": _STORED,
        "words": {"type": "integer", "index": False},
    },
    "files": {
        "path": _KEYWORD,
        "sig": _STORED,
        "article_id": _KEYWORD,
        "line": {"type": "integer", "index": False},
        "problem": _KEYWORD,
    },
    "meta": {"value": _STORED},
}

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,  # a newsroom's archive is millions of passages: one shard holds it
    "refresh_interval": "-1",  # batches become visible by newsbot's refresh, whole
    "similarity": {"newsbot_bm25": {"type": "BM25", "k1": 1.2, "b": 0.75}},
    "analysis": {"analyzer": {"newsbot_terms": {"type": "custom", "tokenizer": "whitespace"}}},
}


def connect(settings: Settings) -> OpenSearch:
    """A client for ``OPENSEARCH_URL``; credentials from the URL or OPENSEARCH_USER/PASSWORD."""
    settings.check_engine()
    url = secret(settings.opensearch_url)
    assert url is not None
    auth = None
    if settings.opensearch_user:
        auth = (settings.opensearch_user, secret(settings.opensearch_password) or "")
    return OpenSearch(
        hosts=[url],
        http_auth=auth,
        verify_certs=settings.opensearch_verify_certs,
        ssl_show_warn=settings.opensearch_verify_certs,
        timeout=60,
        # A node that restarts or a 429 under load: the client retries, then says so.
        max_retries=3,
        retry_on_timeout=True,
        retry_on_status=(429, 502, 503, 504),
    )


def home_of(directory: Path, settings: Settings) -> str:
    """The index names of one corpus folder start with this; several folders share a cluster."""
    return f"{settings.opensearch_index_prefix}-{folder_key(directory)}-v{FORMAT}"


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day(published: str | None) -> int | None:
    return int(published.replace("-", "")) if published else None


def _date(day: float | None) -> date | None:
    if day is None:
        return None
    n = int(day)
    return date(n // 10000, n // 100 % 100, n % 100)


def _doc_id(path: str) -> str:
    # Paths can be longer than an _id may be (512 bytes).
    return hashlib.sha256(path.encode()).hexdigest()


def _vote_id(article_id: str, actor_id: str, topic: str) -> str:
    return f"{article_id}|{actor_id}|{topic}"


def _rank(vote: Mapping[str, Any]) -> tuple[int, bool, str]:
    """A source's vote: the strongest; at equal strength a caveat qualifies a yes; then the
    copy first in id order (the embedded engine's ``TALLY``)."""
    return (-vote["strength"], vote["stance"] == "support", vote["article"])


class OpenSearchEngine:
    """BM25 over the passages index: ``bot.retrieval.Retriever``."""

    def __init__(self, client: OpenSearch, index: str) -> None:
        self._client = client
        self._index = index

    def search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        should = [{"term": {"terms": t}} for t in dict.fromkeys(terms)]
        if not should:
            return []
        body = {
            "size": k,
            "_source": False,
            "track_scores": True,
            "query": {"bool": {"should": should}},
            "sort": [{"_score": "desc"}, {"pid": "asc"}],
        }
        hits = self._client.search(index=self._index, body=body)["hits"]["hits"]
        return [(int(h["_id"]), float(h["_score"] or 0.0)) for h in hits]


class OpenSearchIndex:
    """``bot.index.PassageIndex``'s members, on a cluster."""

    def __init__(
        self, client: OpenSearch, home: str, generation: str, lexicons: dict[str, Any]
    ) -> None:
        self.client = client
        self.home = home
        self.folder = generation  # names the generation, as PassageIndex.folder does
        self.lexicons = lexicons
        self.lexicon = Lexicon.from_data(lexicons)
        self.engine = OpenSearchEngine(client, self._name("passages"))
        # Held while a batch becomes visible (the refresh): see PassageIndex.commit_lock.
        self.commit_lock: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()

    def _name(self, kind: str) -> str:
        return f"{self.folder}-{kind}"

    # --- opening ------------------------------------------------------------------------------

    @classmethod
    def for_folder(
        cls,
        directory: Path,
        data_dir: Path | None = None,
        *,
        fresh: bool = False,
        settings: Settings | None = None,
    ) -> OpenSearchIndex:
        """The current generation of ``directory``'s index (``data_dir`` is unused: the
        cluster holds it), created empty when the lexicons changed or ``fresh`` asks."""
        settings = settings or Settings()
        client = connect(settings)
        lexicons = load_lexicons(directory)
        home = home_of(directory, settings)
        wanted = lexicon_fingerprint(lexicons)
        current = _current(client, home)
        if fresh or current is None or _meta(client, current, "lexicons") != wanted:
            stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
            current = f"{home}-{wanted}-{stamp}"
            _create(client, current)
        index = cls(client, home, current, lexicons)
        index._set("lexicons", wanted)
        return index

    @classmethod
    def open_or_build(
        cls,
        corpus: Corpus,
        lexicon: Lexicon,
        data_dir: Path | None = None,
        *,
        settings: Settings | None = None,
    ) -> OpenSearchIndex:
        """An index of an in-memory corpus (tests, the evaluation harness): built once per
        corpus state, then reopened."""
        settings = settings or Settings()
        client = connect(settings)
        home = f"{settings.opensearch_index_prefix}-mem-{corpus.fingerprint}-v{FORMAT}"
        generation = f"{home}-0"
        if _meta(client, generation, "lexicons") is None:
            _create(client, generation)
        index = cls(client, home, generation, corpus.lexicons)
        if index._get("complete") is None:
            reads = corpus_reads(corpus, lexicon)
            index._set("lexicons", lexicon_fingerprint(corpus.lexicons))
            index._apply(reads, [])
            index._set("complete", "1")
        return index

    def switch_to(self) -> None:
        """Make this generation the one every process of its corpus folder opens: the six
        aliases move in one atomic call; then older generations beyond ``KEEP`` go."""
        actions: list[dict[str, Any]] = []
        for kind in KINDS:
            alias = f"{self.home}-{kind}"
            for name in _aliased(self.client, alias):
                actions.append({"remove": {"index": name, "alias": alias}})
            actions.append({"add": {"index": self._name(kind), "alias": alias}})
        self.client.indices.update_aliases(body={"actions": actions})
        for old in generations(self.client, self.home)[:-KEEP]:
            if old != self.folder:
                drop(self.client, old)

    def is_current(self) -> bool:
        return _current(self.client, self.home) == self.folder

    def close(self) -> None:
        """The client is shared with nothing else; its connections close with it."""
        self.client.close()

    # --- incremental sync ---------------------------------------------------------------------

    def sync(self, directory: Path, progress: Progress | None = None) -> Changes:
        """Bring the generation up to date with ``directory``; one process at a time per
        generation, across replicas (a lease in the meta index)."""
        with self._locked():
            # What a crashed batch wrote becomes visible, so that its redo deletes it.
            self._refresh()
            known = {
                d["_source"]["path"]: d["_source"]["sig"]
                for d in self._scan("files", {"match_all": {}}, ["path", "sig"])
            }
            changes = sync_files(directory, known, self.lexicons, self._apply, progress)
            if changes:
                self._set("complete", "1")
            return changes

    def _apply(self, reads: list[_Read], removed_paths: list[str]) -> None:
        """Write one batch: removed files and re-read files leave, read files enter."""
        paths = removed_paths + [r.rel for r in reads]
        leaving = self._ids_of(paths)
        entering = admit(reads, self._owners([r.article.id for r in reads if r.article], paths))
        ids = leaving | {r.article.id for r in entering if r.article}
        votes = self._votes(entering, ids)
        first = self._reserve(sum(len(r.passages or ()) for r in entering))
        for kind in ("passages", "claims", "votes", "articles"):
            self._delete_articles(kind, sorted(ids))
        self._bulk(self._documents(entering, first, votes))
        ledger: list[dict[str, Any]] = [
            {"_op_type": "delete", "_index": self._name("files"), "_id": _doc_id(p)}
            for p in removed_paths
        ]
        ledger += [
            {
                "_index": self._name("files"),
                "_id": _doc_id(r.rel),
                "path": r.rel,
                "sig": r.sig,
                "article_id": r.article.id if r.article else None,
                "line": r.problem.line if r.problem else None,
                "problem": r.problem.message if r.problem else None,
            }
            for r in reads
        ]
        ledger.append(self._meta_doc("changed_at", datetime.now(UTC).isoformat()))
        self._bulk(ledger)
        with self.commit_lock:
            self._refresh()

    def _documents(
        self, entering: list[_Read], first: int, votes: list[dict[str, Any]]
    ) -> Iterator[dict[str, Any]]:
        """The batch's documents, passages first (like tantivy's commit before SQLite's)."""
        rows = numbered(entering, first)
        index = self._name("passages")
        for (pid, article_id, start, end, text, actors, speakers), (_, _, p) in zip(
            _passage_rows(rows), rows, strict=True
        ):
            yield {
                "_index": index,
                "_id": str(pid),
                "pid": pid,
                "article": article_id,
                "start": start,
                "end": end,
                "text": text,
                "terms": " ".join(p.terms),
                "actors": actors.split(),
                "speakers": speakers.split(),
            }
        index = self._name("claims")
        # Looked up at call time, so that a test can make the process die here.
        claim_rows = shared._claim_rows(rows)
        for seq, (pid, article_id, actor, topic, stance, strength, cue, speaker) in enumerate(
            claim_rows
        ):
            yield {
                "_index": index,
                "_id": f"{pid}-{seq}",
                "pid": pid,
                "seq": seq,
                "article": article_id,
                "actor": actor,
                "topic": topic,
                "stance": stance,
                "strength": strength,
                "cue": cue,
                "speaker": speaker,
            }
        yield from votes
        index = self._name("articles")
        for aid, path, title, desk, outlet, url, published, ingested, dup, words in _article_rows(
            entering
        ):
            yield {
                "_index": index,
                "_id": aid,
                "id": aid,
                "path": path,
                "title": title,
                "title_added_by_desk": bool(desk),
                "outlet": outlet,
                "url": url,
                "published": published,
                "ingested": ingested,
                "duplicate_of": dup,
                "words": words,
            }

    def _votes(self, entering: list[_Read], ids: set[str]) -> list[dict[str, Any]]:
        """The vote documents to write: the batch's own, and what it changes in the others.
        A vote's source is the article its article copies (``duplicate_of``), else itself; its
        day is the source article's publication when that is in the index, else its own. Of a
        source's votes on an actor × topic one is ``best``: decided again for the sources
        whose votes enter or leave."""
        index = self._name("votes")
        articles = {r.article.id: r.article for r in entering if r.article}
        # Votes whose source enters or leaves (its copies that stay): their day may change.
        copies = [
            d["_source"] | {"_id": d["_id"]}
            for d in self._scan(
                "votes",
                {
                    "bool": {
                        "filter": [{"terms": {"source": sorted(ids)}}],
                        "must_not": [{"terms": {"article": sorted(ids)}}],
                    }
                },
            )
        ]
        sources = {a.duplicate_of or a.id for a in articles.values()}
        stored = {
            d["_id"]: d["_source"].get("published")
            for d in self._search_ids("articles", sorted(sources - ids), ["published"])
        }
        days = {aid: _day(published) for aid, published in stored.items()}
        days |= {aid: _day(_iso(a.published)) for aid, a in articles.items()}

        def dated(vote: dict[str, Any]) -> dict[str, Any]:
            return vote | {"day": days.get(vote["source"]) or vote["own_day"]}

        new: list[dict[str, Any]] = []
        for r in entering:
            assert r.article is not None and r.passages is not None
            for (actor, topic), best in votes_of(r.passages).items():
                new.append(
                    dated(
                        {
                            "_id": _vote_id(r.article.id, actor, topic),
                            "article": r.article.id,
                            "actor": actor,
                            "topic": topic,
                            "stance": best.stance,
                            "strength": best.strength,
                            "source": r.article.duplicate_of or r.article.id,
                            "own_day": _day(_iso(r.article.published)),
                            "best": False,
                        }
                    )
                )
        redated = {d["_id"]: dated(d) for d in copies}
        old = self._scan("votes", {"terms": {"article": sorted(ids)}}, ["source"])
        touched = {v["source"] for v in new} | {d["_source"]["source"] for d in old}
        members: dict[str, dict[str, Any]] = {}
        for d in self._scan(
            "votes",
            {
                "bool": {
                    "filter": [{"terms": {"source": sorted(touched)}}],
                    "must_not": [{"terms": {"article": sorted(ids)}}],
                }
            },
        ):
            members[d["_id"]] = d["_source"] | {"_id": d["_id"]}
        members |= {v["_id"]: v for v in new}
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for v in members.values():
            groups.setdefault((v["actor"], v["topic"], v["source"]), []).append(v)
        best = {min(group, key=_rank)["_id"] for group in groups.values()}
        out = [{"_index": index, **v, "best": v["_id"] in best} for v in new]
        fresh = {v["_id"] for v in new}
        for vid in sorted((set(members) - fresh) | set(redated)):
            v = members.get(vid) or redated[vid]
            flag = vid in best if vid in members else v["best"]
            day = redated[vid]["day"] if vid in redated else v["day"]
            if flag != v["best"] or day != v["day"]:
                doc = {"best": flag, "day": day}
                out.append({"_op_type": "update", "_index": index, "_id": vid, "doc": doc})
        return out

    def _ids_of(self, paths: list[str]) -> set[str]:
        docs = self._search_ids("files", [_doc_id(p) for p in paths], ["article_id"])
        return {d["_source"]["article_id"] for d in docs if d["_source"].get("article_id")}

    def _owners(self, ids: list[str], paths: list[str]) -> dict[str, str]:
        """Which file holds each of ``ids`` among the files that this batch does not touch."""
        touched = set(paths)
        docs = self._search_ids("articles", ids, ["path"])
        return {d["_id"]: d["_source"]["path"] for d in docs if d["_source"]["path"] not in touched}

    def _reserve(self, count: int) -> int:
        """Pids are never reused, even after a crash before the ledger was written."""
        first = int(self._get("next_pid") or 0)
        self._set("next_pid", str(first + count))
        return first

    def _delete_articles(self, kind: str, ids: list[str]) -> None:
        for i in range(0, len(ids), IDS):
            self.client.delete_by_query(
                index=self._name(kind),
                body={
                    "query": {
                        "terms": {"article" if kind != "articles" else "id": ids[i : i + IDS]}
                    }
                },
                conflicts="proceed",
                refresh=False,
            )

    def _bulk(self, actions: Iterable[dict[str, Any]]) -> None:
        """Bulk writes; a 429 (the cluster pushing back) is retried with growing pauses."""
        for ok, item in helpers.streaming_bulk(
            self.client,
            actions,
            chunk_size=CHUNK,
            max_chunk_bytes=10 * 1024 * 1024,
            max_retries=5,
            initial_backoff=1,
            max_backoff=30,
            raise_on_error=False,
        ):
            if not ok:
                raise RuntimeError(f"OpenSearch refused a document: {item}")

    def _refresh(self) -> None:
        self.client.indices.refresh(index=",".join(self._name(k) for k in KINDS))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """A lease: the document ``lock`` in the meta index, created only if absent."""
        meta = self._name("meta")
        while True:
            try:
                self.client.create(
                    index=meta, id="lock", body={"value": str(time.time() + LEASE_S)}
                )
                break
            except ConflictError:
                with contextlib.suppress(NotFoundError, ConflictError):
                    held = self.client.get(index=meta, id="lock")
                    if float(held["_source"]["value"]) < time.time():  # its holder died
                        self.client.delete(
                            index=meta,
                            id="lock",
                            if_seq_no=held["_seq_no"],
                            if_primary_term=held["_primary_term"],
                        )
                        continue
                time.sleep(0.2)
        try:
            yield
        finally:
            with contextlib.suppress(NotFoundError):
                self.client.delete(index=meta, id="lock")

    # --- reading ------------------------------------------------------------------------------

    def _meta_doc(self, name: str, value: str) -> dict[str, Any]:
        return {"_index": self._name("meta"), "_id": name, "value": value}

    def _get(self, name: str, *, realtime: bool = True) -> str | None:
        """A meta value as last written, or (not ``realtime``) as of the last refresh."""
        return _meta(self.client, self.folder, name, realtime=realtime)

    def _set(self, name: str, value: str) -> None:
        self.client.index(index=self._name("meta"), id=name, body={"value": value})

    def _search_ids(
        self, kind: str, ids: list[str], fields: list[str] | bool
    ) -> Iterator[dict[str, Any]]:
        """Documents by _id as of the last refresh (a GET would read unrefreshed writes)."""
        for i in range(0, len(ids), IDS):
            chunk = ids[i : i + IDS]
            body = {"size": len(chunk), "_source": fields, "query": {"ids": {"values": chunk}}}
            yield from self.client.search(index=self._name(kind), body=body)["hits"]["hits"]

    def _scan(
        self,
        kind: str,
        query: dict[str, Any],
        fields: list[str] | bool = True,
        sort: list[Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        body: dict[str, Any] = {"query": query, "_source": fields}
        if sort:
            body["sort"] = sort
        return helpers.scan(
            self.client,
            index=self._name(kind),
            query=body,
            size=1000,
            preserve_order=bool(sort),
            clear_scroll=True,
        )

    @property
    def changed_at(self) -> datetime | None:
        value = self._get("changed_at", realtime=False)
        return datetime.fromisoformat(value) if value else None

    @property
    def state(self) -> str:
        """Names this state of the index: changes with every sync that changed something."""
        value = ":".join(
            [self.folder, *(self._get(n, realtime=False) or "" for n in ("next_pid", "changed_at"))]
        )
        return hashlib.sha256(value.encode()).hexdigest()[:16]

    def counts(self) -> tuple[int, int]:
        articles = self.client.count(index=self._name("articles"))["count"]
        passages = self.client.count(index=self._name("passages"))["count"]
        return articles, passages

    def problems(self) -> list[Problem]:
        docs = self._scan(
            "files", {"exists": {"field": "problem"}}, ["path", "line", "problem"], ["path"]
        )
        return [
            Problem(d["_source"]["path"], d["_source"].get("line"), d["_source"]["problem"])
            for d in docs
        ]

    def article(self, article_id: str) -> ArticleInfo | None:
        for d in self._search_ids("articles", [article_id], True):
            return ArticleInfo(**_article_fields(d["_source"]))
        return None

    def articles_by_id(self, ids: Iterable[str]) -> dict[str, ArticleInfo]:
        docs = self._search_ids("articles", sorted(set(ids)), True)
        return {d["_source"]["id"]: ArticleInfo(**_article_fields(d["_source"])) for d in docs}

    def articles(
        self, *, limit: int | None = None, ingested: tuple[str, str] | None = None
    ) -> list[ArticleInfo]:
        """Newest first; ``ingested`` = (after, up to) ISO times keeps those ingested then."""
        query: dict[str, Any] = {"match_all": {}}
        if ingested:
            query = {"range": {"ingested": {"gt": ingested[0], "lte": ingested[1]}}}
        sort = [{"published": {"order": "desc", "missing": "_last"}}, {"id": "desc"}]
        if limit is not None and limit <= 10_000:  # the default result window
            body = {"size": limit, "query": query, "sort": sort}
            docs = self.client.search(index=self._name("articles"), body=body)["hits"]["hits"]
        else:
            docs = list(self._scan("articles", query, True, sort))[:limit]
        return [ArticleInfo(**_article_fields(d["_source"])) for d in docs]

    def passages(self, pids: Iterable[int]) -> dict[int, Passage]:
        """The passages of these pids that exist (a pid from a crashed batch has none)."""
        fields = ["article", "start", "end", "text", "actors", "speakers"]
        out: dict[int, Passage] = {}
        for d in self._search_ids("passages", [str(p) for p in dict.fromkeys(pids)], fields):
            s = d["_source"]
            out[int(d["_id"])] = Passage(
                s["article"], s["start"], s["end"], s["text"], set(s["actors"]), set(s["speakers"])
            )
        return out

    def indexed_passages(self) -> Iterator[IndexedPassage]:
        """Every passage as the engines see it: what the reference engine is built from."""
        for d in self._scan(
            "passages", {"match_all": {}}, ["pid", "article", "text"], [{"pid": "asc"}]
        ):
            s = d["_source"]
            yield IndexedPassage(s["pid"], s["article"], search_tokens(s["text"]))

    def speakers_in(self, article_id: str) -> list[str]:
        docs = self._scan(
            "passages", {"term": {"article": article_id}}, ["speakers"], [{"pid": "asc"}]
        )
        return [s for d in docs for s in d["_source"]["speakers"]]

    def claims(
        self, actor_id: str, topic: str, limit: int, stance: str | None = None
    ) -> list[tuple[int, Claim]]:
        """The pair's claims (of one ``stance``, or all), strongest first, then the most
        recently indexed."""
        only = [{"term": {"actor": actor_id}}, {"term": {"topic": topic}}]
        if stance:
            only.append({"term": {"stance": stance}})
        body = {
            "size": limit,
            "query": {"bool": {"filter": only}},
            "sort": [{"strength": "desc"}, {"pid": "desc"}, {"seq": "asc"}],
        }
        hits = self.client.search(index=self._name("claims"), body=body)["hits"]["hits"]
        return [
            (
                h["_source"]["pid"],
                Claim(
                    actor_id,
                    topic,
                    h["_source"]["stance"],
                    h["_source"]["strength"],
                    h["_source"]["cue"],
                    h["_source"].get("speaker"),
                ),
            )
            for h in hits
        ]

    def tallies(
        self, pair: tuple[str, str] | None = None, exclude: Iterable[str] = ()
    ) -> list[Tally]:
        """The votes summed per actor × topic × stance (one pair, or all for the board), in
        one aggregation over each source's best vote; ``exclude`` leaves articles out."""
        only: list[dict[str, Any]] = []
        if pair:
            only += [{"term": {"actor": pair[0]}}, {"term": {"topic": pair[1]}}]
        excluded = sorted(exclude)
        counted: dict[str, Any] = {
            "bool": {"filter": [*only, {"term": {"best": True}}]},
        }
        if excluded:
            counted = self._without(only, excluded)
        stances = {
            "terms": {"field": "stance", "size": 4},
            "aggs": {
                "weight": {"sum": {"field": "strength"}},
                "newest": {"max": {"field": "day"}},
                "strongest": {"max": {"field": "strength"}},
            },
        }
        body = {
            "size": 0,
            "query": counted,
            "aggs": {
                "actor": {
                    "terms": {"field": "actor", "size": max(1, len(self.lexicon.actors))},
                    "aggs": {
                        "topic": {
                            "terms": {"field": "topic", "size": max(1, len(self.lexicon.topics))},
                            "aggs": {"stance": stances},
                        }
                    },
                }
            },
        }
        result = self.client.search(index=self._name("votes"), body=body)["aggregations"]
        return [
            Tally(
                a["key"],
                t["key"],
                s["key"],
                int(s["weight"]["value"] or 0),
                s["doc_count"],
                _date(s["newest"]["value"]),
                int(s["strongest"]["value"] or 0),
            )
            for a in result["actor"]["buckets"]
            for t in a["topic"]["buckets"]
            for s in t["stance"]["buckets"]
        ]

    def _without(self, only: list[dict[str, Any]], excluded: list[str]) -> dict[str, Any]:
        """The votes that count when ``excluded`` articles are left out: the best votes not
        excluded, plus, for a source whose best vote was, its strongest remaining one (read
        here: the digest excludes one day's articles, a few groups)."""
        hit = list(
            self._scan(
                "votes",
                {
                    "bool": {
                        "filter": [
                            *only,
                            {"term": {"best": True}},
                            {"terms": {"article": excluded}},
                        ]
                    }
                },
                ["actor", "topic", "source"],
            )
        )
        groups = {
            (d["_source"]["actor"], d["_source"]["topic"], d["_source"]["source"]) for d in hit
        }
        standing: dict[tuple[str, str, str], dict[str, Any]] = {}
        if groups:
            for d in self._scan(
                "votes",
                {
                    "bool": {
                        "filter": [*only, {"terms": {"source": sorted({g[2] for g in groups})}}],
                        "must_not": [{"terms": {"article": excluded}}],
                    }
                },
            ):
                v = d["_source"] | {"_id": d["_id"]}
                group = (v["actor"], v["topic"], v["source"])
                if group in groups and (group not in standing or _rank(v) < _rank(standing[group])):
                    standing[group] = v
        kept = {
            "bool": {
                "filter": [{"term": {"best": True}}],
                "must_not": [{"terms": {"article": excluded}}],
            }
        }
        either: list[dict[str, Any]] = [kept]
        if standing:
            either.append({"ids": {"values": sorted(v["_id"] for v in standing.values())}})
        return {"bool": {"filter": only, "should": either, "minimum_should_match": 1}}


def _article_fields(source: dict[str, Any]) -> dict[str, Any]:
    fields = ("id", "title", "title_added_by_desk", "outlet", "url", "published", "ingested")
    return {f: source.get(f) for f in (*fields, "duplicate_of", "words")}


def _create(client: OpenSearch, generation: str) -> None:
    for kind in KINDS:
        settings = dict(SETTINGS)
        if kind != "passages":  # only passages are searched by terms
            settings = {k: v for k, v in settings.items() if k not in ("similarity", "analysis")}
        body = {
            "settings": settings,
            "mappings": {"dynamic": "strict", "properties": MAPPINGS[kind]},
        }
        client.indices.create(index=f"{generation}-{kind}", body=body)


def _meta(client: OpenSearch, generation: str, name: str, *, realtime: bool = True) -> str | None:
    try:
        doc = client.get(index=f"{generation}-meta", id=name, realtime=realtime)
    except NotFoundError:  # no such value, or no such generation
        return None
    return doc["_source"]["value"]


def _aliased(client: OpenSearch, alias: str) -> list[str]:
    try:
        return list(client.indices.get_alias(name=alias))
    except NotFoundError:
        return []


def _current(client: OpenSearch, home: str) -> str | None:
    names = _aliased(client, f"{home}-meta")
    return names[0].removesuffix("-meta") if names else None


def generations(client: OpenSearch, home: str) -> list[str]:
    """The generations of one home, oldest first (their names end with their creation time)."""
    try:
        names = client.indices.get(index=f"{home}-*-meta")
    except NotFoundError:
        return []
    found = [n.removesuffix("-meta") for n in names if n.endswith("-meta")]
    return sorted(found, key=lambda g: g.rsplit("-", 1)[-1])


def drop(client: OpenSearch, generation: str) -> None:
    """Delete a generation's indices, by name (clusters may refuse wildcard deletes)."""
    for kind in KINDS:
        with contextlib.suppress(NotFoundError):
            client.indices.delete(index=f"{generation}-{kind}")
