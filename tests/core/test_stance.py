"""The stance engine: the issue's acceptance checks on the seeds, and each rule on sentences
written for the test (never a seed's sentence)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot import Newsbot
from bot.corpus import Corpus, load_corpus
from bot.index import PassageIndex
from bot.lexicon import Lexicon
from bot.models import Article


def test_poland_opposes_troops_from_several_articles(newsbot: Newsbot) -> None:
    positions = {p.topic: p for p in newsbot.stance("Poland").positions}
    troops = positions["troops"]
    assert troops.stance == "oppose"
    backing = {e.article_id for e in troops.evidence if e.stance == "oppose"}
    assert len(backing) >= 2
    assert troops.sources_agreeing == len(backing)
    assert positions["defence_spending"].stance == "support"


def test_the_netherlands_has_no_position_on_troops(newsbot: Newsbot) -> None:
    # It is only listed among those present at the summits.
    assert "troops" not in {p.topic for p in newsbot.stance("Netherlands").positions}


def test_every_position_names_its_evidence(newsbot: Newsbot) -> None:
    for cell in newsbot.board().cells:
        [position] = newsbot.stance(cell.actor.id, cell.topic).positions
        assert position.evidence
        assert any(e.stance == position.stance for e in position.evidence)
        assert position.summary.startswith(cell.actor.name)
        assert 0 < position.confidence <= 1


def test_people_resolve_to_their_country(newsbot: Newsbot) -> None:
    assert newsbot.stance("Tusk").actor.id == "poland"
    assert newsbot.stance("warsaw").actor.id == "poland"


def test_disagreement_is_shown(tmp_path: Path) -> None:
    bot = _bot(
        tmp_path,
        "Norway said it would send troops to Ukraine.",
        "Norway ruled out sending troops to Ukraine.",
    )
    [position] = bot.stance("Norway", "troops").positions
    assert position.disagreement
    assert {e.stance for e in position.evidence} == {"support", "oppose"}


def _bot(tmp_path: Path, *bodies: str) -> Newsbot:
    shipped = load_corpus()
    lexicon = Lexicon.from_data(shipped.lexicons)
    articles = [
        Article(id=f"t{i}", title=f"test {i}", published=date(2025, 1, 1 + i), body=b)
        for i, b in enumerate(bodies)
    ]
    corpus = Corpus(shipped.directory, articles, [], shipped.lexicons)
    return Newsbot(lexicon, PassageIndex.open_or_build(corpus, lexicon, tmp_path))


CASES = [
    # negation and its scope
    ("Norway does not plan to send soldiers to Ukraine, Støre said.", "norway", "troops", "oppose"),
    (
        "Norway cannot help Ukraine if it does not raise defence spending, Støre said.",
        "norway",
        "defence_spending",
        "support",
    ),
    # a negation stays in its clause: a no to leaving an alliance is no no to spending
    (
        "Stubb said Finland is not going to abandon the alliance, but he said: every member "
        "will have to raise military spending.",
        "finland",
        "defence_spending",
        "support",
    ),
    (
        "We are not going anywhere; Europe must invest more in defence, Kristersson said.",
        "sweden",
        "defence_spending",
        "support",
    ),
    (
        '"We will not walk away from NATO," Kristersson said, adding that Sweden must boost '
        "military spending.",
        "sweden",
        "defence_spending",
        "support",
    ),
    # ... while "not going to" still says no to the topic it reaches, or to the one just asked
    (
        "Fiala said Prague is not going to put Czech soldiers on the ground in Ukraine.",
        "czech_republic",
        "troops",
        "oppose",
    ),
    ("Sending soldiers to Ukraine? Hungary is not going to.", "hungary", "troops", "oppose"),
    # "not every nation ..." is about others; "we cannot sit back" is a double negative
    (
        "Not all allies are ready to put soldiers in Ukraine, yet that cannot mean we stand "
        "aside, Frederiksen said of the reassurance force.",
        "denmark",
        "troops",
        "support",
    ),
    (
        "Not every government will find it possible to contribute troops, Kristersson conceded.",
        "sweden",
        "troops",
        None,
    ),
    (
        "Not everyone in the alliance will deploy forces to Ukraine, but we will not sit on our "
        "hands, Støre said.",
        "norway",
        "troops",
        "support",
    ),
    # refusals
    ("Sweden has ruled out sending troops to Ukraine.", "sweden", "troops", "oppose"),
    (
        "Sending Czech troops is not on the agenda, Fiala said.",
        "czech_republic",
        "troops",
        "oppose",
    ),
    # an issue declared closed, however many words name it
    (
        "Fiala said the whole debate about Czech soldiers going to Ukraine was closed.",
        "czech_republic",
        "troops",
        "oppose",
    ),
    (
        "As far as Stockholm is concerned, the question of a Swedish contingent in Ukraine "
        "remains closed.",
        "sweden",
        "troops",
        "oppose",
    ),
    (
        "The border crossing used by the peacekeeping mission is closed, Tusk said.",
        "poland",
        "troops",
        None,
    ),
    # a no for now is undecided; a no to lifting for now still keeps sanctions
    (
        "Kristersson said Sweden would not put troops into Ukraine just yet.",
        "sweden",
        "troops",
        "undecided",
    ),
    (
        "Denmark is not sending soldiers to Ukraine at this stage, Frederiksen told reporters.",
        "denmark",
        "troops",
        "undecided",
    ),
    (
        "Finland will not ease the sanctions on Moscow yet, Stubb said.",
        "finland",
        "sanctions",
        "support",
    ),
    (
        "Norway will not deploy troops to Ukraine, yet it will keep arming Kyiv.",
        "norway",
        "troops",
        "oppose",
    ),
    # hedges
    ("Finland said it was too early to discuss sending troops.", "finland", "troops", "undecided"),
    # commitments and conditions
    ("Canada is ready to send troops to Ukraine.", "canada", "troops", "support"),
    ("Norway would send troops only if a ceasefire holds.", "norway", "troops", "conditional"),
    (
        "A European force would be impossible without US security guarantees, Merz said.",
        "germany",
        "us_backstop",
        "support",
    ),
    # a no to the topic with a "without ..." condition: conditional, as with a missing backstop
    (
        "Madrid voiced its opposition to stationing soldiers in Ukraine without firmer clarity "
        "about what Washington would do.",
        "spain",
        "troops",
        "conditional",
    ),
    (
        "Oslo refuses to put Norwegian peacekeepers in Ukraine without a clear mandate.",
        "norway",
        "troops",
        "conditional",
    ),
    (
        "Prague will not deploy troops to Ukraine without a proper mandate from its parliament.",
        "czech_republic",
        "troops",
        "conditional",
    ),
    (
        "Sweden would not send forces to Ukraine without an American security guarantee.",
        "sweden",
        "us_backstop",
        "support",
    ),
    # ... but a deal "without Ukraine" is the topic's opposite: refusing it is a double negative
    (
        "Finland rejects any settlement struck without Kyiv at the negotiating table.",
        "finland",
        "peace_talks",
        "support",
    ),
    (
        "There will be no peace deal without European participation, Denmark insisted.",
        "denmark",
        "peace_talks",
        "support",
    ),
    # a topic named only in the condition of another is no position on it
    (
        "Stubb said Finland would station troops in Ukraine if a peace deal holds.",
        "finland",
        "peace_talks",
        None,
    ),
    (
        "Stubb said Finland would station troops in Ukraine if a peace deal holds.",
        "finland",
        "troops",
        "conditional",
    ),
    (
        "Sanctions on Russia must stay until a peace deal is in place, Kallas said.",
        "european_union",
        "peace_talks",
        None,
    ),
    (
        "Rutte said Europeans would get a seat at the table once the talks turn to security.",
        "nato",
        "peace_talks",
        "conditional",
    ),
    # a topic's direction words
    ("Hungary called for lifting sanctions on Russia.", "hungary", "sanctions", "oppose"),
    ("Poland will not lift sanctions on Russia.", "poland", "sanctions", "support"),
    # who holds it
    ('"We will not send troops to Ukraine," Tusk said.', "poland", "troops", "oppose"),
    (
        "Mette Frederiksen spoke after the meeting. She said it was premature to discuss "
        "sending soldiers to Ukraine.",
        "denmark",
        "troops",
        "undecided",
    ),
    # actors listed together hold it alike, wherever the list's "and" falls
    (
        "Officials from Hungary, Slovakia, and a handful of other capitals rejected putting "
        "troops in Ukraine.",
        "hungary",
        "troops",
        "oppose",
    ),
    (
        "Officials from Hungary, Slovakia, and a handful of other capitals rejected putting "
        "troops in Ukraine.",
        "slovakia",
        "troops",
        "oppose",
    ),
    (
        "A Ukrainian deployment was turned down by Sweden, Finland and several Nordic partners.",
        "sweden",
        "troops",
        "oppose",
    ),
    (
        "A Ukrainian deployment was turned down by Sweden, Finland and several Nordic partners.",
        "finland",
        "troops",
        "oppose",
    ),
    (
        "A peacekeeping mission was turned down by Sweden, Finland's neighbour.",
        "finland",
        "troops",
        None,
    ),
    # a name qualifying the topic's noun is not the speaker when a frame names someone else
    ("An American backstop is indispensable, said Tusk.", "poland", "us_backstop", "support"),
    ("An American backstop is indispensable, said Tusk.", "united_states", "us_backstop", None),
    ("US security guarantees are vital, according to Merz.", "germany", "us_backstop", "support"),
    (
        "US security guarantees are vital, according to Merz.",
        "united_states",
        "us_backstop",
        None,
    ),
    ("British soldiers must be deployed to Ukraine, said Tusk.", "poland", "troops", "support"),
    ("British soldiers must be deployed to Ukraine, said Tusk.", "united_kingdom", "troops", None),
    # ... while a name that is the subject still speaks, and one with no other speaker holds it
    (
        "Washington said a backstop for Europe was essential.",
        "united_states",
        "us_backstop",
        "support",
    ),
    (
        "Washington will provide a backstop, Trump said.",
        "united_states",
        "us_backstop",
        "support",
    ),
    ("A US backstop is essential, he said.", "united_states", "us_backstop", "support"),
    # a requirement names what is needed, even when it reads like a plain condition
    (
        "Oslo would put troops in Ukraine only if the US provided a backstop.",
        "norway",
        "us_backstop",
        "support",
    ),
    (
        "Oslo would put troops in Ukraine only if the US provided a backstop.",
        "norway",
        "troops",
        "conditional",
    ),
    # not a position
    ("Britain will send troops to Ukraine.", "ukraine", "troops", None),
    (
        "Diplomats fear that Hungary might block new sanctions on Russia.",
        "hungary",
        "sanctions",
        None,
    ),
    (
        "Leaders of France, Germany, Italy and Spain discussed troops for Ukraine and failed to "
        "agree on sending them.",
        "spain",
        "troops",
        None,
    ),
]


@pytest.mark.parametrize(("text", "actor", "topic", "expected"), CASES)
def test_rule(tmp_path: Path, text: str, actor: str, topic: str, expected: str | None) -> None:
    positions = _bot(tmp_path, text).stance(actor, topic).positions
    assert (positions[0].stance if positions else None) == expected


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        # a given name the lexicon does not have: shown as written
        ("Envoy Michael Kellogg said a US backstop was essential.", "Michael Kellogg"),
        ("Europe needs a backstop, said Jim Kellogg.", "Jim Kellogg"),
        # a bare surname, a title before it, or the lexicon's own name: the lexicon's name
        ("Kellogg said a US backstop was essential.", "Keith Kellogg"),
        ("Special Envoy Kellogg said a US backstop was essential.", "Keith Kellogg"),
        ("On Friday Kellogg said a US backstop was essential.", "Keith Kellogg"),
        ("Keith Kellogg said a US backstop was essential.", "Keith Kellogg"),
        ("American Kellogg said a US backstop was essential.", "Keith Kellogg"),
    ],
)
def test_speaker_is_named_as_written(tmp_path: Path, text: str, speaker: str) -> None:
    [position] = _bot(tmp_path, text).stance("united_states", "us_backstop").positions
    assert position.evidence[0].speaker == speaker
    assert position.evidence[0].quote in text
