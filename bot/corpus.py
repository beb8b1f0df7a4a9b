"""Loading the corpus folder: article files and the lexicons (actors, topics, cues).

An article file is Markdown with a YAML front-matter block (see docs/corpus-format.md). Loading is
strict: a file with a problem is reported by name and line and skipped whole, never half-loaded;
the other files load.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError, field_validator

from bot.models import Article, ArticleMeta

LEXICON_FILES = ("actors.yaml", "topics.yaml", "cues.yaml")
# Every article's front matter is YAML: libyaml's safe loader parses it ~10x faster than the
# pure-Python one, where PyYAML was built with it.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def shipped_corpus_dir() -> Path:
    """The embedded corpus: packaged inside the wheel, or the checkout's ``corpus/``."""
    packaged = Path(__file__).parent / "_corpus"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "corpus"


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class CorpusError(Exception):
    """A lexicon file is unusable: without it no answer can be trusted, so this is fatal."""


class _FrontMatter(ArticleMeta, extra="forbid"):
    """The front matter as written: nothing else is allowed, and each field is checked."""

    @field_validator("id")
    @classmethod
    def _id_is_a_name(cls, v: str) -> str:
        if not v or any(c.isspace() or c in "/\\" for c in v):
            raise ValueError("id must be a non-empty name without spaces or slashes")
        return v

    @field_validator("ingested")
    @classmethod
    def _aware(cls, v: dt.datetime | None) -> dt.datetime | None:
        # Digests compare ingest times; a time without a zone is taken as UTC.
        return v.replace(tzinfo=dt.UTC) if v is not None and v.tzinfo is None else v

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, v: str | None) -> str | None:
        # Links in answers are built only from these, so anything else is refused here.
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return v


class ArticleFileError(Exception):
    def __init__(self, path: str, line: int, message: str) -> None:
        self.problem = Problem(path, line, message)
        super().__init__(str(self.problem))


def parse_article(text: str, path: str) -> Article:
    """Parse one article file; raises ``ArticleFileError`` with the line of the problem."""
    if not text.startswith("---\n"):
        raise ArticleFileError(path, 1, "missing front matter: the file must start with '---'")
    end = text.find("\n---\n", 3)
    if end == -1:
        raise ArticleFileError(path, 1, "front matter is not closed by a '---' line")
    header, body = text[4 : end + 1], text[end + 5 :]
    try:
        meta = yaml.load(header, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        line, why = _yaml_problem(exc)
        raise ArticleFileError(path, line + 2, f"front matter is not valid YAML: {why}") from None
    if not isinstance(meta, dict):
        raise ArticleFileError(path, 2, "front matter must be a mapping of fields")
    try:
        fm = _FrontMatter.model_validate(meta)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else ""
        raise ArticleFileError(path, _field_line(header, name), f"{name}: {err['msg']}") from None
    if not body.strip():
        raise ArticleFileError(path, header.count("\n") + 3, "the article has no body text")
    return Article(**fm.model_dump(), body=body, path=path)


def _yaml_problem(exc: yaml.YAMLError) -> tuple[int, str]:
    """The 0-based line where the broken construct starts, and a one-line reason."""
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    why = " ".join(
        str(x) for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x
    )
    return (mark.line if mark else 0), (why or str(exc).splitlines()[0])


def _field_line(header: str, name: str) -> int:
    for i, line in enumerate(header.splitlines(), start=2):
        if line.startswith(f"{name}:"):
            return i
    return 2


@dataclass
class Corpus:
    directory: Path
    articles: list[Article]
    problems: list[Problem] = field(default_factory=list)
    lexicons: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def fingerprint(self) -> str:
        """Changes whenever an article or a lexicon changes, so a stale index is never used.
        Computed once: a Corpus is one state of the folder, read once."""
        h = hashlib.sha256()
        for a in sorted(self.articles, key=lambda a: a.id):
            h.update(a.model_dump_json(exclude={"path"}).encode())
        h.update(lexicon_fingerprint(self.lexicons).encode())
        return h.hexdigest()[:16]


def lexicon_fingerprint(lexicons: dict[str, Any]) -> str:
    """Changes whenever actors, topics or cues change: the index must then be rebuilt."""
    h = hashlib.sha256()
    for name in LEXICON_FILES:
        h.update(yaml.safe_dump(lexicons[name], sort_keys=True).encode())
    return h.hexdigest()[:16]


def load_lexicons(directory: Path) -> dict[str, Any]:
    """The folder's lexicons, else the shipped ones (a folder of articles alone is a corpus)."""
    if not directory.is_dir():
        raise CorpusError(f"{directory}: corpus folder not found")
    return {name: load_lexicon(directory, name) for name in LEXICON_FILES}


def load_corpus(directory: Path | None = None) -> Corpus:
    """Load every ``*.md`` article under ``directory`` and its lexicons.

    Lexicons come from the folder when it has them, else from the shipped corpus, so a folder of
    articles alone is a valid corpus.
    """
    directory = Path(directory) if directory else shipped_corpus_dir()
    if not directory.is_dir():
        raise CorpusError(f"{directory}: corpus folder not found")
    articles: list[Article] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.rglob("*.md")):
        rel = str(path.relative_to(directory))
        try:
            article = parse_article(path.read_text(encoding="utf-8"), rel)
        except UnicodeDecodeError as exc:
            problems.append(Problem(rel, None, f"not UTF-8 text ({exc.reason})"))
            continue
        except ArticleFileError as exc:
            problems.append(exc.problem)
            continue
        if article.id in seen:
            problems.append(
                Problem(rel, 2, f"id {article.id!r} is already used by {seen[article.id]}")
            )
            continue
        seen[article.id] = rel
        articles.append(article)
    return Corpus(directory, articles, problems, load_lexicons(directory))


def load_lexicon(directory: Path, name: str) -> Any:
    path = directory / name
    if not path.exists():
        path = shipped_corpus_dir() / name
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        line, why = _yaml_problem(exc)
        raise CorpusError(f"{path}:{line + 1}: not valid YAML: {why}") from exc
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror})") from exc
    if not isinstance(data, dict):
        raise CorpusError(f"{path}: expected a mapping at the top level")
    return data
