"""``add URL``: one article from its link into the corpus folder, answerable seconds later.

The article becomes a file in the corpus folder (the source of truth an editor can read and
fix); the engine then re-reads the folder.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import TYPE_CHECKING

from bot.corpus import CorpusError, load_corpus, shipped_corpus_dir
from bot.settings import load_settings
from bot.slack_blocks import (
    compose,
    context,
    day,
    escape,
    inline,
    link,
    notice_message,
    pack_lines,
    plural,
)
from handlers.common import Query, Reply, log, user_error

if TYPE_CHECKING:
    from bot.ingest import Added, IngestReport
    from bot.state import StateStore

NAME = "add"
USAGE = (
    "add URL",
    "Adds an article to the corpus from its link; it is answerable seconds later.",
    "add https://www.example.com/world/denmark-troops",
)
# Slack sends a link as <https://…> or <https://…|label> when it formats the text.
_URL = re.compile(r"<?(https?://[^\s|<>]+)(?:\|[^>]*)?>?")
# One add at a time in this process, so that the same link sent twice is written once.
_ADDING = threading.Lock()


def answer(q: Query) -> Reply:
    match = _URL.fullmatch(q.args.strip())
    if not match:
        return user_error(
            NAME,
            f"Add what? Give one article's link, for example `{q.command} add "
            "https://www.example.com/world/denmark-troops`.",
        )
    url = match[1]
    # Loaded on the first add: trafilatura and datasketch take a second, `digest --post` none.
    from bot.ingest import Ingestor, http_fetch, ingesting, writable

    settings = q.settings or load_settings()
    # Anyone in the workspace may send a URL: by default only public hosts are fetched.
    fetch = (
        http_fetch
        if settings.allow_private_urls
        else functools.partial(http_fetch, public_only=True)
    )
    with _ADDING:
        corpus = load_corpus(q.newsbot.corpus_dir)
        try:
            writable(corpus, shipped_corpus_dir())
        except CorpusError:
            return user_error(
                NAME,
                "newsbot answers from its shipped corpus, which is read-only. To add articles, "
                "set NEWSBOT_CORPUS_DIR to a folder of the desk's own.",
            )
        with ingesting(corpus.directory):  # the feed CronJob may be ingesting too
            ingestor = Ingestor(
                load_corpus(corpus.directory), data_dir=settings.data_dir, fetch=fetch
            )
            report = ingestor.ingest([url])
        if q.state is not None:
            _record(q.state, report)
        if report.added:
            q.newsbot.refresh()
    if report.added:  # one article, or each article of a feed's link
        lines = [_added_line(a) for a in report.added]
        footer = [context(f"Answerable now: try `{q.command} sources`.")]
        message = compose("\n".join(lines), [], pack_lines(lines), footer, "article")
        return Reply(NAME, message, results=len(report.added))
    if report.skipped:
        _, why = report.skipped[0]
        return Reply(
            NAME,
            notice_message(f"Nothing added: {link(url, url)} is {escape(_already(why))}."),
            outcome="empty",
        )
    reasons = "; ".join(inline(reason, 300) for _, reason in report.failed[:3])
    return user_error(NAME, f"Could not add {link(url, url)}: {reasons}.")


def _record(state: StateStore, report: IngestReport) -> None:
    try:
        state.record_ingest(report)
    except Exception:  # the article is in the corpus: the ledger records, it does not decide
        log.exception("ingest_ledger_failed", sources=len(report.added) + len(report.failed))


def _added_line(a: Added) -> str:
    meta = [inline(a.outlet) if a.outlet else "outlet unknown", day(a.published) or "undated"]
    line = f"✅ Added {link(a.url, a.title)} — {' · '.join(meta)} · {plural(a.words, 'word')}"
    if a.duplicate_of:
        line += f" (a copy of `{inline(a.duplicate_of)}`: one source, not two)"
    return line


def _already(why: str) -> str:
    return why if why.startswith("already") else f"already in the corpus ({why})"
