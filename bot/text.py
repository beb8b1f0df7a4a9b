"""Text handling shared by retrieval and the stance engine.

Two token streams come from the same text:
- ``search_tokens``: for BM25. Lowercased, accents folded, stopwords dropped, stemmed; numbers kept
  in one canonical form so "30,000", "2.5%" and "€30 billion" are findable however they are typed.
- ``cue_tokens``: for matching cue phrases and topic anchors. Stemmed but no word is dropped
  (negation lives in stopwords), contractions expanded, punctuation kept as clause boundaries,
  and every token remembers its character span in the original text.

Nothing here changes the stored text: spans always point into the article body as received.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

_STEMMER = Stemmer.Stemmer("english")

# Snowball's English stopword list minus what the stance engine and numbers need.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
        below between both but by could did do does doing down during each few for from further had
        has have having he her here hers herself him himself his how i if in into is it its itself
        just me more most my myself of off on once only or other our ours ourselves out over own
        same she should so some such than that the their theirs them themselves then there these
        they this those through to too under until up us very was we were what when where which
        while who whom why will with would you your yours yourself yourselves""".split()
)

CURRENCIES = {"€": "eur", "£": "gbp", "$": "usd"}
_WORD_ALIASES = {
    "euro": "eur",
    "euros": "eur",
    "pound": "gbp",
    "pounds": "gbp",
    "dollar": "usd",
    "dollars": "usd",
    "bn": "billion",
    "percent": "percent",
    "pct": "percent",
    "defense": "defence",
}

# One pass finds every kind of token; the group that matched says which kind.
_TOKEN_RE = re.compile(
    r"(?P<abbr>\b(?:[A-Za-z]\.){2,})"  # U.S., U.K., U.S.A.
    r"|(?P<num>\d+(?:[.,]\d+)*)(?P<numsuffix>bn|m|k)?\b"
    r"|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)"
    r"|(?P<pct>%)"
    r"|(?P<cur>[€£$])"
    r"|(?P<punct>[,;:!?()\[\]\"“”«»—–]|\.(?!\d)|(?<!\w)['‘’](?!\w)|-{2,})"
)

_CLITICS = {"ll": "will", "re": "are", "ve": "have", "d": "would", "m": "am"}
_CONTRACTIONS = {
    "won't": ("will", "not"),
    "can't": ("can", "not"),
    "cannot": ("can", "not"),
    "shan't": ("shall", "not"),
}


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # normalised form (stemmed for words)
    start: int
    end: int
    kind: str  # "word", "num", "punct"
    surface: str = ""  # lowercased, unstemmed: for the few cues where the form matters


def fold(text: str) -> str:
    """Lowercase, fold accents and typographic quotes: the normal form used for matching."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


# News repeats its words: folding each distinct word once makes tokenising ~30% faster.
_fold_word = lru_cache(maxsize=262144)(fold)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def _number(raw: str) -> str:
    # "30,000" and "30000" are one number; "2.5" keeps its point. A comma followed by exactly
    # three digits is a thousands separator in English news.
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
        raw = raw.replace(",", "")
    return raw


def _raw_tokens(text: str) -> Iterator[tuple[str, str, int, int]]:
    """Yield (kind, normalised text, start, end) for every token of ``text``."""
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup  # the last group that matched: "numsuffix" only ever follows "num"
        start, end = m.span()
        if kind == "word":
            yield "word", _fold_word(m.group("word")), start, end
        elif kind == "punct":
            yield "punct", fold(m.group("punct")), start, end
        elif kind == "num" or kind == "numsuffix":
            yield "num", _number(m.group("num")), m.start("num"), m.end("num")
            suffix = m.group("numsuffix")
            if suffix:
                scale = {"bn": "billion", "m": "million", "k": "thousand"}[suffix]
                yield "word", scale, m.start("numsuffix"), end
        elif kind == "abbr":
            yield "word", m.group("abbr").replace(".", "").lower(), start, end
        elif kind == "pct":
            yield "word", "percent", start, end
        else:
            yield "word", CURRENCIES[m.group("cur")], start, end


def _split_word(word: str) -> list[str]:
    """Expand contractions and drop possessives: "won't" -> will not, "Poland's" -> poland."""
    if word in _CONTRACTIONS:
        return list(_CONTRACTIONS[word])
    if word.endswith("n't"):
        return [word[:-3], "not"]
    if word.endswith("'s"):
        return [word[:-2]]
    if "'" in word:
        head, _, tail = word.partition("'")
        if tail in _CLITICS:
            return [head, _CLITICS[tail]]
        return [word.replace("'", "")]
    return [word]


def _is_us(raw: str) -> bool:
    """The country, not the pronoun: "US", "U.S.", "US's"."""
    return re.fullmatch(r"U\.?S\.?(?:['’]s)?", raw) is not None


def cue_tokens(text: str, offset: int = 0) -> list[Token]:
    """Every word (stemmed, nothing dropped) and clause punctuation, with spans into ``text``
    (shifted by ``offset``)."""
    return _cue(list(_raw_tokens(text)), text, offset)


def search_tokens(text: str, *, query: bool = False) -> list[str]:
    """BM25 terms. In a query a lowercase "us" means the United States, as people type it."""
    return _terms(_raw_tokens(text), text, query)


def index_tokens(text: str, offset: int = 0) -> tuple[list[Token], list[str]]:
    """``cue_tokens`` and ``search_tokens`` of a passage from one pass over its text."""
    raw = list(_raw_tokens(text))
    return _cue(raw, text, offset), _terms(raw, text, False)


def _cue(raw: list[tuple[str, str, int, int]], text: str, offset: int) -> list[Token]:
    out: list[Token] = []
    for kind, norm, start, end in raw:
        if kind == "word":
            for part in _split_word(norm):
                if part == "us" and _is_us(text[start:end]):
                    part = "usa"
                word = _WORD_ALIASES.get(part, part)
                out.append(Token(stem(word), start + offset, end + offset, "word", word))
        else:
            out.append(Token(norm, start + offset, end + offset, kind, norm))
    return out


def _terms(raw: Iterable[tuple[str, str, int, int]], text: str, query: bool) -> list[str]:
    terms: list[str] = []
    for kind, norm, start, end in raw:
        if kind == "punct":
            continue
        if kind == "num":
            terms.append(norm)
            continue
        for part in _split_word(norm):
            if part == "us" and (query or _is_us(text[start:end])):
                terms.append("usa")
                continue
            if part in STOPWORDS or part == "not":
                continue
            terms.append(stem(_WORD_ALIASES.get(part, part)))
    return terms


def phrase_tokens(phrase: str) -> tuple[str, ...]:
    """A lexicon phrase in the cue-token form, so it matches every inflection of its words.

    "*" stands for a gap of up to three words; "us" in a lexicon always means the country;
    punctuation counts (", provided" is a condition where "provide" is a verb); "=word" matches
    that exact form only ("has not =committed" is not yet decided, "would not commit" is a no).
    """
    out: list[str] = []
    for part in phrase.split():
        if part == "*" or part.startswith("="):
            out.append(fold(part))
        elif part.lower() == "us":
            out.append("usa")
        else:
            out.extend(t.text for t in cue_tokens(part))
    return tuple(out)


# --- sentences -------------------------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr gen lt col sgt st sen rep gov prof jr sr no vs etc inc ltd co corp jan feb mar
        apr jun jul aug sep sept oct nov dec""".split()
)
# A sentence ends at . ! or ? (and any closing quote or bracket), before space and a capital,
# a digit or an opening quote.
_BOUNDARY_RE = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])")


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans (start, end) of one paragraph, shifted by ``offset``, trimmed of space."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        before = text[start : m.start() + 1]
        last_word = re.search(r"([A-Za-z.]+)\.$", before)
        if last_word:
            word = last_word.group(1).lower().rstrip(".")
            # "U.S. Backing" or "Gen. Kellogg" are not sentence ends.
            if word in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
                continue
        end = m.end()
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        chunk = text[s:e]
        lead = len(chunk) - len(chunk.lstrip())
        trail = len(chunk) - len(chunk.rstrip())
        if e - trail > s + lead:
            out.append((offset + s + lead, offset + e - trail))
    return out


def paragraphs(body: str) -> list[tuple[int, int]]:
    """Spans of the non-empty lines of a body: the seeds and most extracted text have one
    paragraph per line."""
    spans = []
    pos = 0
    for line in body.split("\n"):
        if line.strip():
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans
