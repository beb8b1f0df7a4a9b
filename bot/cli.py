"""``newsbot``: the command line over the same core the Slack app uses."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console

from bot import render
from bot.core import Newsbot
from bot.corpus import CorpusError
from bot.errors import EmptyQuery, NewsbotError
from bot.models import AskAnswer, Board, SearchAnswer, SourcesAnswer, StanceAnswer
from bot.settings import SettingsError, load_settings

EXAMPLES = """examples:
  newsbot stance Poland
  newsbot stance Meloni --topic troops --json
  newsbot search "€30 billion defence"
  newsbot ask "What did Meloni say about sending troops?"
  newsbot sources
  newsbot board
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
    s.add_argument("-k", type=int, default=10)
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("ask", help="a free question: stance where clear, else passages")
    s.add_argument("question", nargs="+")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("sources", help="the articles in the corpus, newest first")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("board", help="every actor × topic at a glance")
    s.add_argument("--json", action="store_true")

    sub.add_parser("serve", help="run the Slack app (settings from the environment)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    err = Console(stderr=True)
    try:
        settings = load_settings()
        corpus_dir = args.corpus or settings.corpus_dir
        data_dir = args.data_dir or settings.data_dir
        if args.command == "serve":
            from bot.serve import serve  # Slack and the server load only when serving

            serve(settings.model_copy(update={"corpus_dir": corpus_dir, "data_dir": data_dir}))
            return 0
        bot = Newsbot.open(corpus_dir, data_dir)
        for problem in bot.problems:
            err.print(f"skipped {problem}", markup=False, highlight=False, soft_wrap=True)
        return _answer(bot, args, Console())
    except EmptyQuery:
        err.print("The query is empty.\n", markup=False)
        parser.print_usage(sys.stderr)
        return 2
    except (NewsbotError, CorpusError, SettingsError) as exc:
        # One line, never wrapped: it names what to fix.
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        return 2


def _answer(bot: Newsbot, args: argparse.Namespace, out: Console) -> int:
    labels = {t: bot.topic_label(t) for t in bot.lexicon.topics}
    answer: BaseModel
    match args.command:
        case "stance":
            answer = bot.stance(args.actor, args.topic)
        case "search":
            answer = bot.search(" ".join(args.query), k=args.k)
        case "ask":
            answer = bot.ask(" ".join(args.question))
        case "sources":
            answer = bot.sources()
        case _:
            answer = bot.board()
    if args.json:
        # Plain print: rich would wrap long lines and break the JSON.
        print(answer.model_dump_json(indent=2))
        return 0
    match answer:
        case StanceAnswer():
            render.stance(answer, labels, out)
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
