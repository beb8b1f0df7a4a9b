"""The index: built once, then kept up to date file by file; a change of the lexicons builds a
new generation beside the one that answers; a crash between its two commits loses nothing and
duplicates nothing. On both engines: on disk, and in OpenSearch (``open_bot``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import bot.index
from bot import Newsbot
from bot.corpus import load_corpus, shipped_corpus_dir
from bot.index import PassageIndex
from bot.lexicon import Lexicon
from tests.conftest import ENGINES

Open = Callable[[Path, Path], Newsbot]

NORWAY = "---\nid: a\ntitle: T\n---\nNorway ruled out sending troops to Ukraine.\n"
SWEDEN = "---\nid: b\ntitle: U\n---\nSweden is ready to send troops to Ukraine.\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text(NORWAY)
    return corpus


@pytest.fixture(params=ENGINES)
def open_bot(request: pytest.FixtureRequest) -> Open:
    """``Newsbot.open(folder, data)`` on each engine in turn."""
    if request.param == "embedded":
        return lambda folder, data: Newsbot.open(folder, data)
    settings = request.getfixturevalue("opensearch")
    return lambda folder, data: Newsbot.open(folder, data, settings=settings)


def generations(newsbot: Newsbot) -> int:
    """How many generations of the bot's corpus folder are kept."""
    index = newsbot.index
    if isinstance(index, PassageIndex):
        return len([p for p in index.folder.parent.iterdir() if p.is_dir()])
    from bot.opensearch_index import generations

    return len(generations(index.client, index.home))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the index reads, in order."""
    seen: list[str] = []
    real = bot.index._read

    def counting(directory: Path, rel: str, sig: str) -> bot.index._Read:
        seen.append(rel)
        return real(directory, rel, sig)

    monkeypatch.setattr(bot.index, "_read", counting)
    return seen


def quotes(newsbot: Newsbot, query: str) -> list[str]:
    return [h.quote for h in newsbot.search(query).results]


def test_a_restart_reads_no_article(
    open_bot: Open, folder: Path, tmp_path: Path, reads: list[str]
) -> None:
    open_bot(folder, tmp_path / "data")
    assert reads == ["a.md"]
    again = open_bot(folder, tmp_path / "data")
    assert reads == ["a.md"]
    assert quotes(again, "troops") == ["Norway ruled out sending troops to Ukraine."]


def test_only_new_changed_and_removed_files_are_indexed(
    open_bot: Open, folder: Path, tmp_path: Path, reads: list[str]
) -> None:
    newsbot = open_bot(folder, tmp_path / "data")
    (folder / "b.md").write_text(SWEDEN)
    assert newsbot.refresh()
    assert reads == ["a.md", "b.md"]
    assert newsbot.stance("Sweden", "troops").positions[0].stance == "support"

    (folder / "a.md").write_text(NORWAY.replace("ruled out sending", "will send"))
    assert newsbot.refresh()
    assert reads[2:] == ["a.md"]
    assert newsbot.stance("Norway", "troops").positions[0].stance == "support"
    assert "Norway will send troops to Ukraine." in quotes(newsbot, "Norway troops")
    assert not any("ruled out" in q for q in quotes(newsbot, "ruled out troops"))

    (folder / "b.md").unlink()
    assert newsbot.refresh()
    assert newsbot.stance("Sweden").positions == []
    assert [s.id for s in newsbot.sources().articles] == ["a"]
    assert {c.actor.id for c in newsbot.board().cells} == {"norway"}
    assert not newsbot.refresh()  # nothing changed, nothing read
    assert len(reads) == 3


def test_an_id_taken_by_another_file_is_a_problem_not_a_replacement(
    open_bot: Open, folder: Path, tmp_path: Path
) -> None:
    newsbot = open_bot(folder, tmp_path / "data")
    (folder / "z.md").write_text(NORWAY.replace("Norway", "Sweden"))
    newsbot.refresh()
    assert [str(p) for p in newsbot.problems] == ["z.md:2: id 'a' is already used by a.md"]
    assert newsbot.stance("Sweden").positions == []
    assert newsbot.stance("Norway", "troops").positions[0].stance == "oppose"


def test_a_broken_file_is_reported_until_fixed(
    open_bot: Open, folder: Path, tmp_path: Path
) -> None:
    (folder / "bad.md").write_text("---\nid: bad\ntitle: [x\n---\nSweden will send troops.\n")
    newsbot = open_bot(folder, tmp_path / "data")
    assert [p.path for p in newsbot.problems] == ["bad.md"]
    again = open_bot(folder, tmp_path / "data")  # reported again, without re-reading
    assert [p.path for p in again.problems] == ["bad.md"]
    (folder / "bad.md").write_text(SWEDEN.replace("id: b", "id: bad"))
    assert again.refresh()
    assert again.problems == []
    assert again.stance("Sweden", "troops").positions[0].stance == "support"


def test_a_lexicon_change_builds_a_new_generation_beside_and_switches(
    open_bot: Open, folder: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    newsbot = open_bot(folder, data)
    before = newsbot.index.folder
    (folder / "topics.yaml").write_text((shipped_corpus_dir() / "topics.yaml").read_text() + "#\n")
    assert not newsbot.refresh()  # a comment changes no lexicon entry: same generation
    actors = (shipped_corpus_dir() / "actors.yaml").read_text()
    (folder / "actors.yaml").write_text(actors.replace("Oslo]", "Oslo, Norge]"))
    assert newsbot.refresh()
    assert newsbot.index.folder != before
    assert newsbot.index.is_current()
    assert newsbot.stance("Norge", "troops").positions[0].stance == "oppose"
    for _ in range(2):
        newsbot.refresh(reindex=True)
    assert generations(newsbot) == 2  # the newest two are kept


def test_reindex_answers_from_the_old_generation_until_the_switch(
    open_bot: Open, folder: Path, tmp_path: Path
) -> None:
    newsbot = open_bot(folder, tmp_path / "data")
    old = newsbot.index.folder
    seen: list[tuple[Path | str, str]] = []

    def during(done: int, total: int) -> None:  # while the new generation is being filled
        seen.append((newsbot.index.folder, newsbot.stance("Norway").positions[0].stance))

    assert newsbot.refresh(during, reindex=True)
    assert seen and all(f == old and s == "oppose" for f, s in seen)
    assert newsbot.index.folder != old
    assert open_bot(folder, tmp_path / "data").index.folder == newsbot.index.folder


def test_a_crash_between_the_two_commits_loses_and_duplicates_nothing(
    open_bot: Open, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    newsbot = open_bot(folder, tmp_path / "data")
    (folder / "b.md").write_text(SWEDEN)
    (folder / "a.md").write_text(NORWAY.replace("Norway", "Denmark"))

    def crash(*args: object) -> None:
        raise KeyboardInterrupt  # the process dies after tantivy committed, before SQLite did

    monkeypatch.setattr(bot.index, "_claim_rows", crash)
    if not isinstance(newsbot.index, PassageIndex):
        # One document per bulk request: the passages reach OpenSearch before the crash.
        monkeypatch.setattr("bot.opensearch_index.CHUNK", 1)
    with pytest.raises(KeyboardInterrupt):
        newsbot.refresh()
    monkeypatch.undo()
    again = open_bot(folder, tmp_path / "data")
    assert sorted(quotes(again, "troops Ukraine")) == [
        "Denmark ruled out sending troops to Ukraine.",
        "Sweden is ready to send troops to Ukraine.",
    ]
    assert again.info().articles == 2
    assert again.info().passages == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_an_in_memory_corpus_is_built_once(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = load_corpus()
    lexicon = Lexicon.from_data(corpus.lexicons)
    # Each build annotates the corpus: counting those calls tells a build from a reopen.
    builds: list[int] = []
    real = bot.index.corpus_reads

    def counting(*args: Any) -> Any:
        builds.append(1)
        return real(*args)

    monkeypatch.setattr(bot.index, "corpus_reads", counting)
    monkeypatch.setattr("bot.opensearch_index.corpus_reads", counting)
    if engine == "embedded":
        first = PassageIndex.open_or_build(corpus, lexicon, tmp_path)
        second = PassageIndex.open_or_build(corpus, lexicon, tmp_path)
    else:
        from bot.opensearch_index import OpenSearchIndex

        settings = request.getfixturevalue("opensearch")
        first = OpenSearchIndex.open_or_build(corpus, lexicon, settings=settings)
        second = OpenSearchIndex.open_or_build(corpus, lexicon, settings=settings)
    assert first.folder == second.folder
    assert second.counts() == first.counts()
    assert len(builds) == 1


def test_every_board_cell_is_the_stance_answer(newsbot: Newsbot) -> None:
    """The board aggregates the stored votes in one query; the stance view reads the same
    votes for one pair. They must never disagree."""
    board = newsbot.board()
    assert board.cells
    for cell in board.cells:
        [position] = newsbot.stance(cell.actor.id, cell.topic).positions
        assert (position.stance, position.sources_agreeing, position.disagreement) == (
            cell.stance,
            cell.sources_agreeing,
            cell.disagreement,
        )


def test_the_stored_votes_per_source_are_the_votes_counted_afresh(newsbot: Newsbot) -> None:
    """``source_votes`` is kept up to date at every write; the digest's "before" board counts
    the same votes afresh. Excluding an article that is not there must change nothing."""
    assert newsbot.board(exclude={"no-such-article"}) == newsbot.board()


def test_a_wire_copy_is_one_source_even_when_it_votes_stronger(
    open_bot: Open, folder: Path, tmp_path: Path
) -> None:
    copy = "---\nid: c\ntitle: C\nduplicate_of: a\n---\nNorway has ruled out troops for Ukraine.\n"
    (folder / "c.md").write_text(copy)
    newsbot = open_bot(folder, tmp_path / "data")
    [position] = newsbot.stance("Norway", "troops").positions
    assert (position.stance, position.sources_agreeing) == ("oppose", 1)
    (folder / "a.md").unlink()  # the first copy goes: the copy still stands for the story
    newsbot.refresh()
    [position] = newsbot.stance("Norway", "troops").positions
    assert (position.stance, position.sources_agreeing) == ("oppose", 1)
    assert newsbot.board(exclude={"zzz"}) == newsbot.board()
