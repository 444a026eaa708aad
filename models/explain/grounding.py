"""GroundingCheck: may this text be shown next to this product?

A text passes only if every claim it makes rests on the evidence pack. The check masks
the evidence's own phrases (title, brand, category, the shopper's request, reason facts)
and then rejects what is left if it names another brand, category, product or region, a
capitalised name, a word that is neither ordinary English nor the catalog's, a product
property (material, colour, "minimalist", "recycled") the evidence does not contain, a
claim about the product itself (features, quality, design, audience, "in the market"), a
number the evidence does not hold (``models.explain.numbers``), a behaviour or shop claim
(bought, viewed, followed, free shipping, bundles, ratings, best-selling...) that no reason
supports, a URL, anything that echoes instructions, or a sentence said twice.

It also records which facts the text cites, and which of those are the shopper's own
(``models.explain.personal``). With ``require_personal`` a text that cites nothing personal
when the pack holds something personal is rejected (kind ``impersonal``): popularity alone
is the template's job.

The shopper's request is masked only where it is repeated verbatim: quoting the shopper
back is allowed, following instructions hidden in it is not.
"""

from __future__ import annotations

import re
import unicodedata

from models.evidence import Evidence
from models.explain.check_version import check_version
from models.explain.claims import CLAIMS, INSTRUCTION, URL, Claim
from models.explain.numbers import evidence_numbers, number_problems, time_problems
from models.explain.personal import PERSONAL_CODES, holds_personal, is_personal_label
from models.explain.problems import Problem, Verdict
from models.explain.template import TemplateWriter, shopper_query
from models.explain.vocabulary import PhraseIndex, Vocabulary, tokens
from models.explain.words import is_english, word_parts

MASK = "§"
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_TOKEN = re.compile(r"§\w*|[\w'’-]+")
_WRITER = TemplateWriter()
# Naming the product is not a reason: a text must also cite a reason fact or claim.
_PRODUCT_LABELS = frozenset({"title", "brand", "category"})
_FIRST_PERSON = frozenset({"i", "i'm", "i'd", "i've", "i'll"})
# Claims about the product that no reason code can support: allowed only in its own words.
_OWN_WORDS_KINDS = frozenset({"property", "audience", "market"})

__all__ = ["MASK", "GroundingCheck", "Problem", "Verdict"]


class GroundingCheck:
    """Accepts a text only if everything it states is in the evidence pack.

    ``vocabulary`` holds the catalog's brands, categories, titles, regions, attribute
    words and ordinary words, so that a wrong (but real) brand or material and an invented
    word are caught; ``require_citation`` rejects texts that give no reason from the
    evidence (naming the product and praising it explains nothing); ``require_personal``
    rejects texts that give no personal reason when the pack holds one.
    """

    def __init__(
        self,
        vocabulary: Vocabulary | None = None,
        *,
        max_words: int = 50,
        max_sentences: int = 3,
        require_citation: bool = True,
        require_personal: bool = False,
    ) -> None:
        self.vocabulary = vocabulary or Vocabulary()
        self.max_words = max_words
        self.max_sentences = max_sentences
        self.require_citation = require_citation
        self.require_personal = require_personal

    @property
    def version(self) -> str:
        """Equal for checks that give every text the same verdict (stored with cached
        texts: ``models.explain.check_version``)."""
        return check_version(self)

    def check(self, text: str, evidence: Evidence) -> Verdict:
        text = unicodedata.normalize("NFKC", text).replace("’", "'").strip()
        problems = _shape_problems(text, self.max_words, self.max_sentences)
        words = len(_WORD.findall(text))
        if problems:
            return Verdict(tuple(problems), (), words)
        masked, labelled, cited = _mask_evidence(text, evidence)
        if said_twice := _repeated_sentence(labelled):
            problems.append(Problem("repeated", f"says the same thing twice: {said_twice!r}"))
        personal: list[str] = []
        known = _evidence_tokens(evidence)
        if URL.search(text):
            problems.append(Problem("url", "links are never part of the evidence"))
        if m := INSTRUCTION.search(masked):
            problems.append(Problem("instruction", f"echoes instructions: {m.group()!r}"))
        problems += _claim_problems(masked, evidence, known, cited, personal)
        numbers = evidence_numbers(evidence)
        problems += number_problems(masked, numbers, cited)
        problems += time_problems(masked, numbers)
        mentions = self.vocabulary.find(masked)
        problems += [
            Problem(m.kind, f"{m.kind} {m.name!r} is not in the evidence") for m in mentions
        ]
        for mention in reversed(mentions):  # reported once: not again as an unknown name
            masked = masked[: mention.start] + MASK + masked[mention.end :]
        problems += _proper_noun_problems(masked, known)
        problems += _property_problems(masked, known, self.vocabulary)
        problems += _unknown_word_problems(masked, known, self.vocabulary)
        if self.require_citation and not _cites_enough(cited, evidence):
            problems.append(Problem("no_evidence", "gives no reason from the evidence"))
        personal += [label for label in cited if is_personal_label(label)]
        if self.require_personal and not personal and holds_personal(evidence):
            problems.append(
                Problem("impersonal", "cites none of the shopper's own facts the evidence holds")
            )
        return Verdict(tuple(problems), tuple(dict.fromkeys(cited)), words, tuple(personal))


def _cites_enough(cited: list[str], evidence: Evidence) -> bool:
    if not _WRITER.sentences(evidence, vary=False):
        return bool(cited)  # no reason can be stated (unknown codes only): naming will do
    return bool(set(cited) - _PRODUCT_LABELS)


def _shape_problems(text: str, max_words: int, max_sentences: int) -> list[Problem]:
    if not text:
        return [Problem("empty", "no text")]
    visible = [c for c in text if not c.isspace()]
    letters = sum(c.isalpha() for c in visible)
    words = _WORD.findall(text)
    if len(words) < 3 or letters < 0.6 * len(visible):
        return [Problem("garbage", "too few words to be an explanation")]
    if sum(not c.isascii() for c in visible if c != MASK) > 0.1 * len(visible):
        return [Problem("garbage", "mostly non-Latin characters")]
    if max(len(w) for w in words) > 30 or _repeats(words):
        return [Problem("garbage", "repeated or run-on words")]
    sentences = len(re.findall(r"[.!?]+(?:\s|$)", text)) or 1
    if len(words) > max_words or sentences > max_sentences:
        return [Problem("too_long", f"{len(words)} words in {sentences} sentences")]
    return []


def _repeats(words: list[str]) -> bool:
    lower = [w.lower() for w in words]
    return any(lower[i] == lower[i + 1] == lower[i + 2] for i in range(len(lower) - 2))


def _repeated_sentence(labelled: str) -> str | None:
    """A sentence that repeats another: mostly the same words, or the same five in a row.
    Evidence phrases count as one word each (their fact label), so two facts about one
    long name differ, and the same fact said twice does not."""
    sentences: list[str] = [s.strip() for s in _SENTENCE.findall(labelled) if s.strip()]
    seen: list[tuple[str, list[str]]] = []
    for sentence in sentences:
        words = [w.lower() for w in _TOKEN.findall(sentence)]
        for _, other in seen:
            both, either = set(words) & set(other), set(words) | set(other)
            if either and len(both) / len(either) >= 0.8 and min(len(words), len(other)) >= 3:
                return sentence
            if _ngrams(words, 5) & _ngrams(other, 5):
                return sentence
        seen.append((sentence, words))
    return None


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _evidence_phrases(evidence: Evidence) -> list[tuple[str, str]]:
    phrases = [("title", evidence.title), ("brand", evidence.brand)]
    phrases.append(("category", evidence.category))
    if evidence.query:
        phrases += [("query", evidence.query), ("query", shopper_query(evidence.query))]
    for reason in evidence.reasons:
        for key, value in reason.facts.items():
            if isinstance(value, str) and value.strip():
                label = "query" if key == "query" else f"{reason.code}.{key}"
                phrases += [(label, value), (label, shopper_query(value))]
    return [(label, p) for label, p in phrases if p.strip()]


def _evidence_tokens(evidence: Evidence) -> set[str]:
    return {t.key for _, phrase in _evidence_phrases(evidence) for t in tokens(phrase)}


def _mask_evidence(text: str, evidence: Evidence) -> tuple[str, str, list[str]]:
    """The text with the evidence's own phrases masked, the same with each phrase as its
    fact label, and the labels cited."""
    index = PhraseIndex(_evidence_phrases(evidence))
    cited: list[str] = []
    out: list[str] = []
    labelled: list[str] = []
    last = 0
    for mention in index.find(text):
        out += [text[last : mention.start], MASK]
        labelled += [text[last : mention.start], MASK + re.sub(r"\W", "", mention.kind)]
        last = mention.end
        cited.append(mention.kind)
    out.append(text[last:])
    labelled.append(text[last:])
    return "".join(out), "".join(labelled), cited


def _support(claim: Claim, codes: set[str], evidence: Evidence) -> set[str]:
    """The evidence's reason codes that make ``claim`` true (by code or by a fact's name)."""
    found = set(claim.supported_by & codes)
    for reason in evidence.reasons:
        if any(w in key for key in reason.facts for w in claim.fact_words):
            found.add(reason.code)
    return found


def _claim_problems(
    masked: str, evidence: Evidence, known: set[str], cited: list[str], personal: list[str]
) -> list[Problem]:
    """Unsupported claims; each supported one is recorded in ``cited`` as a reason given,
    and in ``personal`` too when a reason about the shopper supports it."""
    codes = {r.code for r in evidence.reasons}
    if evidence.discount > 0:
        codes.add("discount")
    if evidence.query:
        codes.add("query_match")
    problems: list[Problem] = []
    for claim in CLAIMS:
        unsupported = None
        for m in claim.pattern.finditer(masked):
            if claim.kind in _OWN_WORDS_KINDS and all(t.key in known for t in tokens(m.group())):
                continue  # the evidence's own words ("Ergonomic" in the title)
            support = _support(claim, codes, evidence)
            if not support:
                unsupported = m
                break
            cited.append(f"claim:{claim.name}")
            if support & PERSONAL_CODES:
                personal.append(f"claim:{claim.name}")
            break
        if unsupported is not None:
            detail = f"{claim.name} claim not in evidence: {unsupported.group()!r}"
            problems.append(Problem(claim.kind, detail))
    return problems


def _proper_noun_problems(masked: str, known: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    for m in _WORD.finditer(masked):
        word = m.group()
        if not word[0].isupper() or _sentence_start(masked, m.start()):
            continue
        key = tokens(word)[0].key if tokens(word) else word.lower()
        if key in known or word.lower() in _FIRST_PERSON:
            continue
        problems.append(Problem("proper_noun", f"{word!r} is a name the evidence does not hold"))
    return problems


def _property_problems(masked: str, known: set[str], vocabulary: Vocabulary) -> list[Problem]:
    return [
        Problem("property", f"{m.name!r} is not said by the evidence")
        for m in vocabulary.properties.find(masked)
        if not all(t.key in known for t in tokens(m.name))
    ]


def _unknown_word_problems(masked: str, known: set[str], vocabulary: Vocabulary) -> list[Problem]:
    problems: list[Problem] = []
    for m in _WORD.finditer(masked):
        for part in word_parts(m.group()):
            if is_english(part) or part in vocabulary.words:
                continue
            if all(t.key in known for t in tokens(part)):
                continue
            problems.append(
                Problem("unknown_word", f"{part!r} is neither English nor a word of the catalog")
            )
    return problems


def _sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip().rstrip("\"'“‘([")
    return not before or before[-1] in ".!?:;-–—"
