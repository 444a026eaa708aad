"""GroundingCheck: may this text be shown next to this product?

A text passes only if every claim it makes rests on the evidence pack. The check masks
the evidence's own phrases (title, brand, category, the shopper's request, reason facts)
and then rejects what is left if it names another brand, category, product or region, a
capitalised name or a product property (material, colour, "recycled", "organic") the
evidence does not contain, a number the evidence does not hold, a behaviour or shop
claim (bought, viewed, followed, free shipping, bundles, ratings, best-selling...) that
no reason supports, a URL, or anything that echoes instructions.

Numbers match with tolerant formatting: an amount matches an evidence amount to the cent,
or as that amount rounded to the nearest whole ($80 for 79.99, never $79); a percentage
matches a discount or percent fact rounded to a whole percent (20% for 0.2); a budget
phrase ("under $80") holds when the price, or the sale price, is at or below it. Other
numbers (counts, days) must equal a fact, a day window in a fact's name (``views_7d``),
or any evidence amount.

The shopper's request is masked only where it is repeated verbatim: quoting the shopper
back is allowed, following instructions hidden in it is not.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field

from models.evidence import Evidence
from models.explain.claims import CLAIMS, INSTRUCTION, NUMBER_WORDS, TIME_CLAIMS, URL, Claim
from models.explain.template import TemplateWriter, shopper_query
from models.explain.vocabulary import PhraseIndex, Vocabulary, tokens

MASK = "§"
_NUMBER = re.compile(
    r"(?P<cur>\$\s*|usd\s*)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<pct>\s*(?:%|percent\b|per\s+cent\b))?(?P<dollars>\s*(?:dollars|bucks|usd)\b)?",
    re.IGNORECASE,
)
_BUDGET = re.compile(
    r"(?:under|below|less\s+than|up\s+to|within|no\s+more\s+than|at\s+most|max(?:imum)?"
    r"|cheaper\s+than|beneath)\s*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_WINDOW = re.compile(r"_(\d+)d$")
_DAY_FACTS = ("days_ago", "days_since_launch")
# Naming the product is not a reason: a text must also cite a reason fact or claim.
_PRODUCT_LABELS = frozenset({"title", "brand", "category"})
_WRITER = TemplateWriter()
_FIRST_PERSON = frozenset({"i", "i'm", "i'd", "i've", "i'll"})


@dataclass(frozen=True)
class Problem:
    """Why a text was rejected: a ``kind`` for metrics and a human ``detail``."""

    kind: str
    detail: str


@dataclass(frozen=True)
class Verdict:
    problems: tuple[Problem, ...]
    cited: tuple[str, ...] = ()  # the evidence facts the text uses (for the judge)
    words: int = 0

    @property
    def grounded(self) -> bool:
        return not self.problems

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.kind for p in self.problems))


@dataclass
class _Numbers:
    money: list[tuple[float, str]] = field(default_factory=list)
    percent: list[tuple[float, str]] = field(default_factory=list)
    counts: list[tuple[float, str]] = field(default_factory=list)
    days: set[int] = field(default_factory=set)
    price_ceiling: float = math.inf


class GroundingCheck:
    """Accepts a text only if everything it states is in the evidence pack.

    ``vocabulary`` holds the catalog's brands, categories, titles, regions and attribute
    words so that a wrong (but real) brand or material is caught; ``require_citation``
    also rejects texts that give no reason from the evidence (naming the product and
    praising it explains nothing).
    """

    def __init__(
        self,
        vocabulary: Vocabulary | None = None,
        *,
        max_words: int = 50,
        max_sentences: int = 3,
        require_citation: bool = True,
    ) -> None:
        self.vocabulary = vocabulary or Vocabulary()
        self.max_words = max_words
        self.max_sentences = max_sentences
        self.require_citation = require_citation

    def check(self, text: str, evidence: Evidence) -> Verdict:
        text = unicodedata.normalize("NFKC", text).replace("’", "'").strip()
        problems = _shape_problems(text, self.max_words, self.max_sentences)
        words = len(_WORD.findall(text))
        if problems:
            return Verdict(tuple(problems), (), words)
        masked, cited = _mask_evidence(text, evidence)
        codes = {r.code for r in evidence.reasons}
        fact_keys = " ".join(k for r in evidence.reasons for k in r.facts)
        if URL.search(text):
            problems.append(Problem("url", "links are never part of the evidence"))
        if m := INSTRUCTION.search(masked):
            problems.append(Problem("instruction", f"echoes instructions: {m.group()!r}"))
        problems += _claim_problems(masked, codes, fact_keys, evidence, cited)
        numbers = _evidence_numbers(evidence)
        problems += _number_problems(masked, numbers, cited)
        problems += _time_problems(masked, numbers)
        mentions = self.vocabulary.find(masked)
        problems += [
            Problem(m.kind, f"{m.kind} {m.name!r} is not in the evidence") for m in mentions
        ]
        for mention in reversed(mentions):  # reported once: not again as an unknown name
            masked = masked[: mention.start] + MASK + masked[mention.end :]
        problems += _proper_noun_problems(masked, evidence)
        problems += _property_problems(masked, evidence, self.vocabulary)
        if self.require_citation and not _cites_enough(cited, evidence):
            problems.append(Problem("no_evidence", "gives no reason from the evidence"))
        return Verdict(tuple(problems), tuple(dict.fromkeys(cited)), words)


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


def _mask_evidence(text: str, evidence: Evidence) -> tuple[str, list[str]]:
    """Replace the evidence's own phrases with a mask; say which were cited."""
    index = PhraseIndex(_evidence_phrases(evidence))
    cited: list[str] = []
    out: list[str] = []
    last = 0
    for mention in index.find(text):
        out += [text[last : mention.start], MASK]
        last = mention.end
        cited.append(mention.kind)
    out.append(text[last:])
    return "".join(out), cited


def _supported(claim: Claim, codes: set[str], fact_keys: str) -> bool:
    return bool(claim.supported_by & codes) or any(w in fact_keys for w in claim.fact_words)


def _claim_problems(
    masked: str, codes: set[str], fact_keys: str, evidence: Evidence, cited: list[str]
) -> list[Problem]:
    """Unsupported claims; each supported one is recorded in ``cited`` as a reason given."""
    if evidence.discount > 0:
        codes = codes | {"discount"}
    if evidence.query:
        codes = codes | {"query_match"}
    problems: list[Problem] = []
    for claim in CLAIMS:
        m = claim.pattern.search(masked)
        if m is None:
            continue
        if _supported(claim, codes, fact_keys):
            cited.append(f"claim:{claim.name}")
        else:
            detail = f"{claim.name} claim not in evidence: {m.group()!r}"
            problems.append(Problem(claim.kind, detail))
    return problems


def _evidence_numbers(evidence: Evidence) -> _Numbers:
    n = _Numbers()
    n.money.append((evidence.price, "price"))
    n.price_ceiling = evidence.price
    if evidence.discount > 0:
        sale = evidence.price * (1 - evidence.discount)
        n.money += [(sale, "price"), (evidence.price * evidence.discount, "discount")]
        n.percent.append((evidence.discount * 100, "discount"))
        n.price_ceiling = min(evidence.price, sale)
    for reason in evidence.reasons:
        for key, value in reason.facts.items():
            label = f"{reason.code}.{key}"
            if (window := _WINDOW.search(key)) is not None:
                n.counts.append((float(window.group(1)), label))
                n.days.add(int(window.group(1)))
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if any(w in key for w in ("price", "spend", "amount", "cost")):
                n.money.append((float(value), label))
            if "pct" in key or "percent" in key:
                n.percent.append((float(value), label))
            if key in _DAY_FACTS:
                n.days.add(int(value))
            n.counts.append((float(value), label))
    n.counts += n.money + n.percent
    return n


def _half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _amount_matches(said: float, fact: float) -> bool:
    return abs(said - fact) < 0.005 or (said.is_integer() and int(said) == _half_up(fact))


def _number_problems(masked: str, numbers: _Numbers, cited: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    for m in _NUMBER.finditer(masked):
        said = float(m.group("num").replace(",", ""))
        shown = m.group().strip()
        if m.group("pct"):
            label = next((lab for v, lab in numbers.percent if _half_up(said) == _half_up(v)), None)
            if label is None:
                problems.append(Problem("percent", f"{shown} is not a discount in the evidence"))
        elif m.group("cur") or m.group("dollars"):
            label = next((lab for v, lab in numbers.money if _amount_matches(said, v)), None)
            if label is None and _BUDGET.search(masked[: m.start()]):
                label = "price" if numbers.price_ceiling <= said + 0.005 else None
            if label is None:
                problems.append(Problem("price", f"{shown} is not a price in the evidence"))
        else:
            label = next((lab for v, lab in numbers.counts if _amount_matches(said, v)), None)
            if label is None:
                problems.append(Problem("number", f"{shown} is not a number in the evidence"))
        if label is not None:
            cited.append(label)
    for word in re.findall(r"[a-z]+", masked.lower()):
        value = NUMBER_WORDS.get(word)
        if value is None:
            continue
        label = next((lab for v, lab in numbers.counts if _amount_matches(value, v)), None)
        if label is None:
            problems.append(Problem("number", f"{word!r} is not a number in the evidence"))
        else:
            cited.append(label)
    return problems


def _time_problems(masked: str, numbers: _Numbers) -> list[Problem]:
    problems: list[Problem] = []
    for pattern, low, high in TIME_CLAIMS:
        m = pattern.search(masked)
        if m and not any(low <= d <= high for d in numbers.days):
            problems.append(Problem("time", f"{m.group()!r} is not supported by the evidence"))
    return problems


def _proper_noun_problems(masked: str, evidence: Evidence) -> list[Problem]:
    known = {t.key for _, phrase in _evidence_phrases(evidence) for t in tokens(phrase)}
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


def _property_problems(masked: str, evidence: Evidence, vocabulary: Vocabulary) -> list[Problem]:
    known = {t.key for _, phrase in _evidence_phrases(evidence) for t in tokens(phrase)}
    return [
        Problem("property", f"{m.name!r} is not said by the evidence")
        for m in vocabulary.properties.find(masked)
        if not all(t.key in known for t in tokens(m.name))
    ]


def _sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip().rstrip("\"'“‘([")
    return not before or before[-1] in ".!?:;-–—"
