"""The editable data of the story, compiled for matching: actors, topics and cue phrases.

Everything here comes from ``actors.yaml``, ``topics.yaml`` and ``cues.yaml`` in the corpus folder;
no word list lives in code.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from bot.corpus import CorpusError
from bot.text import fold, phrase_tokens

GAP = 3  # words a "*" in a phrase may stand for


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    actor_id: str


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    kind: str
    aliases: tuple[str, ...]
    people: tuple[Person, ...]


@dataclass(frozen=True)
class Mention:
    """An actor named in a sentence: ``person`` is set when a person was named."""

    actor_id: str
    person: Person | None
    start: int
    end: int


@dataclass(frozen=True)
class Match:
    category: str
    start: int  # token indexes, end exclusive
    end: int
    phrase: tuple[str, ...]


class PhraseMatcher:
    """Finds lexicon phrases in a stemmed token list; overlapping matches go to the longest."""

    def __init__(self, phrases: dict[str, list[str]]) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for category, items in phrases.items():
            for item in items:
                toks = phrase_tokens(item)
                if toks:
                    self._by_first.setdefault(toks[0], []).append((toks, category))

    def find(
        self, words: list[str], surface: list[str] | None = None, *, overlapping: bool = False
    ) -> list[Match]:
        """Matches in ``words`` (stemmed); ``surface`` (unstemmed) serves "=word" entries.
        Where matches overlap the longest wins, unless ``overlapping`` asks for all."""
        found: list[Match] = []
        by_first = self._by_first
        for i, w in enumerate(words):
            first = by_first.get(w, ())
            if surface is not None and ("=" + surface[i]) in by_first:
                first = [*first, *by_first["=" + surface[i]]]
            for toks, category in first:
                end = _match_at(words, surface, i, toks)
                if end is not None:
                    found.append(Match(category, i, end, toks))
        if overlapping:
            return found
        # Longest first, then earliest; keep those that do not overlap a kept one.
        found.sort(key=lambda m: (-(m.end - m.start), m.start))
        taken: set[int] = set()
        kept: list[Match] = []
        for m in found:
            span = set(range(m.start, m.end))
            if not span & taken:
                kept.append(m)
                taken |= span
        return sorted(kept, key=lambda m: m.start)


def _match_at(
    words: list[str], surface: list[str] | None, i: int, toks: tuple[str, ...]
) -> int | None:
    """End index if ``toks`` (with "*" gaps) matches ``words`` from ``i``, else None."""

    n = len(words)
    pos = i
    k = 0
    while k < len(toks):
        t = toks[k]
        if t == "*":
            nxt = toks[k + 1]
            for gap in range(GAP + 1):
                if _same(words, surface, pos + gap, nxt, n):
                    pos += gap
                    break
            else:
                return None
            k += 1
            continue
        if not _same(words, surface, pos, t, n):
            return None
        pos += 1
        k += 1
    return pos


def _same(words: list[str], surface: list[str] | None, pos: int, t: str, n: int) -> bool:
    if pos >= n:
        return False
    if t[0] == "=":
        return surface is not None and surface[pos] == t[1:]
    return words[pos] == t


@dataclass(frozen=True)
class Topic:
    id: str
    label: str
    proposition: str
    description: str
    search_terms: tuple[str, ...]
    anchors: PhraseMatcher = field(compare=False)
    weak: PhraseMatcher = field(compare=False)
    context: PhraseMatcher = field(compare=False)
    direction: PhraseMatcher = field(compare=False)  # categories "support" / "oppose"


@dataclass
class Lexicon:
    actors: dict[str, Actor]
    topics: dict[str, Topic]
    cues: PhraseMatcher
    topic_terms: PhraseMatcher  # every topic's anchors, weak anchors and context, in one pass
    cue_lists: dict[str, list[str]]
    negation_scope: int
    max_joint_holders: int
    _alias_re: re.Pattern[str]
    _alias_to: dict[str, tuple[str, Person | None]]

    @classmethod
    def from_data(cls, lexicons: dict[str, Any]) -> Lexicon:
        actors, alias_to = _actors(lexicons["actors.yaml"])
        topics = _topics(lexicons["topics.yaml"])
        cues = lexicons["cues.yaml"]
        lists = {k: v for k, v in cues.items() if isinstance(v, list)}
        for k, items in lists.items():
            odd = [x for x in items if not isinstance(x, str)]
            if odd:  # YAML reads a bare no, on or off as a boolean
                raise CorpusError(f"cues.yaml: {k}: {odd[0]!r} is not text; put it in quotes")
        matched = ("refusal", "negation", "hedge", "commitment", "condition", "necessity")
        optional = (
            "neutral",
            "hearsay",
            "need",
            "requirement",
            "until",
            "precondition",
            "others",
            "closure",
        )
        missing = [k for k in (*matched, "action", "speculation", "speech") if k not in lists]
        if missing:
            raise CorpusError(f"cues.yaml: missing lists {', '.join(missing)}")
        # One pass over a clause finds every cue; "action" words are matched apart because a
        # negation needs them even where a longer cue phrase covers the same words.
        cue_matcher = PhraseMatcher(
            {k: lists.get(k, []) for k in (*matched, *optional, "speculation")}
        )
        aliases = sorted(alias_to, key=len, reverse=True)
        alias_re = re.compile(
            r"(?<![\w-])(" + "|".join(re.escape(a) for a in aliases) + r")(?:['’]s)?(?![\w-])"
        )
        topic_terms = PhraseMatcher(
            {
                f"{t['id']}\t{kind}": t.get(key, [])
                for t in lexicons["topics.yaml"]["topics"]
                for kind, key in (
                    ("anchor", "anchors"),
                    ("weak", "weak_anchors"),
                    ("context", "context"),
                )
            }
        )
        return cls(
            actors=actors,
            topics=topics,
            cues=cue_matcher,
            topic_terms=topic_terms,
            cue_lists=lists,
            negation_scope=int(cues.get("negation_scope", 8)),
            max_joint_holders=int(cues.get("max_joint_holders", 2)),
            _alias_re=alias_re,
            _alias_to=alias_to,
        )

    def mentions(self, text: str, offset: int = 0) -> list[Mention]:
        out = []
        for m in self._alias_re.finditer(text):
            actor_id, person = self._alias_to[m.group(1)]
            out.append(Mention(actor_id, person, offset + m.start(), offset + m.end()))
        return out

    def resolve_actor(self, name: str) -> Actor | None:
        """An actor from what a user typed: id, name, alias or a person's name, any case."""
        key = fold(name.strip()).replace("_", " ")
        for actor in self.actors.values():
            if key in {fold(actor.id).replace("_", " "), fold(actor.name)}:
                return actor
        for alias, (actor_id, _) in self._alias_to.items():
            if fold(alias) == key:
                return self.actors[actor_id]
        return None

    def suggest_actors(self, name: str, n: int = 3) -> list[str]:
        names = {fold(a.name): a.name for a in self.actors.values()}
        for alias, (actor_id, _) in self._alias_to.items():
            names.setdefault(fold(alias), self.actors[actor_id].name)
        close = difflib.get_close_matches(fold(name), list(names), n=n * 3, cutoff=0.6)
        return list(dict.fromkeys(names[c] for c in close))[:n]

    def resolve_topic(self, name: str) -> Topic | None:
        key = fold(name.strip()).replace(" ", "_").replace("-", "_")
        for topic in self.topics.values():
            if key in {topic.id, fold(topic.label).replace(" ", "_")}:
                return topic
        return None

    def suggest_topics(self, name: str) -> list[str]:
        return difflib.get_close_matches(fold(name), list(self.topics), n=3, cutoff=0.5)


def _actors(data: dict[str, Any]) -> tuple[dict[str, Actor], dict[str, tuple[str, Person | None]]]:
    actors: dict[str, Actor] = {}
    alias_to: dict[str, tuple[str, Person | None]] = {}
    a: Any = None
    try:
        for a in data["actors"]:
            people = tuple(
                Person(p["name"], p.get("role", ""), a["id"]) for p in a.get("people", [])
            )
            actors[a["id"]] = Actor(
                a["id"], a["name"], a.get("kind", "country"), tuple(a["aliases"]), people
            )
            for alias in [a["name"], *a["aliases"]]:
                alias_to.setdefault(alias, (a["id"], None))
            for p, raw in zip(people, a.get("people", []), strict=True):
                for alias in [p.name, *raw.get("aliases", [])]:
                    alias_to.setdefault(alias, (a["id"], p))
    except (KeyError, TypeError) as exc:
        raise CorpusError(
            f"actors.yaml: {_entry('actor', data, 'actors', a)}: each actor needs id, name and "
            f"aliases, and each of its people a name ({_why(exc)})"
        ) from exc
    return actors, alias_to


def _topics(data: dict[str, Any]) -> dict[str, Topic]:
    topics: dict[str, Topic] = {}
    t: Any = None
    try:
        for t in data["topics"]:
            topics[t["id"]] = Topic(
                id=t["id"],
                label=t["label"],
                proposition=t["proposition"],
                description=t.get("description", ""),
                search_terms=tuple(t["search_terms"]),
                anchors=PhraseMatcher({"anchor": t["anchors"]}),
                weak=PhraseMatcher({"weak": t.get("weak_anchors", [])}),
                context=PhraseMatcher({"context": t.get("context", [])}),
                direction=PhraseMatcher(
                    {"support": t.get("support", []), "oppose": t.get("oppose", [])}
                ),
            )
    except (KeyError, TypeError) as exc:
        raise CorpusError(
            f"topics.yaml: {_entry('topic', data, 'topics', t)}: each topic needs id, label, "
            f"proposition, search_terms, anchors ({_why(exc)})"
        ) from exc
    return topics


def _entry(kind: str, data: Any, key: str, entry: Any) -> str:
    """Which entry broke, as an editor finds it: its number in the list and its id."""
    entries = data.get(key) if isinstance(data, dict) else None
    if not isinstance(entries, list) or entry is None:
        return f"the top level needs a list '{key}:'"
    number = next(i for i, e in enumerate(entries, start=1) if e is entry)
    named = f" {entry['id']!r}" if isinstance(entry, dict) and "id" in entry else ""
    return f"{kind} {number}{named}"


def _why(exc: Exception) -> str:
    return f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
