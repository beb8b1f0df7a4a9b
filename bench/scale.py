"""How newsbot scales: a reproducible synthetic news corpus, then one table of figures.

    python bench/scale.py [ARTICLES ...]                  # default: 10000 100000
    python bench/scale.py 1000000 --no-reference --workdir /big/disk   # work on a roomier disk

For each size it writes a corpus of ~600-word articles (fixed seed: real actor and people names,
topic words and stance cues in a minority of sentences, news-like filler in the rest), indexes
it the way `newsbot` does on first start (that is the ingest figure: reading, annotating and
indexing, on every core), then measures a *fresh serving process*: time until it answers after
a restart, its peak RSS, and p50/p95/p99 of stance, search, ask and board over a fixed query
set. Up to 100k articles the same searches also run through rank-bm25 over the same passages.
These machines are noisy: compare ratios, not milliseconds.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import Newsbot  # noqa: E402
from bot.corpus import shipped_corpus_dir  # noqa: E402
from bot.retrieval import RankBM25Engine  # noqa: E402
from bot.text import search_tokens  # noqa: E402

SEED = 20250302
REFERENCE_UP_TO = 100_000  # rank-bm25 holds every passage as a Python dict: not beyond this
STANCE_ACTORS = ["Poland", "France", "Germany", "United Kingdom", "Italy"]
SEARCHES = [
    "US backstop security guarantee",
    "troops Ukraine peacekeeping force",
    "defence spending 3% of GDP",
    "seat at the peace talks",
    "sanctions on Russia energy",
]
QUESTIONS = [
    "What did Tusk say about troops?",
    "Where does Spain stand on sanctions?",
    "and Italy?",
]

STANCE = [
    "{person} said {country} {cue} {topic_phrase}, {filler}.",
    "{country} {cue} {topic_phrase}, officials in {capital} said on {day}.",
    '"We {cue} {topic_phrase}," {person} told reporters after the meeting.',
]
MENTION = [
    "{person} met ministers in {capital} on {day} {filler}.",
    "The {adjective} talks in {capital} covered {topic_phrase} and {filler}.",
    "Analysts in {capital} say the debate over {topic_phrase} will continue {filler}.",
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
# Filler vocabulary: the words of ordinary news copy, drawn with a skew like real text.
WORDS = """
market prices energy gas winter city council report police court school hospital weather
storm rail strike union workers wages inflation bank rates housing rent farmers harvest
exports factory jobs budget tax election poll voters campaign party leader minister
parliament debate reform law judge trial museum festival film music football club season
coach player match goal fans stadium airport flights passengers delays road traffic bridge
river flood fire rescue emergency services doctors nurses patients vaccine research
university students teachers exam results science climate emissions carbon solar wind
power grid water supply drought heat record temperature company profits shares investors
growth economy recession forecast survey data figures quarter year month week officials
residents community village town region province capital border coast island mountain
""".split()


def _filler(rng: random.Random) -> str:
    n = rng.randint(12, 22)
    words = [WORDS[min(int(rng.paretovariate(1.2)) - 1, len(WORDS) - 1)] for _ in range(n)]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def generate(folder: Path, n: int, progress: Progress) -> None:
    """``n`` articles of ~600 words: about one sentence in five names an actor, about one in
    ten takes a position. Reproducible: the same ``n`` gives the same files."""
    rng = random.Random(SEED)
    actors = yaml.safe_load((shipped_corpus_dir() / "actors.yaml").read_text())["actors"]
    countries = [a for a in actors if a.get("kind") == "country" and a.get("people")]
    (folder / "articles").mkdir(parents=True)
    task = progress.add_task("generating", total=n)
    for i in range(n):
        sentences = []
        while sum(len(s.split()) for s in sentences) < 600:
            roll = rng.random()
            if roll >= 0.2:
                sentences.append(_filler(rng))
                continue
            actor = rng.choice(countries)
            topic = rng.choice(list(TOPIC_PHRASES))
            template = rng.choice(STANCE if roll < 0.1 else MENTION)
            sentences.append(
                template.format(
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
        body = "\n\n".join(" ".join(sentences[j : j + 4]) for j in range(0, len(sentences), 4))
        month, day = 1 + i % 12, 1 + i % 28
        (folder / "articles" / f"a{i:07d}.md").write_text(
            f"---\nid: a{i:07d}\ntitle: Synthetic report {i}\noutlet: Bench Wire\n"
            f"published: 2025-{month:02d}-{day:02d}\n---\n{body}\n"
        )
        progress.advance(task)
    for name in ("actors.yaml", "topics.yaml", "cues.yaml"):
        shutil.copy(shipped_corpus_dir() / name, folder / name)


def percentiles(times: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(times, n=100)
    return statistics.median(times), cuts[94], cuts[98]


def timed(calls: list[Callable[[], object]], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for call in calls:
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
    return times


def probe(corpus: Path, data: Path) -> dict[str, object]:
    """Run in a fresh process: what a restarted server sees."""
    start = time.perf_counter()
    bot = Newsbot.open(corpus, data, sync=False)
    bot.stance("Poland")
    ready = time.perf_counter() - start
    start = time.perf_counter()
    bot.board()
    board_cold = (time.perf_counter() - start) * 1000
    figures = {
        "stance": timed([partial(bot.stance, a) for a in STANCE_ACTORS], 20),
        "search": timed([partial(bot.search, q) for q in SEARCHES], 40),
        "ask": timed([partial(bot.ask, q, "poland", "troops") for q in QUESTIONS], 20),
        "board": timed([bot.board], 100),
    }
    return {
        "ready_s": ready,
        "board_cold_ms": board_cold,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "articles": bot.info().articles,
        "passages": bot.info().passages,
        **{k: percentiles(v) for k, v in figures.items()},
    }


def reference_ratio(corpus: Path, data: Path, progress: Progress) -> tuple[float, float]:
    """The same searches through rank-bm25 over the same passages: its p50 and the ratio."""
    bot = Newsbot.open(corpus, data, sync=False)
    total = bot.info().passages
    task = progress.add_task("rank-bm25 reference", total=total)
    passages = []
    for p in bot.index.indexed_passages():
        passages.append(p)
        if len(passages) % 10_000 == 0:
            progress.update(task, completed=len(passages))
    reference = RankBM25Engine(passages)
    progress.update(task, completed=total)
    queries = [search_tokens(q, query=True) for q in SEARCHES]
    theirs = timed([partial(reference.search, q, 10) for q in queries], 2)
    ours = timed([partial(bot.index.engine.search, q, 10) for q in queries], 40)
    return statistics.median(theirs), statistics.median(theirs) / statistics.median(ours)


def measure(n: int, workdir: Path | None, reference: bool, progress: Progress) -> str:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        corpus, data = Path(tmp) / "corpus", Path(tmp) / "data"
        generate(corpus, n, progress)
        task = progress.add_task(f"ingest {n:,}", total=n)
        start = time.perf_counter()
        Newsbot.open(
            corpus, data, progress=lambda done, total: progress.update(task, completed=done)
        )
        ingest = n / (time.perf_counter() - start)
        size = sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) / 1e6
        task = progress.add_task("serving process", total=None)
        out = subprocess.run(
            [sys.executable, __file__, "--probe", str(corpus), str(data)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        progress.update(task, total=1, completed=1)
        p = json.loads(out)
        if reference and n <= REFERENCE_UP_TO:
            theirs, ratio = reference_ratio(corpus, data, progress)
            versus = f"{theirs:,.0f} ms / {ratio:,.0f}×"
        else:
            versus = "not run"
        cells = " | ".join(
            "{:.1f} / {:.1f} / {:.1f}".format(*p[k]) for k in ("stance", "search", "ask", "board")
        )
        return (
            f"| {n:,} | {p['passages']:,} | {ingest:,.0f} | {size:,.0f} | {p['ready_s']:.2f} "
            f"| {p['rss_mb']:,.0f} | {cells} | {p['board_cold_ms']:,.0f} | {versus} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--workdir", type=Path, help="work under this folder (default: /tmp)")
    parser.add_argument("--no-reference", action="store_true", help="skip rank-bm25")
    parser.add_argument("--probe", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(*args.probe)))
        return
    head = (
        "| articles | passages | ingest art/s | index MB | ready after restart s "
        "| serving RSS MB | stance p50/p95/p99 ms | search | ask | board | board recomputed ms "
        "| rank-bm25 search p50 / ratio |"
    )
    rows = []
    console = Console(stderr=True)
    with Progress(
        "[bold]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        for n in args.sizes:
            rows.append(measure(n, args.workdir, not args.no_reference, progress))
            progress.console.print(rows[-1], markup=False, highlight=False, soft_wrap=True)
    print(head)
    print("|" + "---:|" * 6 + "---|" * 4 + "---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
