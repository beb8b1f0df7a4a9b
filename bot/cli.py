"""``newsbot``: the command line over the same core the Slack app uses."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from bot import render
from bot.core import Newsbot, open_index
from bot.corpus import CorpusError, load_corpus, shipped_corpus_dir
from bot.digest import digest_of, due_day
from bot.errors import EmptyQuery, NewsbotError
from bot.models import AskAnswer, Board, SearchAnswer, SourcesAnswer, StanceAnswer
from bot.settings import Settings, SettingsError, channel_id, load_settings, secret

EXAMPLES = """examples:
  newsbot stance Poland
  newsbot stance Meloni --topic troops --json
  newsbot search "€30 billion defence"
  newsbot ask "What did Meloni say about sending troops?"
  newsbot sources --limit 20
  newsbot board
  newsbot reindex
  newsbot reindex --engine opensearch
  newsbot ingest notes.md export.jsonl https://example.com/article --corpus desk-corpus/
  newsbot ingest --feeds
  newsbot digest --dry-run
  newsbot digest --post --channel C0123456789
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="newsbot",
        description="Sourced stances and quotes from the article corpus.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--corpus", type=Path, help="corpus folder (env NEWSBOT_CORPUS_DIR)")
    p.add_argument("--data-dir", type=Path, help="index and state folder (env NEWSBOT_DATA_DIR)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("stance", help="where an actor stands, topic by topic")
    s.add_argument("actor")
    s.add_argument("--topic")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("search", help="the best passages for a query")
    s.add_argument("query", nargs="+")
    s.add_argument("-k", type=_positive, default=10, help="how many passages (default 10)")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("ask", help="a free question: stance where clear, else passages")
    s.add_argument("question", nargs="+")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("sources", help="the articles in the corpus, newest first")
    s.add_argument("--limit", type=_positive, default=100, help="at most this many (default 100)")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("board", help="every actor × topic at a glance")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("ingest", help="add articles to the corpus folder")
    s.add_argument(
        "sources",
        nargs="*",
        metavar="PATH_OR_URL",
        help="files (.md .txt .html), exports (.json .jsonl), folders, article or feed URLs",
    )
    s.add_argument("--feeds", action="store_true", help="poll the feeds of NEWSBOT_FEEDS too")

    s = sub.add_parser("digest", help="the daily digest: preview it, or post it to Slack once")
    s.add_argument("--channel", type=_channel, help="channel ID (env DIGEST_CHANNEL)")
    s.add_argument("--date", type=_date, help="YYYY-MM-DD (default: the latest due, in DIGEST_TZ)")
    mode = s.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print it, no Slack (the default)")
    mode.add_argument("--post", action="store_true", help="post it, once per channel and date")
    s.add_argument("--json", action="store_true", help="print it as JSON (not with --post)")

    s = sub.add_parser(
        "reindex",
        help="rebuild the index beside the one in use, then switch (after editing the lexicons)",
    )
    s.add_argument(
        "--engine",
        choices=["embedded", "opensearch"],
        help="build it in this engine (env NEWSBOT_ENGINE): opensearch migrates the corpus",
    )
    sub.add_parser("serve", help="run the Slack app (settings from the environment)")
    return p


def _channel(value: str) -> str:
    try:
        return channel_id(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {value!r}")
    return number


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a date as YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "ingest" and not args.sources and not args.feeds:
        parser.error("ingest needs PATH_OR_URL... or --feeds")
    if args.command == "digest" and args.post and args.json:
        parser.error("digest: --json prints a preview; it cannot be combined with --post")
    err = Console(stderr=True)
    try:
        settings = load_settings()
        corpus_dir = args.corpus or settings.corpus_dir
        data_dir = args.data_dir or settings.data_dir
        settings = settings.model_copy(update={"corpus_dir": corpus_dir, "data_dir": data_dir})
        if args.command == "serve":
            from bot.serve import serve  # Slack and the server load only when serving

            serve(settings)
            return 0
        if args.command == "ingest":
            return _ingest(settings, args, err)
        if args.command == "reindex":
            if args.engine:
                settings = settings.model_copy(update={"engine": args.engine})
            return _reindex(settings, err)
        with progress_bar(err, "indexing") as step:
            bot = Newsbot.open(corpus_dir, data_dir, progress=step)
        for problem in bot.problems:
            err.print(f"skipped {problem}", markup=False, highlight=False, soft_wrap=True)
        if args.command == "digest":
            return _digest(bot, settings, args)
        return _answer(bot, args, Console())
    except EmptyQuery:
        err.print("The query is empty.\n", markup=False)
        parser.print_usage(sys.stderr)
        return 2
    except (NewsbotError, CorpusError, SettingsError) as exc:
        # One line, never wrapped: it names what to fix.
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        return 2


def _ingest(settings: Settings, args: argparse.Namespace, err: Console) -> int:
    """One line per item: added and skipped on stdout, failed on stderr; exit 1 if any failed."""
    if args.feeds and not settings.feeds:
        raise SettingsError("NEWSBOT_FEEDS is empty: set it to the feed URLs, separated by commas")
    from bot.ingest import Ingestor, ingesting, writable  # trafilatura takes a second to load

    corpus = load_corpus(settings.corpus_dir)
    writable(corpus, shipped_corpus_dir())
    for problem in corpus.problems:
        err.print(f"skipped {problem}", markup=False, highlight=False, soft_wrap=True)
    feeds = settings.feeds if args.feeds else []
    from bot.state import StateStore

    with ingesting(corpus.directory):
        ingestor = Ingestor(load_corpus(corpus.directory), data_dir=settings.data_dir)
        report = ingestor.ingest([*args.sources, *feeds])
    # The ledger says what each run added, skipped or failed, for every replica to read.
    StateStore(settings.state_database()).record_ingest(report)
    for a in report.added:
        meta = ", ".join(m for m in (a.outlet, f"{a.published or ''}", f"{a.words} words") if m)
        copy = f"; a copy of {a.duplicate_of}" if a.duplicate_of else ""
        print(f"added {a.id}: {a.title} ({meta}{copy})")
    for source, why in report.skipped:
        print(f"skipped {source}: {why}")
    for source, reason in report.failed:
        print(f"failed {source}: {reason}", file=sys.stderr)
    print(f"{len(report.added)} added, {len(report.skipped)} skipped, {len(report.failed)} failed")
    if report.added:  # annotated and indexed now, once, not at question time
        with progress_bar(err, "indexing") as step:
            Newsbot.open(settings.corpus_dir, settings.data_dir, progress=step)
    return 1 if report.failed else 0


def _reindex(settings: Settings, err: Console) -> int:
    """A new index from every file, built while the current one keeps answering (a running
    ``newsbot serve`` switches to it at its next refresh). Built once: the first reindex into
    OpenSearch is the migration of the corpus."""
    folder = settings.corpus_dir or shipped_corpus_dir()
    index = open_index(settings, folder, settings.data_dir, fresh=True)
    with progress_bar(err, "reindexing") as step:
        index.sync(folder, step)
    index.switch_to()
    articles, passages = index.counts()
    for problem in index.problems():
        err.print(f"skipped {problem}", markup=False, highlight=False, soft_wrap=True)
    print(f"reindexed {articles:,} articles ({passages:,} passages) in {index.folder}")
    index.close()
    return 0


@contextlib.contextmanager
def progress_bar(err: Console, what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr for a long step; nothing when there is no terminal or nothing
    to do."""
    with Progress(
        f"[bold]{what}",
        BarColumn(),
        MofNCompleteColumn(),
        "articles",
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(what, total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield step


def _digest(bot: Newsbot, settings: Settings, args: argparse.Namespace) -> int:
    channel = args.channel or settings.digest_channel
    due = due_day(dt.datetime.now(dt.UTC), settings.digest_time, settings.tz)
    day = args.date or due
    if args.post:
        return _post(bot, settings, channel, day, due)
    # A preview reads the state (the period starts at the channel's last digest), never writes.
    from bot.state import StateStore  # SQLAlchemy loads only for the digest

    known = settings.state_url is not None or settings.state_file().exists()
    store = StateStore(settings.state_database()) if channel and known else None
    last = store.last_posted(channel, f"{day}") if store and channel else None
    digest, _ = digest_of(bot, day, settings.digest_time, settings.tz, last)
    if args.json:
        print(digest.model_dump_json(indent=2))
    else:
        render.digest(digest, {t: bot.topic_label(t) for t in bot.lexicon.topics}, Console())
    return 0


def _post(bot: Newsbot, settings: Settings, channel: str | None, day: dt.date, due: dt.date) -> int:
    if channel is None:
        raise SettingsError(
            "no channel to post to: pass --channel C0123456789 or set DIGEST_CHANNEL"
        )
    if settings.slack_bot_token is None:
        raise SettingsError("SLACK_BOT_TOKEN not set: newsbot digest --post needs the bot token")
    if day > due:
        raise SettingsError(
            f"the digest of {day} is not due yet (DIGEST_TIME {settings.digest_time:%H:%M}, "
            f"{settings.digest_tz}); --dry-run previews it"
        )
    # Slack loads only when posting.
    from slack_sdk.errors import SlackApiError

    from bot.app import create_web_client
    from bot.digest_post import DigestIncomplete, open_state, post_digest
    from bot.logs import configure_logging

    configure_logging(
        settings.log_level, settings.log_format, secrets=[secret(settings.slack_bot_token)]
    )
    client = create_web_client(settings)
    try:
        run = post_digest(settings, bot, client, open_state(settings), channel, day)
    except DigestIncomplete as exc:
        print(f"incomplete: {exc}", file=sys.stderr)
        return 1
    except SlackApiError as exc:
        print(
            f"not posted: Slack answered {exc.response.status_code} {exc.response.get('error')}; "
            "the claim is released, so running this again retries",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        print(
            f"not posted: Slack unreachable ({exc}); the claim is released, so running this "
            "again retries",
            file=sys.stderr,
        )
        return 1
    match run.outcome:
        case "posted":
            print(f"posted the digest of {day} to {channel}: {run.messages} messages, ts {run.ts}")
        case "quiet":
            print(f"quiet day: nothing posted to {channel} for {day} (DIGEST_QUIET=skip)")
        case "already_posted":
            what = f"ts {run.ts}" if run.ts else "a quiet day, nothing posted"
            print(f"already done: the digest of {day} in {channel} ({what})")
        case "claimed":
            print(
                f"not posted: another run is posting the digest of {day} in {channel}; if it "
                f"died, its claim expires after DIGEST_CLAIM_TIMEOUT_S="
                f"{settings.digest_claim_timeout_s:g} s"
            )
    return 0


def _answer(bot: Newsbot, args: argparse.Namespace, out: Console) -> int:
    labels = {t: bot.topic_label(t) for t in bot.lexicon.topics}
    # The renderer lists the asked topics without a position, so it must know which were asked.
    asked = [bot.topic(args.topic).id] if args.command == "stance" and args.topic else None
    answer: BaseModel
    match args.command:
        case "stance":
            answer = bot.stance(args.actor, args.topic)
        case "search":
            answer = bot.search(" ".join(args.query), k=args.k)
        case "ask":
            answer = bot.ask(" ".join(args.question))
        case "sources":
            answer = bot.sources(limit=args.limit)
        case _:
            answer = bot.board()
    if args.json:
        # Plain print: rich would wrap long lines and break the JSON.
        print(answer.model_dump_json(indent=2))
        return 0
    match answer:
        case StanceAnswer():
            render.stance(answer, labels, out, asked)
        case AskAnswer():
            render.ask(answer, labels, out)
        case SearchAnswer():
            render.search(answer, out)
        case SourcesAnswer():
            render.sources(answer, out)
        case Board():
            render.board(answer, labels, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
