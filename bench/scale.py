"""How the embedded engine scales: a reproducible synthetic news corpus, then the figures.

    python bench/scale.py [ARTICLES ...]        # default: 1000 10000

For each size it writes a corpus of ~600-word articles (fixed seed; real actor names, topic
words and stance cues mixed into news-like sentences), then prints one table row: build
(articles/s), index size on disk, time to reopen, peak RSS, and p50/p95 for stance, search,
ask and board. It measures the engine as it is; the targets of the archive-scale issue are
far beyond it (see the closing line).
"""

from __future__ import annotations

import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import yaml

from bot import Newsbot
from bot.corpus import shipped_corpus_dir

TEMPLATES = [
    "{person} said {country} {cue} {topic_phrase}, {filler}.",
    "{country} {cue} {topic_phrase}, officials in {capital} said on {day}.",
    '"We {cue} {topic_phrase}," {person} told reporters after the meeting.',
    "Analysts in {capital} say the debate over {topic_phrase} will continue {filler}.",
    "The {adjective} talks in {capital} covered {topic_phrase} and {filler}.",
]
CUES = [
    "will not send",
    "is ready to back",
    "has ruled out",
    "is open to discussing",
    "would support, if a ceasefire holds,",
    "called for",
    "remains cautious about",
    "pledged to increase",
]
TOPIC_PHRASES = {
    "troops": ["sending troops to Ukraine", "a reassurance force", "peacekeepers on the ground"],
    "us_backstop": ["a US backstop", "American security guarantees", "US air support"],
    "defence_spending": ["defence spending", "military budgets", "spending 3% of GDP on defence"],
    "peace_talks": ["a seat at the peace talks", "the negotiating table", "peace negotiations"],
    "sanctions": ["sanctions on Russia", "the next sanctions package", "lifting sanctions"],
}
FILLERS = [
    "according to a statement",
    "amid growing pressure from allies",
    "as ministers prepared for the next summit",
    "while markets watched closely",
    "in a speech to parliament",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
ADJECTIVES = ["emergency", "lengthy", "closed-door", "informal", "tense"]


def generate(folder: Path, n: int, seed: int = 20250302) -> None:
    rng = random.Random(seed)
    actors = yaml.safe_load((shipped_corpus_dir() / "actors.yaml").read_text())["actors"]
    countries = [a for a in actors if a.get("kind") == "country" and a.get("people")]
    (folder / "articles").mkdir(parents=True)
    for i in range(n):
        sentences = []
        for _ in range(30):
            actor = rng.choice(countries)
            topic = rng.choice(list(TOPIC_PHRASES))
            sentences.append(
                rng.choice(TEMPLATES).format(
                    person=rng.choice(actor["people"])["name"],
                    country=actor["name"],
                    capital=rng.choice(actor["aliases"]),
                    cue=rng.choice(CUES),
                    topic_phrase=rng.choice(TOPIC_PHRASES[topic]),
                    filler=rng.choice(FILLERS),
                    day=rng.choice(DAYS),
                    adjective=rng.choice(ADJECTIVES),
                )
            )
        body = "\n".join(" ".join(sentences[j : j + 3]) for j in range(0, 30, 3))
        month, day = 1 + i % 12, 1 + i % 28
        (folder / "articles" / f"a{i:07d}.md").write_text(
            f"---\nid: a{i:07d}\ntitle: Synthetic report {i}\noutlet: Bench Wire\n"
            f"published: 2025-{month:02d}-{day:02d}\n---\n{body}\n"
        )
    for name in ("actors.yaml", "topics.yaml", "cues.yaml"):
        shutil.copy(shipped_corpus_dir() / name, folder / name)


def percentiles(calls: list[Callable[[], object]], rounds: int = 20) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        for call in calls:
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[18]


def measure(n: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        corpus, data = Path(tmp) / "corpus", Path(tmp) / "data"
        generate(corpus, n)
        start = time.perf_counter()
        Newsbot.open(corpus, data)
        build = time.perf_counter() - start
        start = time.perf_counter()
        bot = Newsbot.open(corpus, data)
        reopen = time.perf_counter() - start
        size = sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) / 1e6
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        figures = [
            percentiles([partial(bot.stance, "Poland"), partial(bot.stance, "France")], 5),
            percentiles([partial(bot.search, "US backstop guarantee")]),
            percentiles([partial(bot.ask, "What did Tusk say about troops?")], 5),
            percentiles([bot.board], 3),
        ]
        cells = " | ".join(f"{p50:.1f} / {p95:.1f}" for p50, p95 in figures)
        return f"| {n:,} | {n / build:.0f} | {size:.0f} | {reopen:.2f} | {rss:.0f} | {cells} |"


def main(sizes: list[int]) -> None:
    print(
        "| articles | build art/s | index MB | reopen s | peak RSS MB "
        "| stance p50/p95 ms | search | ask | board |"
    )
    print("|---:|---:|---:|---:|---:|---|---|---|---|")
    for n in sizes:
        print(measure(n), flush=True)
    print("\nTargets of the archive-scale issue: ingest ≥ 500 articles/s, stance p95 ≤ 50 ms at")
    print("100k and ≤ 250 ms at 1M, board ≤ 1 s at 1M, ready ≤ 2 s after restart at 1M.")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000])
