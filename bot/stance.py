"""Where a stance comes from: passage annotation at index time, aggregation at question time.

Annotation reads one article sentence by sentence:
1. topics: a sentence is about a topic when it has one of the topic's anchors (or a weak anchor
   with a context word); a sentence with cues but no topic continues the previous sentence's
   single topic ("Poland, for example, has ruled out involvement").
2. clauses: the sentence is cut at clause breaks ("but", "while", ";" ...), so that two actors
   in one sentence keep their own positions.
3. the cue of each clause decides its stance, in this order: necessity ("impossible without a US
   backstop" = the backstop is needed), refusal, negation with scope, hedge, commitment, and
   topic direction words ("lift sanctions" is against keeping them); conditions turn a
   commitment (or a refusal) into ``conditional``.
4. the holder is who speaks when the cue is inside a quote, else the named actor nearest before
   the cue that is not an object ("troops to Ukraine") nor part of an anchor ("US backstop"),
   else the sentence's reported speaker, else a pronoun or role reference resolved to the last
   named person of the two sentences before.
Each claim keeps its cue so that every stance names its evidence.

Aggregation gives one position per actor and topic: one vote per article, weighted by cue
strength; weak evidence alone (direction words only) gives no position.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from itertools import pairwise

from bot.lexicon import Lexicon, Match, Mention, Person, PhraseMatcher, Topic
from bot.models import Article, Stance
from bot.text import STOPWORDS, Token, index_tokens, paragraphs, phrase_tokens, split_sentences

CONTRA = {"support": "oppose", "oppose": "support"}
# How far back a pronoun or role reference may point, in sentences.
BACK_SENTENCES = 2


@dataclass(frozen=True)
class Claim:
    actor_id: str
    topic: str
    stance: Stance
    strength: int  # 1 weak (direction word), 2 commitment/hedge, 3 refusal/necessity/negation
    cue: str
    speaker: str | None


@dataclass
class Passage:
    article_id: str
    start: int
    end: int
    text: str
    actors: set[str] = field(default_factory=set)  # every actor named
    speakers: set[str] = field(default_factory=set)  # who speaks or acts: not mere objects
    topics: set[str] = field(default_factory=set)
    claims: list[Claim] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)  # BM25 terms, as ``search_tokens`` gives


@dataclass
class _Sentence:
    start: int
    end: int
    text: str
    paragraph: int
    tokens: list[Token]
    words: list[str]
    surface: list[str]
    in_quote: list[bool]
    mentions: list[tuple[int, Mention]]  # (token index, mention)
    people: list[tuple[int, Person]]
    speaker: Mention | None = None
    topics: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    named: set[int] = field(default_factory=set)  # tokens that are part of a mention
    aside: set[int] = field(default_factory=set)  # ", who ...," and (...): not the subject's
    terms: list[str] = field(default_factory=list)  # its BM25 terms
    open_quote: bool = False  # a quote runs on into the next sentence
    names: dict[int, str] = field(default_factory=dict)  # a person's name as written, by offset


class StanceAnnotator:
    """Turns an article into passages with their claims; pure function of text and lexicon."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lx = lexicon
        lists = lexicon.cue_lists
        self.actions = PhraseMatcher({"action": lists["action"]})
        self.inaction = PhraseMatcher({"inaction": lists.get("inaction", [])})
        self.timing_tail = PhraseMatcher({"tail": lists.get("timing_tail", [])})
        self.speech = PhraseMatcher({"speech": lists["speech"]})
        self.not_now = {" ".join(phrase_tokens(x)) for x in lists.get("not_now", [])}
        self.inverted = {" ".join(phrase_tokens(x)) for x in lists.get("inverted_speech", [])}
        self.breaks = PhraseMatcher({"break": lists.get("clause_break", [])})
        # Word lists that are only ever looked up one word at a time.
        self.objects = _words(lists.get("object_preposition", []))
        self.modified = _words(lists.get("modified_nouns", []))
        self.role_words = _words(lists.get("role_nouns", []))
        self.issues = _words(lists.get("closure_subjects", []))
        self.not_names = {w.lower() for w in lists.get("not_given_names", [])}
        self.not_names |= {
            w.lower()
            for x in lists.get("role_nouns", [])
            + [p.role for a in lexicon.actors.values() for p in a.people]
            for w in re.split(r"[\s,-]+", x)
            if w
        }
        self.not_names |= {
            w.lower()
            for a in lexicon.actors.values()
            for x in (a.name, *a.aliases)
            for w in x.split()
        }
        self.requirements = {phrase_tokens(x) for x in lists.get("requirement", [])}
        self.joiners = _words(lists.get("group_joiners", []))
        self.modal_words = _words(lists.get("modal_commit", []) + lists.get("modal_possible", []))
        self.roles = PhraseMatcher({"role": lists.get("role_nouns", [])})
        self.backrefs = PhraseMatcher({"ref": lists.get("back_reference", [])})
        self.asides = PhraseMatcher({"aside": lists.get("aside_openers", [])})
        self.modals = PhraseMatcher(
            {"will": lists.get("modal_commit", []), "could": lists.get("modal_possible", [])}
        )

    # --- per article ------------------------------------------------------------------------

    def annotate(self, article: Article) -> list[Passage]:
        body = article.body
        sentences: list[_Sentence] = []
        for p_index, (ps, pe) in enumerate(paragraphs(body)):
            in_quote = False
            for s, e in split_sentences(body[ps:pe], ps):
                sent, in_quote = self._sentence(body, s, e, p_index, in_quote)
                sentences.append(sent)
        for i in range(len(sentences)):
            self._find_speaker(sentences, i)
        # '"Europe has to arm itself. Those who hesitate are wrong," Tusk said.': a quote that
        # runs into the next sentence has that sentence's speaker.
        for i in range(len(sentences) - 2, -1, -1):
            sent, after = sentences[i], sentences[i + 1]
            if sent.speaker is None and sent.open_quote and after.paragraph == sent.paragraph:
                sent.speaker = after.speaker
        passages = []
        for i, sent in enumerate(sentences):
            carried = _carried_topics(sentences, i)
            passage = Passage(
                article.id, sent.start, sent.end, body[sent.start : sent.end], terms=sent.terms
            )
            passage.actors = {m.actor_id for _, m in sent.mentions}
            passage.speakers = {
                m.actor_id for k, m in sent.mentions if not self._is_object(sent, k)
            } | ({sent.speaker.actor_id} if sent.speaker else set())
            passage.topics = set(sent.topics)
            passage.claims = self._claims(sentences, i, carried)
            passage.topics |= {c.topic for c in passage.claims}
            passages.append(passage)
        return passages

    def _sentence(
        self, body: str, s: int, e: int, paragraph: int, in_quote: bool
    ) -> tuple[_Sentence, bool]:
        tokens, terms = index_tokens(body[s:e], s)
        words = [t.text for t in tokens]
        surface = [t.surface for t in tokens]
        quote_mask = []
        for t in tokens:
            ch = body[t.start]
            if t.kind == "punct" and ch in '“”"':
                # Curly quotes say which way they go; a straight quote toggles.
                in_quote = {"“": True, "”": False}.get(ch, not in_quote)
            quote_mask.append(in_quote)
        mentions = []
        for m in self.lx.mentions(body[s:e], s):
            idx = next((k for k, t in enumerate(tokens) if t.start >= m.start), len(tokens) - 1)
            mentions.append((idx, m))
        sent = _Sentence(
            s,
            e,
            body[s:e],
            paragraph,
            tokens,
            words,
            surface,
            quote_mask,
            mentions,
            [(k, m.person) for k, m in mentions if m.person],
        )
        sent.topics = _topics(self.lx, words, surface)
        sent.names = {
            m.start: self._written_name(body, s, m) for _, m in mentions if m.person is not None
        }
        sent.open_quote = in_quote
        sent.terms = terms
        sent.aside = _asides(words)
        sent.named = {
            k for k, t in enumerate(tokens) for _, m in mentions if m.start <= t.start < m.end
        }
        return sent, in_quote

    # --- who speaks -----------------------------------------------------------------------

    def _find_speaker(self, sentences: list[_Sentence], i: int) -> None:
        """The reported speaker of a sentence: who a speech verb outside the quotes points to,
        or, for a quote that runs on from the sentence before, that sentence's speaker."""
        sent = sentences[i]
        usable = [(k, m) for k, m in sent.mentions if not self._is_object(sent, k)]
        framed = self._speech_frame(sentences, i, 0, len(sent.words), usable)
        if framed:
            sent.speaker = next((m for m in framed if m.person), framed[0])
        elif sent.in_quote and sent.in_quote[0] and i > 0:
            # A quote that runs on, in the same paragraph or into a new one that opens with it.
            prev = sentences[i - 1]
            if prev.paragraph == sent.paragraph or any(prev.in_quote):
                sent.speaker = prev.speaker

    def _speech_frame(
        self,
        sentences: list[_Sentence],
        i: int,
        lo: int,
        hi: int,
        usable: list[tuple[int, Mention]],
    ) -> list[Mention]:
        """Who a speech verb between ``lo`` and ``hi`` reports: "Tusk said", "said Tusk", "he
        said", "the chancellor said"; not a verb inside a quote or a condition ("if Putin does
        not agree")."""
        sent = sentences[i]
        words = sent.words[lo:hi]
        stops = _stops(words)
        conditional = {
            lo + k
            for m in self.lx.cues.find(words, sent.surface[lo:hi])
            if m.category in ("condition", "requirement")
            for k in range(m.start, _next_stop(stops, m.end, len(words)))
        }
        verbs = self.speech.find(words)
        # "Starmer: US 'backstop' essential", "Frederiksen, speaking to reporters: "We are
        # ready..."": a colon after a name, or before a quote, reports speech.
        verbs += [
            Match("speech", k, k + 1, (":",))
            for k, w in enumerate(words)
            if w == ":"
            and (
                any(lo + k - 1 == j for j, _ in usable)
                or (k + 1 < len(words) and sent.in_quote[lo + k + 1])
            )
        ]
        for v in sorted(verbs, key=lambda v: v.start):
            start, end = lo + v.start, lo + v.end
            if sent.in_quote[start] or start in conditional:
                continue
            # A pronoun or role right before the verb is its subject, whoever else is near.
            refs = [
                r
                for r in self.backrefs.find(sent.words[max(0, start - 3) : start])
                + self.roles.find(sent.words[max(0, start - 3) : start])
                if max(0, start - 3) + r.end == start
            ]
            if refs and not any(start - 3 <= k < start for k, _ in usable):
                ref = self._back_reference(
                    sentences, i, replace(refs[0], start=max(0, start - 3) + refs[0].start)
                )
                if ref:
                    return [ref]
            if v.phrase == (":",):  # the subject opens the sentence: "Tusk, on arrival: ..."
                first = [(k, m) for k, m in usable if lo <= k < start and k not in sent.aside]
                if first:
                    return self._group(sent, first[:1])
                refs = self.backrefs.find(sent.words[lo:start])  # "His answer: ..."
                ref = refs and self._back_reference(
                    sentences, i, replace(refs[0], start=lo + refs[0].start)
                )
                if ref:
                    return [ref]
            near = _window_before(sent, start, max(lo, 0), 6)
            # "A US backstop is essential, said Tusk": a name qualifying the topic's noun is
            # the subject only when the frame names no one else.
            nearby = [(k, m) for k, m in usable if k in near]
            left = [(k, m) for k, m in nearby if not self._qualifies_topic(sent, k)]
            if left:
                return self._group(sent, left)
            # "said Tusk", "added the Kremlin" - only verbs that invert; "criticising Trump's
            # plan" names its object, not its speaker.
            if " ".join(v.phrase) in self.inverted:
                skip = 1 if end < len(sent.words) and sent.words[end] == "the" else 0
                # "said Michael Kellogg", "said Envoy Kellogg": up to two capitalised words (a
                # given name or a title) before the named person.
                while skip < 2 and end + skip < hi and end + skip not in sent.named:
                    tok = sent.tokens[end + skip]
                    if not (tok.kind != "punct" and sent.text[tok.start - sent.start].isupper()):
                        break
                    skip += 1
                right = [(k, m) for k, m in usable if k == end + skip and k < hi]
                if right:
                    return [right[0][1]]
            if nearby:
                return self._group(sent, nearby)
        return []

    def _back_reference(self, sentences: list[_Sentence], i: int, ref: Match) -> Mention | None:
        """The person "he", "his country" or "the chancellor" points back to: in the nearest
        sentence before that has one, its speaker, else the person it is about (the first
        named as a subject); then a person named earlier in this sentence; else any person
        named before. A role must fit."""
        sent = sentences[i]
        role = " ".join(ref.phrase) if ref.category == "role" else None
        candidates: list[Person] = []
        earlier = [sentences[j] for j in range(i - 1, max(-1, i - 1 - BACK_SENTENCES), -1)]
        for s in earlier:
            if s.speaker and s.speaker.person:
                candidates.append(s.speaker.person)
            candidates += [
                p for k, p in s.people if not s.in_quote[k] and not self._is_object(s, k)
            ]
        candidates += [p for k, p in reversed(sent.people) if k < ref.start]
        for s in earlier:
            candidates += [p for _, p in reversed(s.people)]
        for person in candidates:
            if role is None or role in _role_words(person):
                return Mention(person.actor_id, person, -1, -1)
        return None

    def _written_name(self, body: str, sent_start: int, m: Mention) -> str:
        """The person's name as the sentence writes it: "Michael Kellogg" where the lexicon has
        Keith Kellogg and the sentence names a given name before the surname; the lexicon's
        name for a bare surname ("Kellogg"), a title ("Envoy Kellogg") or the exact name."""
        assert m.person is not None
        alias = _POSSESSIVE.sub("", body[m.start : m.end])
        if alias == m.person.name or " " in alias:
            return m.person.name
        before = body[sent_start : m.start].split(" ")[:-1][-2:]  # words right before
        given: list[str] = []
        for w in reversed(before):
            bare = w.replace("-", "").replace("'", "").replace("’", "")
            if not (
                bare.isalpha()
                and w[0].isupper()
                and not w.isupper()
                and w.lower() not in STOPWORDS
                and not set(w.lower().split("-")) & self.not_names
            ):
                break
            given.insert(0, w)
        if not given:
            return m.person.name
        return " ".join([*given, alias])

    def _speaker_name(self, sentences: list[_Sentence], mention: Mention) -> str | None:
        if mention.person is None:
            return None
        for sent in sentences:
            if sent.start <= mention.start < sent.end:
                return sent.names.get(mention.start, mention.person.name)
        return mention.person.name

    def _qualifies_topic(self, sent: _Sentence, k: int) -> bool:
        """A mention that names part of a topic phrase ("*US* backstop", "*American*
        guarantee", "*British* soldiers"): it lies inside a topic's anchor or right before
        one."""
        end = next((j for j in range(k, len(sent.words)) if j not in sent.named), len(sent.words))
        return any(a <= k < b or a == end for spans in sent.topics.values() for a, b in spans)

    def _is_object(self, sent: _Sentence, k: int) -> bool:
        """A mention right after a preposition is what the clause is about, not who speaks,
        unless a role noun comes first ("the leaders of France"); so is one that only
        qualifies a noun ("close Kremlin ties", "Russian aggression")."""
        end = next((j for j in range(k, len(sent.words)) if j not in sent.named), len(sent.words))
        if end < len(sent.words) and sent.words[end] in self.modified:
            return True
        j = k - 1
        while j >= 0 and sent.words[j] in {"the", "a", "an"}:
            j -= 1
        if j < 0 or sent.words[j] not in self.objects:
            return False
        if j > 0 and f"{sent.words[j - 1]} {sent.words[j]}" in self.inverted:
            return False  # "according to Tusk" names the speaker
        return not (j > 0 and sent.words[j - 1] in self.role_words)

    # --- clauses and claims ---------------------------------------------------------------

    def _claims(
        self, sentences: list[_Sentence], i: int, carried: dict[str, list[tuple[int, int]]]
    ) -> list[Claim]:
        sent = sentences[i]
        if not sent.topics and not carried:
            return []
        claims: dict[tuple[str, str], Claim] = {}
        anchor_tokens = {k for spans in sent.topics.values() for a, b in spans for k in range(a, b)}
        for lo, hi in self._clauses(sent):
            topics = {t: s for t, s in sent.topics.items() if any(lo <= a < hi for a, _ in s)}
            if not topics and len(sent.topics) == 1:
                topics = dict(sent.topics)
            if not topics and not sent.topics and len(carried) == 1:
                topics = dict(carried)
            # "would send troops if a peace deal is signed": the clause is about troops, and the
            # peace deal only its condition - no claim on the talks.
            named_in = self._conditions(sent, lo, hi)
            mine = {t: [(a, b) for a, b in s if lo <= a < hi] for t, s in topics.items()}
            outside = {t for t, s in mine.items() if any(set(range(a, b)) - named_in for a, b in s)}
            for topic_id in topics:
                if mine[topic_id] and topic_id not in outside and outside:
                    continue
                verdict = self._classify(sent, lo, hi, self.lx.topics[topic_id])
                if verdict is None:
                    continue
                stance, strength, cue_at, cue = verdict
                for mention in self._holders(sentences, i, lo, hi, cue_at, anchor_tokens):
                    speaker = self._speaker_name(sentences, mention)
                    claim = Claim(mention.actor_id, topic_id, stance, strength, cue, speaker)
                    key = (mention.actor_id, topic_id)
                    # The later clause wins a tie: "X criticised the talks, saying Z" - Z is it.
                    if key not in claims or claims[key].strength <= strength:
                        claims[key] = claim
        return list(claims.values())

    def _conditions(self, sent: _Sentence, lo: int, hi: int) -> set[int]:
        """Tokens of a clause's plain conditions ("if a peace deal is signed", "once a ceasefire
        holds", "until ..."), to the next comma: a topic named only there is the condition, not
        a position on it. A requirement ("only if the US provides a backstop") is not one: it
        names what is needed."""
        words = sent.words[lo:hi]
        stops = _stops(words)
        found = self.lx.cues.find(words, sent.surface[lo:hi])
        # "only if the US provided a backstop": a word inside a requirement is part of it.
        required = {
            k
            for m in found
            if m.phrase in self.requirements
            for k in range(m.start, _next_stop(stops, m.end, len(words)))
        }
        return {
            lo + k
            for m in found
            if m.category in ("condition", "until")
            and m.phrase not in self.requirements
            and m.start not in required
            for k in range(m.start, _next_stop(stops, m.end, len(words)))
        }

    def _clauses(self, sent: _Sentence) -> list[tuple[int, int]]:
        cues = self.lx.cues.find(sent.words, sent.surface)
        inside = {k for c in cues if c.end - c.start > 1 for k in range(c.start + 1, c.end)}
        conditions = {c.start for c in cues if c.category == "condition"}
        cuts = [0]
        for m in self.breaks.find(sent.words):
            # "not yet" is one cue; "but only if ..." qualifies what came before.
            if m.start in inside or {m.end, m.end + 1} & conditions:
                continue
            if m.start > cuts[-1]:
                cuts.append(m.start)
        for m in self.speech.find(sent.words):
            if m.start > 0 and sent.words[m.start - 1] == "," and not sent.in_quote[m.start]:
                cuts.append(m.start)  # "..., asserting that ...": what follows is its own clause
        for m in self.asides.find(sent.words):
            if m.start == 0 or sent.words[m.start - 1] == ",":
                # "While Paris has committed to sending troops, Rome has made clear it will not."
                # "Asked about troops, Stubb said ..." : the aside ends at its comma.
                comma = next(
                    (k for k in range(m.end, len(sent.words)) if sent.words[k] == ","), None
                )
                if comma is not None:
                    cuts.extend([m.start, comma + 1])
        cuts = sorted(set(cuts))
        cuts.append(len(sent.words))
        return [(a, b) for a, b in pairwise(cuts) if b > a]

    def _classify(
        self, sent: _Sentence, lo: int, hi: int, topic: Topic
    ) -> tuple[Stance, int, int, str] | None:
        """(stance, strength, token index of the deciding cue, the cue) for one clause."""
        words = sent.words[lo:hi]
        # A cue word inside an anchor is part of the topic's name ("US support", "air support").
        named = {k - lo for spans in sent.topics.values() for a, b in spans for k in range(a, b)}
        found = self.lx.cues.find(words, sent.surface[lo:hi])
        cues = [m for m in found if not named & set(range(m.start, m.end))]
        # "only if", "unless": a condition that names what is needed.
        cues = [
            replace(m, category="requirement")
            if m.category == "condition" and m.phrase in self.requirements
            else m
            for m in cues
        ]
        by = {c: [m for m in cues if m.category == c] for c in _CATEGORIES}
        # "The issue of sending troops is closed": a closure whose subject is an issue, however
        # many words name it, is a refusal.
        for m in by["closure"]:
            subject = [
                k
                for k in range(max(0, m.start - CLOSURE_REACH), m.start)
                if words[k] in self.issues
            ]
            if subject and not any(w in _STOP_PUNCT for w in words[subject[-1] : m.start]):
                by["refusal"].append(Match("refusal", subject[-1], m.end, m.phrase))
        by["refusal"].sort(key=lambda m: m.start)
        verdict = self._verdict(sent, lo, words, by, topic)
        # Hopes, fears or a question about someone ("optimistic that Washington will back
        # it") are not that one's position.
        if verdict and any(lo + h.start < verdict[2] for h in by["hearsay"]):
            return None
        return verdict

    def _verdict(
        self, sent: _Sentence, lo: int, words: list[str], by: dict[str, list[Match]], topic: Topic
    ) -> tuple[Stance, int, int, str] | None:
        anchors = {k - lo for a, b in sent.topics.get(topic.id, []) for k in range(a, b)}
        anchors = {k for k in anchors if 0 <= k < len(words)}
        others = {
            k - lo
            for t, spans in sent.topics.items()
            if t != topic.id
            for a, b in spans
            for k in range(a, b)
            if 0 <= k - lo < len(words)
        }

        def bears(m: Match) -> bool:
            """A cue speaks to this topic when this topic's anchor is the nearest one and is
            near ("reluctant to commit troops", not a "must" twenty words away)."""
            if not anchors:  # a topic carried over from the sentence before
                return True
            mine = min(abs(k - m.start) for k in anchors)
            theirs = min((abs(k - m.start) for k in others), default=MAX_CUE_DISTANCE + 1)
            return mine <= MAX_CUE_DISTANCE and mine <= theirs

        stops = _stops(words)
        # A cue inside a condition is part of the condition ("if the US does not agree to").
        in_condition = {
            k
            for m in by["condition"] + by["requirement"]
            for k in range(m.start, _next_stop(stops, m.end, len(words)))
        }
        # "Not every nation will be able to contribute": what follows is about others, up to
        # the next comma; its modal, negation or cue is nobody's position here.
        of_others = {
            k for m in by["others"] for k in range(m.start, _next_stop(stops, m.end, len(words)))
        }
        by = {
            c: [
                m
                for m in found
                if m.start not in of_others
                and (c not in _ANCHORED or (bears(m) and m.start not in in_condition))
            ]
            for c, found in by.items()
        }
        # A direction word speaks for the topic next to its anchor: "lift sanctions", not the
        # "lower house" twelve words on.
        direction = [
            m
            for m in topic.direction.find(words)
            if m.start not in in_condition
            and m.start not in of_others
            and (not anchors or min(abs(k - m.start) for k in anchors) <= DIRECTION_REACH)
        ]
        dir_oppose = [m for m in direction if m.category == "oppose"]

        def future(m: Match) -> bool:
            """ "going to leave" is the future; "going to Ukraine" or "to the front" is going."""
            if m.end >= len(words) or words[m.end] in {"the", "a", "an"}:
                return False
            token = sent.tokens[lo + m.end]
            return sent.text[token.start - sent.start].islower()

        # "sit back", "stand by": doing nothing; its "back" is no action.
        idle = _spans(self.inaction.find(words))
        actions = {
            k
            for m in self.actions.find(words)
            if not (m.phrase == ("go", "to") and future(m))
            for k in range(m.start, m.end)
        } - idle
        commits = {k for m in by["commitment"] for k in range(m.start, m.end)}
        stops = _stops(words)

        def text(m: Match) -> str:
            return _span(sent, lo + m.start, lo + m.end)

        def at(m: Match) -> int:
            return lo + m.start

        # "without" / "impossible without" right before this topic's anchor: it is needed.
        for m in by["necessity"]:
            if any(m.end <= k <= m.end + 3 for k in anchors):
                return "support", 3, at(m), text(m)
        openers = by["condition"] + by["requirement"] + by["necessity"]
        if_spans = [(m.start, _next_stop(stops, m.end, len(words))) for m in openers]

        def in_if(k: int) -> bool:
            return any(a <= k < b for a, b in if_spans)

        # "only if the United States provides a backstop": the condition names what is needed.
        for m in by["requirement"]:
            end = _next_stop(stops, m.end, len(words))
            if any(m.end <= k < end for k in anchors) and not any(k < m.start for k in anchors):
                return "support", 2, at(m), text(m)

        # "without X": X is needed, unless X is another topic's anchor ("will not send troops
        # without a US backstop"), which makes it a condition.
        needs_other = [c for c in by["necessity"] if any(c.end <= k <= c.end + 4 for k in others)]
        # What makes a yes conditional: "if", "only if", "once", or "without" another topic's
        # anchor - not any "without" ("paid for without new taxes").
        conditions = by["condition"] + by["requirement"] + needs_other
        # "without" that is itself the topic's opposite ("a deal without Ukraine") is no
        # condition: refusing it is a double negative.
        opposite = _spans(dir_oppose)
        withouts = [c for c in by["necessity"] if c.start not in opposite]

        def refused_unless(after: int, c: Match) -> bool:
            """This topic's anchor stands between the no and its "without": what is refused is
            the topic itself, and "without ..." is the condition ("opposed to deploying troops
            without a clear US role" = would deploy with one)."""
            return any(after <= k < c.start for k in anchors)

        for m in by["refusal"]:
            if any(d.start >= m.end for d in dir_oppose):  # "rejected calls to lift sanctions"
                return "support", 3, at(m), text(m)
            needed = [c for c in withouts if c.start > m.start and c not in needs_other]
            if any(refused_unless(m.end, c) for c in needed):
                return "conditional", 3, at(m), text(m)
            if needed:  # "would not accept any deal made without its participation"
                return "support", 3, at(m), text(m)
            if conditions or by["until"]:
                return "conditional", 3, at(m), text(m)
            return "oppose", 3, at(m), text(m)

        necessities = _spans(by["necessity"])
        # "no place at the table" is one direction phrase: its "no" is no negation of its own.
        owned = _spans(direction)
        by["negation"] = [m for m in by["negation"] if m.start not in owned]
        negations = [m.start for m in by["negation"]]
        for m in by["negation"]:
            end = min(_next_stop(stops, m.end, len(words)), m.end + self.lx.negation_scope)
            end = min([end] + [n for n in negations if n > m.start])
            # Nor past the end of a quote: '"We will not stay out," he said of deploying'.
            inside = sent.in_quote[lo + m.start]
            end = next((k for k in range(m.end, end) if sent.in_quote[lo + k] != inside), end)
            scope = set(range(m.end, end))
            # "Rome has made clear it will not." says no to what the sentence is about.
            rest = words[m.end :]
            if rest[:2] == ["go", "to"]:  # "Rome is not going to."
                rest = rest[2:]
            elided = all(w in _STOP_PUNCT or w == "." for w in rest)
            topical = scope & (anchors | _spans(direction))
            hit = scope & (anchors | actions | commits | _spans(direction) | necessities)
            shown = replace(m, end=min(hit) + 1) if hit else m  # "not send", not just "not"
            if m.start > 0 and words[m.start - 1] in self.modal_words:
                shown = replace(shown, start=m.start - 1)  # "will not send"
            if in_if(m.start):
                # "if we do not act on defence, ..." = it is needed; "if the US does not take
                # part" is a condition on someone else.
                opener = max(a for a, b in if_spans if a <= m.start < b)
                someone = any(opener < k - lo < m.start for k, _ in sent.mentions)
                if topical and not someone:
                    return "support", 2, at(m), text(shown)
                continue
            if not elided and not topical and not scope & (actions | commits | necessities):
                if scope & idle:  # "that can't mean that we sit back": something must be done
                    return "support", 2, at(m), text(replace(m, end=max(scope & idle) + 1))
                continue
            # "will not lift sanctions", "no negotiations without Ukraine": a double negative.
            double = scope & (_spans(dir_oppose) | _spans(by["necessity"]))
            # "Without those two things, I do not see a German deployment": a fronted
            # "without" is the condition of the no; so is one after the topic ("will not send
            # troops without a clear mandate").
            fronted = [c for c in by["necessity"] if c.start < m.start]
            fronted += [c for c in withouts if c.start in scope and refused_unless(m.end, c)]
            outside = fronted + [
                c
                for c in by["condition"] + by["requirement"] + by["until"] + needs_other
                if c in needs_other or not set(range(c.start, c.end)) & scope
            ]
            stance: Stance = "conditional" if outside else "support" if double else "oppose"
            # "would not commit troops to Ukraine yet": a no for now is undecided, like "not
            # yet"; "will not lift sanctions yet" still keeps them.
            clause_end = _next_stop(stops, m.end, len(words))
            later = [
                t
                for t in self.timing_tail.find(words)
                if m.end <= t.start < clause_end
                and (t.end >= len(words) or words[t.end] in _STOP_PUNCT | {"."})
            ]
            if later and stance == "oppose":
                return "undecided", 2, at(m), text(replace(shown, end=later[0].end))
            return stance, 3, at(m), text(shown)

        if by["hedge"]:
            m = by["hedge"][0]
            timing = " ".join(m.phrase) in self.not_now
            if timing and any(d.start >= m.end for d in dir_oppose):  # "too early to lift"
                return "support", 2, at(m), text(m)
            return "undecided", 2, at(m), text(m)

        for m in by["precondition"]:  # "the precondition for lifting them": they stay until then
            if any(d.start >= m.end for d in dir_oppose):
                return "support", 2, at(m), text(m)

        # "will send", "would commit forces": a modal right before an action is a commitment.
        # The action must bear on the topic: "would commit forces", "will raise spending".
        aimed = {k for k in actions if any(abs(a - k) <= 6 for a in anchors)} | _spans(direction)
        modal = [
            m
            for m in self.modals.find(words)
            if any(m.end <= k <= m.end + 1 for k in aimed) and m.start not in of_others
        ]
        pro = by["need"] + by["commitment"] + [m for m in modal if m.category == "will"]
        if pro:
            # Of several, the one nearest the topic speaks for it: in "Europe must play its
            # role, and I'm prepared to consider committing forces if ...", "prepared to".
            m = min(pro, key=lambda c: (_distance(c, anchors), c.start))
            if dir_oppose:  # "called for lifting sanctions"
                return "oppose", 2, at(m), text(m)
            if conditions and m not in by["need"]:  # a need's "if" is its purpose
                return "conditional", 2, at(m), text(m)
            return "support", 2, at(m), text(m)
        possible = [m for m in modal if m.category == "could"]
        if possible and conditions:  # "could contribute personnel once a ceasefire holds"
            return "conditional", 2, at(possible[0]), text(possible[0])

        if direction:
            m = direction[0]
            if by["speculation"]:
                return "undecided", 1, at(m), text(m)
            return m.category, 1, at(m), text(m)  # type: ignore[return-value]
        return None

    def _holders(
        self,
        sentences: list[_Sentence],
        i: int,
        lo: int,
        hi: int,
        cue_at: int,
        anchor_tokens: set[int],
    ) -> list[Mention]:
        sent = sentences[i]
        usable = [
            (k, m)
            for k, m in sent.mentions
            if lo <= k < hi
            and not sent.in_quote[k]
            and k not in anchor_tokens
            and not self._is_object(sent, k)
        ]
        # "Ukraine's participation is not on the agenda, the Kremlin said": who reports the
        # clause holds it, before any actor named inside it; a quote belongs to its speaker.
        framed = self._speech_frame(sentences, i, lo, hi, usable)
        if framed:
            return framed
        if sent.in_quote[cue_at] and sent.speaker:
            return [sent.speaker]
        if sent.in_quote[cue_at]:  # a quote with no known speaker: its own subject
            inside = [
                (k, m)
                for k, m in sent.mentions
                if lo <= k < cue_at and sent.in_quote[k] and not self._is_object(sent, k)
            ]
            if inside:
                return self._group(sent, inside)
        # "Demands for a seat were dismissed by Moscow": the agent of a passive holds it.
        agent = [
            (k, m) for k, m in usable if cue_at < k <= cue_at + 3 and sent.words[k - 1] == "by"
        ]
        if agent:  # with those listed after it: "by Hungary, Slovakia and others"
            return self._group_after(sent, [(k, m) for k, m in usable if k >= agent[0][0]])
        before = [(k, m) for k, m in usable if k < cue_at]
        if sent.speaker:  # "A US backstop is essential, said Tusk": the name is the topic's
            before = [(k, m) for k, m in before if not self._qualifies_topic(sent, k)]
        if before:
            return self._group(sent, before)
        if sent.speaker:
            return [sent.speaker]
        refs = [
            r for r in self.backrefs.find(sent.words[lo:cue_at]) if not sent.in_quote[lo + r.start]
        ]
        if refs:
            ref = self._back_reference(sentences, i, replace(refs[-1], start=lo + refs[-1].start))
            if ref:
                return [ref]
        return []

    def _group_after(self, sent: _Sentence, found: list[tuple[int, Mention]]) -> list[Mention]:
        """The first mention and those listed after it ("by Hungary, Slovakia and others")."""
        group = found[:1]
        for k, m in found[1:]:
            between = [
                w
                for j, w in enumerate(sent.words[group[-1][0] : k], group[-1][0])
                if j not in sent.named
            ]
            if not all(w in self.joiners for w in between):
                break
            group.append((k, m))
        # The nearest-first grouping decides whether it is a list and who is in it; if it is
        # no list ("by Hungary, Slovakia's ally"), the first holds it.
        listed = self._group(sent, group)
        return listed if len(listed) != 1 else [group[0][1]]

    def _group(self, sent: _Sentence, found: list[tuple[int, Mention]]) -> list[Mention]:
        """The nearest mention and those coordinated with it ("Germany and Poland")."""
        if not found:
            return []
        group = [found[-1]]
        conjoined = False
        for k, m in reversed(found[:-1]):
            between = [
                w
                for j, w in enumerate(sent.words[k + 1 : group[-1][0]], k + 1)
                if j not in sent.named
            ]
            if all(w in self.joiners or w in self.role_words for w in between):
                group.append((k, m))
                conjoined = conjoined or bool(set(between) & _CONJUNCTIONS)
            else:
                break
        if not conjoined and len(group) > 1:
            # "Hungary, Slovakia and other countries": the list's "and" comes after its last
            # named member; every member is treated alike.
            j = group[0][0]
            while j < len(sent.words) and j in sent.named:
                j += 1
            if j < len(sent.words) and sent.words[j] == ",":
                j += 1
            conjoined = j < len(sent.words) and sent.words[j] in _CONJUNCTIONS - {"as"}
        if not conjoined:  # "in war-torn Ukraine, Keir Starmer said" is no list
            group = group[:1]
        actors = {m.actor_id for _, m in group}
        if len(actors) > self.lx.max_joint_holders:
            return []
        # Keep one mention per actor, preferring a named person for the speaker field.
        best: dict[str, Mention] = {}
        for _, m in group:
            if m.actor_id not in best or (m.person and not best[m.actor_id].person):
                best[m.actor_id] = m
        return list(best.values())


_CATEGORIES = (
    "neutral",
    "hearsay",
    "refusal",
    "negation",
    "hedge",
    "commitment",
    "need",
    "precondition",
    "requirement",
    "until",
    "condition",
    "necessity",
    "speculation",
    "others",
    "closure",
)
_CONJUNCTIONS = {"and", "or", "nor", "as"}
_POSSESSIVE = re.compile(r"['’]s$")
# Cues that must stand near their topic's anchor (negation has its own scope).
_ANCHORED = {"refusal", "hedge", "need", "commitment"}
MAX_CUE_DISTANCE = 15
CLOSURE_REACH = 10  # words from "the issue" to its "is closed"
DIRECTION_REACH = 10
_STOP_PUNCT = {",", ";", ":", "(", ")", "—", "–"}


def _carried_topics(sentences: list[_Sentence], i: int) -> dict[str, list[tuple[int, int]]]:
    """The topic of the nearest earlier sentence of the paragraph (two back at most), when it
    had exactly one: "Poland, for example, has ruled out involvement" continues it."""
    for back in range(1, 3):
        j = i - back
        if j < 0 or sentences[j].paragraph != sentences[i].paragraph:
            break
        if sentences[j].topics:
            return dict(sentences[j].topics) if len(sentences[j].topics) == 1 else {}
    return {}


def _asides(words: list[str]) -> set[int]:
    """Tokens of relative clauses and brackets: "Meloni, who arrived late, said ..." keeps
    Meloni as the subject of "said"."""
    out: set[int] = set()
    depth = 0
    for k, w in enumerate(words):
        depth += w == "("
        if depth:
            out.add(k)
        depth -= w == ")" and depth > 0
    for k, w in enumerate(words[:-1]):
        if w == "," and words[k + 1] in {"who", "whose", "which", "whom"}:
            end = next((j for j in range(k + 2, len(words)) if words[j] == ","), len(words))
            out.update(range(k, end + 1))
    return out


def _window_before(sent: _Sentence, start: int, lo: int, size: int) -> set[int]:
    """The ``size`` tokens before ``start`` that are not in an aside."""
    out: set[int] = set()
    k = start - 1
    while k >= lo and len(out) < size:
        if k not in sent.aside:
            out.add(k)
        k -= 1
    return out


def _words(items: list[str]) -> frozenset[str]:
    """The one-word entries of a lexicon list, in cue-token form."""
    return frozenset(t[0] for t in map(phrase_tokens, items) if len(t) == 1)


def _topics(lx: Lexicon, words: list[str], surface: list[str]) -> dict[str, list[tuple[int, int]]]:
    """Each topic's anchor spans in a sentence; a weak anchor counts with a context word of
    its topic outside itself."""
    found: dict[str, dict[str, list[Match]]] = {}
    for m in lx.topic_terms.find(words, surface, overlapping=True):
        topic, kind = m.category.split("\t")
        found.setdefault(topic, {}).setdefault(kind, []).append(m)
    out = {}
    for topic, kinds in found.items():
        spans = [(m.start, m.end) for m in kinds.get("anchor", [])]
        context = kinds.get("context", [])
        for m in kinds.get("weak", []):
            if any(c.end <= m.start or c.start >= m.end for c in context):
                spans.append((m.start, m.end))
        if spans:
            out[topic] = spans
    return dict(sorted(out.items(), key=lambda kv: list(lx.topics).index(kv[0])))


def _distance(m: Match, anchors: set[int]) -> int:
    return min((abs(k - m.start) for k in anchors), default=0)


def _stops(words: list[str]) -> list[int]:
    return [k for k, w in enumerate(words) if w in _STOP_PUNCT or w in {"if", "unless"}]


def _next_stop(stops: list[int], after: int, default: int) -> int:
    return next((k for k in stops if k >= after), default)


def _spans(matches: list[Match]) -> set[int]:
    return {k for m in matches for k in range(m.start, m.end)}


def _span(sent: _Sentence, a: int, b: int) -> str:
    return sent.text[sent.tokens[a].start - sent.start : sent.tokens[b - 1].end - sent.start]


@functools.lru_cache(maxsize=1024)
def _role_words(person: Person) -> frozenset[str]:
    role = phrase_tokens(person.role)
    return frozenset(
        " ".join(role[i:j]) for i in range(len(role)) for j in range(i + 1, len(role) + 1)
    )
