"""Accuracy floors on the evaluation sets (figures: ``python -m tests.eval.harness``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import Newsbot
from tests.eval.harness import (
    SENTENCE_SETS,
    accuracy,
    evaluate_articles,
    evaluate_gold,
    evaluate_sentences,
)

# Floors a little under the figures measured when each was set, so that a change which costs
# accuracy fails here. The blind set was never used to tune the lexicons.
FLOORS = {"paraphrases": 0.90, "heldout": 0.70, "blind": 0.75}


def test_gold_stances_of_the_seed_corpus(newsbot: Newsbot) -> None:
    assert accuracy(evaluate_gold(newsbot)) >= 0.90


@pytest.mark.parametrize("name", list(SENTENCE_SETS))
def test_sentence_sets(name: str, tmp_path: Path) -> None:
    assert accuracy(evaluate_sentences(name, tmp_path)) >= FLOORS[name]


def test_whole_articles(tmp_path: Path) -> None:
    assert accuracy(evaluate_articles(tmp_path / "dev")) >= 0.75
    # Written blind and never tuned on: the honest figure for whole articles.
    assert accuracy(evaluate_articles(tmp_path / "blind", "articles_blind")) >= 0.55


def test_no_position_is_invented_on_the_seeds(newsbot: Newsbot) -> None:
    """Of the pairs the gold set says have no position, none may get one."""
    invented = [o for o in evaluate_gold(newsbot) if o.item["stance"] == "none" and not o.ok]
    assert len(invented) <= 1, [(o.item["actor"], o.item["topic"], o.got) for o in invented]
