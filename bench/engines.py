"""Passage search: tantivy (the bot's engine) against rank-bm25 (the textbook reference).

    python bench/engines.py [PASSAGES ...]      # default: 10000 100000

Synthetic passages are drawn with a fixed seed from the seed corpus's own words, so the term
statistics look like news; both engines index exactly the same terms. Prints one table.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.corpus import load_corpus
from bot.retrieval import IndexedPassage, RankBM25Engine, Retriever, TantivyEngine
from bot.text import search_tokens

QUERIES = 200
WORDS_PER_PASSAGE = 25


def passages(n: int, rng: random.Random) -> list[IndexedPassage]:
    vocab = [t for a in load_corpus().articles for t in search_tokens(a.body)]
    return [
        IndexedPassage(pid, f"a{pid}", rng.choices(vocab, k=WORDS_PER_PASSAGE)) for pid in range(n)
    ]


def timed_queries(engine: Retriever, queries: list[list[str]]) -> list[float]:
    out = []
    for q in queries:
        start = time.perf_counter()
        engine.search(q, 10)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main(sizes: list[int]) -> None:
    print("| passages | engine | build s | p50 ms | p95 ms |")
    print("|---:|---|---:|---:|---:|")
    for n in sizes:
        rng = random.Random(20250217)
        items = passages(n, rng)
        queries = [rng.sample(items[rng.randrange(n)].terms, 3) for _ in range(QUERIES)]
        with tempfile.TemporaryDirectory() as tmp:
            results = {}
            for name in ("tantivy", "rank-bm25"):
                start = time.perf_counter()
                engine: Retriever = (
                    TantivyEngine.build(Path(tmp) / "t", items)
                    if name == "tantivy"
                    else RankBM25Engine(items)
                )
                built = time.perf_counter() - start
                times = timed_queries(engine, queries)
                p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[18]
                results[name] = p50
                print(f"| {n:,} | {name} | {built:.1f} | {p50:.2f} | {p95:.2f} |")
            print(f"| {n:,} | ratio (p50) | | {results['rank-bm25'] / results['tantivy']:.0f}× | |")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
