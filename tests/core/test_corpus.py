"""Corpus loading: the shipped seeds, the file format, and broken files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot import Newsbot
from bot.corpus import CorpusError, load_corpus, load_lexicons, shipped_corpus_dir
from bot.lexicon import Lexicon
from tests.conftest import SEEDS

GOOD = """---
id: good
title: "Warsaw: no troops"
outlet: Example Times
url: https://example.com/a
published: 2025-03-01
---
Polish Prime Minister Donald Tusk said Poland will not send troops to Ukraine.
"""


def write(folder: Path, name: str, text: str | bytes) -> None:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


# SHA-256 of each seed as received, so that a clone without ../shared still checks the bodies.
SEED_SHA256 = {
    "000_4d524b1ec45b899e": "15a0b9714fdac6c22f5b0be6480f1bdde8df30836c33b9622d65de06f46d1b31",
    "001_4764e82b1a3f8a26": "2d3409dc6c511865f98d8a1d46a4ef4c577e7c729cce7a98b51b6210d307a8d2",
    "002_4da1ce184beea929": "4610cb2aab618202048a793b67198513098cc881ef4c9db9962b6da8d4d6525c",
    "003_589293d3f26130cb": "226dc1dab8b571f31e0aa2d85bb38620d5d6b46e718cb77ad48424acb9dec5b6",
    "004_76b65b6b96b31a99": "6304e472dee695b8bd287fb9ba9bff4e235024f16ae56d9eaec062bef9d0b723",
}


def test_shipped_corpus_is_the_seeds_as_received() -> None:
    corpus = load_corpus()
    assert corpus.problems == []
    bodies = {a.id: a.body.encode("utf-8") for a in corpus.articles}
    assert {i: hashlib.sha256(b).hexdigest() for i, b in bodies.items()} == SEED_SHA256
    for seed in SEEDS.glob("*.txt"):  # where ../shared is beside the checkout, as in CI
        assert bodies[seed.stem] == seed.read_bytes(), seed.name


def test_shipped_metadata_is_what_the_text_supports() -> None:
    by_id = {a.id: a for a in load_corpus().articles}
    assert {str(a.published) for a in by_id.values()} == {"2025-02-17", "2025-03-02"}
    assert all(a.url is None for a in by_id.values())  # no URL is known for any seed
    # Headlines that the text carries are used as they are; others are marked as the desk's.
    for a in by_id.values():
        first_line = a.body.lstrip("\n").split("\n", 1)[0]
        assert a.title_added_by_desk == (a.title != first_line)


def test_shipped_corpus_is_found_from_the_package() -> None:
    assert (shipped_corpus_dir() / "actors.yaml").exists()


@pytest.mark.parametrize(
    ("name", "text", "line", "reason"),
    [
        ("nofront.md", "Just text, no front matter.\n", 1, "missing front matter"),
        ("unclosed.md", "---\nid: x\ntitle: y\nBody\n", 1, "not closed"),
        ("badyaml.md", "---\nid: x\ntitle: [unclosed\n---\nBody\n", 3, "not valid YAML"),
        ("notitle.md", "---\nid: x\noutlet: A\n---\nBody\n", 2, "title"),
        ("badurl.md", "---\nid: x\ntitle: T\nurl: javascript:alert(1)\n---\nBody\n", 4, "url"),
        ("baddate.md", "---\nid: x\ntitle: T\npublished: 17 Feb\n---\nBody\n", 4, "published"),
        ("extra.md", "---\nid: x\ntitle: T\nauthor: Z\n---\nBody\n", 4, "author"),
        ("empty.md", "---\nid: x\ntitle: T\n---\n\n", 5, "no body"),
    ],
)
def test_a_broken_file_is_reported_by_name_and_line_and_skipped(
    tmp_path: Path, name: str, text: str, line: int, reason: str
) -> None:
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, name, text)
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["good"]
    [problem] = corpus.problems
    assert problem.path == name
    assert problem.line == line
    assert reason in problem.message
    assert str(problem).startswith(f"{name}:{line}: ")


def test_duplicate_ids_and_binary_files_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", GOOD)
    write(tmp_path, "c.md", b"---\nid: c\ntitle: T\n---\n\xff\xfe broken")
    corpus = load_corpus(tmp_path)
    assert [a.path for a in corpus.articles] == ["a.md"]
    assert sorted(p.path for p in corpus.problems) == ["b.md", "c.md"]


def test_a_skipped_file_is_never_half_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    write(folder, "good.md", GOOD)
    write(folder, "bad.md", "---\nid: bad\ntitle: [x\n---\nPoland will not send troops.\n")
    bot = Newsbot.open(folder, tmp_path / "data")
    assert [s.id for s in bot.sources().articles] == ["good"]
    assert {h.article_id for h in bot.search("Poland troops").results} == {"good"}
    assert bot.info().articles == 1
    assert [p.path for p in bot.problems] == ["bad.md"]


def test_a_folder_of_articles_uses_the_shipped_lexicons(tmp_path: Path) -> None:
    write(tmp_path, "good.md", GOOD)
    bot = Newsbot.open(tmp_path, tmp_path / "data")
    [position] = bot.stance("Poland").positions
    assert (position.topic, position.stance) == ("troops", "oppose")
    assert position.evidence[0].outlet == "Example Times"
    assert position.evidence[0].url == "https://example.com/a"


def test_a_broken_lexicon_stops_with_its_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, "topics.yaml", "topics:\n  - id: troops\n    label: [oops\n")
    with pytest.raises(CorpusError, match=r"topics.yaml:3: not valid YAML"):
        load_corpus(tmp_path)


@pytest.mark.parametrize(
    ("name", "edit", "expected"),
    [
        # The second actor loses its name: the message names the entry an editor must fix.
        (
            "actors.yaml",
            ("  - id: france\n    name: France\n", "  - id: france\n"),
            "actors.yaml: actor 2 'france': .*missing 'name'",
        ),
        ("topics.yaml", ("topics:", "questions:"), "topics.yaml: the top level needs a list"),
    ],
)
def test_a_lexicon_entry_without_a_field_is_named(
    tmp_path: Path, name: str, edit: tuple[str, str], expected: str
) -> None:
    text = (shipped_corpus_dir() / name).read_text(encoding="utf-8")
    assert edit[0] in text
    write(tmp_path, name, text.replace(edit[0], edit[1], 1))
    with pytest.raises(CorpusError, match=expected):
        Lexicon.from_data(load_lexicons(tmp_path))


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "nope")
