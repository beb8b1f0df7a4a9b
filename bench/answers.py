"""Answer latency of the core on a corpus (default: the shipped one), and time to open.

    python bench/answers.py [--corpus DIR] [--rounds N]

Prints one table: p50 / p95 / max in milliseconds for stance, search, ask and board over a
fixed question set, and how long opening an already built index takes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot import Newsbot

ACTORS = ["Poland", "Germany", "United Kingdom", "Italy", "Spain", "Denmark", "Netherlands"]
SEARCHES = ["backstop", "€30 billion", "coalition of the willing", "premature", "sanctions Russia"]
QUESTIONS = [
    "What did Meloni say about sending troops?",
    "Who called the troop debate premature?",
    "How much will Germany spend on defence?",
    "and Spain?",
]


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        Newsbot.open(args.corpus, tmp)
        built = time.perf_counter() - start
        start = time.perf_counter()
        bot = Newsbot.open(args.corpus, tmp)
        opened = time.perf_counter() - start
        kinds = {
            "stance": [lambda a=a: bot.stance(a) for a in ACTORS],
            "search": [lambda q=q: bot.search(q) for q in SEARCHES],
            "ask": [lambda q=q: bot.ask(q, actor="italy", topic="troops") for q in QUESTIONS],
            "board": [bot.board],
        }
        print(f"corpus: {bot.info().articles} articles, {bot.info().passages} passages")
        print(
            f"first open (builds the index): {built * 1000:.0f} ms; reopen: {opened * 1000:.0f} ms"
        )
        print("| answer | p50 ms | p95 ms | max ms |")
        print("|---|---:|---:|---:|")
        for kind, calls in kinds.items():
            times = [t for call in calls for t in timed(call, args.rounds)]
            p95 = statistics.quantiles(times, n=20)[18]
            print(f"| {kind} | {statistics.median(times):.2f} | {p95:.2f} | {max(times):.2f} |")


if __name__ == "__main__":
    main()
