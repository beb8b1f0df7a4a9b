"""The two engines answer alike: on the seed corpus every actor gets the same stances, and the
board, with or without the digest's excluded articles, is the same; wire copies count once on
both. The OpenSearch side runs on the session's stand-in or OPENSEARCH_URL's cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import Newsbot
from bot.cli import main
from bot.index import Tally
from bot.settings import Settings, secret
from tests.eval.harness import evaluate_gold


def positions(newsbot: Newsbot, actor: str) -> list[tuple[object, ...]]:
    return [
        (p.topic, p.stance, p.confidence, p.sources_agreeing, p.disagreement, p.summary)
        for p in newsbot.stance(actor).positions
    ]


def test_every_actor_has_the_same_stances_on_both_engines(
    embedded_newsbot: Newsbot, opensearch_newsbot: Newsbot
) -> None:
    for actor in embedded_newsbot.lexicon.actors:
        assert positions(opensearch_newsbot, actor) == positions(embedded_newsbot, actor), actor


def test_the_seed_gold_stances_are_answered_alike(
    embedded_newsbot: Newsbot, opensearch_newsbot: Newsbot
) -> None:
    ours = [(o.item["actor"], o.item["topic"], o.got) for o in evaluate_gold(opensearch_newsbot)]
    theirs = [(o.item["actor"], o.item["topic"], o.got) for o in evaluate_gold(embedded_newsbot)]
    assert ours == theirs


def test_the_evidence_is_the_same_quotes(
    embedded_newsbot: Newsbot, opensearch_newsbot: Newsbot
) -> None:
    for actor in ("poland", "italy", "united_kingdom", "germany"):
        for a, b in zip(
            embedded_newsbot.stance(actor).positions,
            opensearch_newsbot.stance(actor).positions,
            strict=True,
        ):
            assert {e.quote for e in a.evidence} == {e.quote for e in b.evidence}, (actor, a.topic)


def test_the_board_and_the_digest_before_picture_are_the_same(
    embedded_newsbot: Newsbot, opensearch_newsbot: Newsbot
) -> None:
    assert opensearch_newsbot.board() == embedded_newsbot.board()
    newest = embedded_newsbot.sources().articles[0].id
    assert opensearch_newsbot.board({newest}) == embedded_newsbot.board({newest})


COPIES = {
    "a.md": "---\nid: a\ntitle: A\npublished: 2025-03-01\n---\nNorway is ready to send troops.\n",
    # A wire copy that says it more strongly, and one published later.
    "c.md": (
        "---\nid: c\ntitle: C\nduplicate_of: a\npublished: 2025-03-04\n---\n"
        "Norway has ruled out sending troops to Ukraine.\n"
    ),
    "d.md": (
        "---\nid: d\ntitle: D\nduplicate_of: a\npublished: 2025-03-05\n---\n"
        "Norway is ready to send troops to Ukraine.\n"
    ),
    "s.md": "---\nid: s\ntitle: S\npublished: 2025-03-02\n---\nSweden will send troops.\n",
}


def tallies(newsbot: Newsbot, exclude: frozenset[str] = frozenset()) -> list[Tally]:
    return sorted(newsbot.index.tallies(exclude=exclude), key=lambda t: (t.actor_id, t.stance))


def test_wire_copies_count_once_on_both_engines_as_they_come_and_go(
    tmp_path: Path, opensearch: Settings
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in COPIES.items():
        (folder / name).write_text(text)
    embedded = Newsbot.open(folder, tmp_path / "embedded")
    cluster = Newsbot.open(folder, tmp_path / "os", settings=opensearch)

    def same() -> None:
        assert tallies(cluster) == tallies(embedded)
        for left_out in (frozenset("a"), frozenset("c"), frozenset("cd"), frozenset("s")):
            assert tallies(cluster, left_out) == tallies(embedded, left_out), left_out

    same()
    (folder / "a.md").unlink()  # the source goes; its copies still stand for it
    assert embedded.refresh() and cluster.refresh()
    same()
    (folder / "a.md").write_text(COPIES["a.md"].replace("2025-03-01", "2025-02-20"))
    (folder / "c.md").unlink()
    assert embedded.refresh() and cluster.refresh()
    same()


@pytest.mark.parametrize("query", ["troops Ukraine", "US backstop", "sanctions Russia"])
def test_search_finds_the_same_best_passage(
    embedded_newsbot: Newsbot, opensearch_newsbot: Newsbot, query: str
) -> None:
    ours = opensearch_newsbot.search(query, k=5).results
    theirs = embedded_newsbot.search(query, k=5).results
    assert ours[0].quote == theirs[0].quote
    assert len({r.quote for r in ours} & {r.quote for r in theirs}) >= 4


def test_reindex_migrates_a_corpus_folder_into_opensearch(
    tmp_path: Path,
    opensearch: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in COPIES.items():
        (folder / name).write_text(text)
    monkeypatch.setenv("OPENSEARCH_URL", secret(opensearch.opensearch_url) or "")
    monkeypatch.setenv("OPENSEARCH_INDEX_PREFIX", opensearch.opensearch_index_prefix)
    monkeypatch.delenv("NEWSBOT_ENGINE", raising=False)
    args = ["--corpus", str(folder), "--data-dir", str(tmp_path / "data"), "reindex"]
    assert main([*args, "--engine", "opensearch"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("reindexed 4 articles (4 passages) in ")
    generation = out.split()[-1]
    bot = Newsbot.open(folder, tmp_path / "data", settings=opensearch)
    assert bot.index.folder == generation  # the alias names it: the next start answers at once
    assert bot.stance("Sweden", "troops").positions[0].stance == "support"


def test_reindex_into_opensearch_without_its_url_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENSEARCH_URL", raising=False)
    assert main(["--data-dir", str(tmp_path), "reindex", "--engine", "opensearch"]) == 2
    assert "OPENSEARCH_URL not set" in capsys.readouterr().err


def test_a_replica_sees_what_another_indexed_into_the_shared_cluster(
    tmp_path: Path, opensearch: Settings
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.md").write_text(COPIES["a.md"])
    one = Newsbot.open(folder, tmp_path / "one", settings=opensearch)
    two = Newsbot.open(folder, tmp_path / "two", settings=opensearch)
    assert {c.actor.id for c in two.board().cells} == {"norway"}
    (folder / "s.md").write_text(COPIES["s.md"])
    assert one.refresh()
    assert two.refresh()  # nothing left to index, but its answers must not be the old ones
    assert {c.actor.id for c in two.board().cells} == {"norway", "sweden"}
    assert not two.refresh()
