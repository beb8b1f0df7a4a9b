"""Tokenizer and sentence splitting for English news."""

from __future__ import annotations

import pytest

from bot.text import cue_tokens, paragraphs, search_tokens, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("raise spending to 2.5% of GDP", ["rais", "spend", "2.5", "percent", "gdp"]),
        ("a force of 30,000 troops", ["forc", "30000", "troop"]),
        ("an extra €30 billion", ["extra", "eur", "30", "billion"]),
        ("£1.6bn ($2 billion)", ["gbp", "1.6", "billion", "usd", "2", "billion"]),
        ("U.S. backing and US support", ["usa", "back", "usa", "support"]),
        ("Let us talk", ["let", "talk"]),  # the pronoun is a stopword
        ("Orbán’s defense", ["orban", "defenc"]),  # accents, possessive, US spelling
        ("peacekeepers", ["peacekeep"]),
    ],
)
def test_search_tokens(text: str, expected: list[str]) -> None:
    assert search_tokens(text) == expected


def test_numbers_are_findable_however_typed() -> None:
    assert search_tokens("30000 troops", query=True)[0] == search_tokens("30,000 troops")[0]
    assert search_tokens("2.5 percent", query=True) == search_tokens("2.5%")
    assert search_tokens("30 billion euros", query=True) == ["30", "billion", "eur"]


def test_a_query_reads_lowercase_us_as_the_country() -> None:
    assert search_tokens("us backstop", query=True) == ["usa", "backstop"]


def test_cue_tokens_keep_negation_and_spans() -> None:
    text = "Poland won’t send troops; it “does not foresee” deploying."
    toks = cue_tokens(text)
    assert [t.text for t in toks][:5] == ["poland", "will", "not", "send", "troop"]
    assert "not" in [t.text for t in toks[6:]]
    for t in toks:
        assert text[t.start : t.end].strip()  # every span points at real text


def test_sentences_respect_abbreviations_and_quotes() -> None:
    text = (
        'Starmer wants U.S. backing for a force. "We are ready," he said. '
        "Gen. Kellogg disagreed! Is it 2.5% now?"
    )
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Starmer wants U.S. backing for a force.",
        '"We are ready," he said.',
        "Gen. Kellogg disagreed!",
        "Is it 2.5% now?",
    ]


def test_paragraph_spans_are_offsets_into_the_body() -> None:
    body = "\nFirst line.\n\nSecond line here.\n"
    assert [body[s:e] for s, e in paragraphs(body)] == ["First line.", "Second line here."]
