"""Template explanations: deterministic text written from the evidence pack alone.

Each reason code has a few phrasings; which one an item gets is chosen by a hash of its
evidence, so the wording varies across a page of recommendations but never between two
requests for the same pack. Unknown reason codes are skipped, never guessed at.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping

from models.evidence import Evidence, FactValue, Reason
from models.explain.backend import Completion, LLMBackend, Prompt

Facts = Mapping[str, FactValue]

_QUERY_UNSAFE = re.compile(r"[^\w\s$%.,'&/+-]")
_WINDOW_KEY = re.compile(r"^(?:views|interactions)_(\d+)d$")


# A price within this factor of the shopper's typical price reads as "close to" it.
PRICE_CLOSE = 1.25


def money(value: float) -> str:
    """$79.99, or $80 for a whole amount."""
    return f"${value:,.0f}" if float(value).is_integer() else f"${value:,.2f}"


def percent(value: float) -> str:
    return f"{round(value):d}%"


def shopper_query(raw: str, limit: int = 80) -> str:
    """The shopper's request as it may be shown back: one line, plain characters, short."""
    text = " ".join(_QUERY_UNSAFE.sub(" ", raw).split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0]
    return text


def _int(facts: Facts, key: str) -> int | None:
    value = facts.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _num(facts: Facts, key: str) -> float | None:
    value = facts.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _str(facts: Facts, key: str) -> str | None:
    value = facts.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _days_ago(n: int) -> str:
    return {0: "today", 1: "yesterday"}.get(n, f"{n} days ago")


def _window(facts: Facts) -> tuple[int, int] | None:
    """(count, days) from a windowed count such as ``views_7d``."""
    for key in facts:
        match = _WINDOW_KEY.match(key)
        count = _int(facts, key)
        if match and count is not None and key.startswith("views"):
            return count, int(match.group(1))
    return None


def _category_affinity(f: Facts) -> list[str]:
    cat = _str(f, "category")
    if cat is None:
        return []
    win = _window(f)
    if win is not None:
        n, days = win
        items = "item" if n == 1 else "items"
        return [
            f"You viewed {n} {cat} {items} in the last {days} days",
            f"{cat} caught your eye {_times(n)} in the last {days} days",
        ]
    count = _int(f, "interactions")
    if count is None:
        return [f"You keep coming back to {cat}"]
    return [f"You've shown interest in {cat} {_times(count)} lately"]


def _brand_affinity(f: Facts) -> list[str]:
    brand, n = _str(f, "brand"), _int(f, "interactions")
    if brand is None:
        return []
    if n is None:
        return [f"{brand} is a brand you keep coming back to"]
    return [
        f"You've shown interest in {brand} {_times(n)} lately",
        f"{brand} is a brand you've engaged with {_times(n)}",
    ]


def _followed_brand(f: Facts) -> list[str]:
    b = _str(f, "brand")
    return [f"You follow {b}", f"It's from {b}, a brand you follow"] if b else []


def _liked_category(f: Facts) -> list[str]:
    c = _str(f, "category")
    return [f"You liked {c}", f"It's in {c}, a category you liked"] if c else []


def _recently_viewed(f: Facts) -> list[str]:
    t, d = _str(f, "title"), _int(f, "days_ago")
    if t is None:
        return []
    return [f"You viewed {t} {_days_ago(d)}" if d is not None else f"You viewed {t} recently"]


def _similar_to_recent(f: Facts) -> list[str]:
    t = _str(f, "title")
    if t is None:
        return []
    return [
        f"It's similar to {t}, which you viewed recently",
        f"It's a close match for {t}, which you viewed recently",
    ]


def _bought_together(f: Facts) -> list[str]:
    t = _str(f, "title")
    if t is None:
        return []
    return [
        f"Shoppers often buy it together with {t}",
        f"It's frequently bought together with {t}",
    ]


def _co_viewed(f: Facts) -> list[str]:
    t = _str(f, "title")
    return [f"Shoppers who viewed {t} also viewed this"] if t else []


def _trending(f: Facts) -> list[str]:
    c = _str(f, "category")
    return (
        [f"It's trending in {c} right now", f"It's one of the trending picks in {c}"] if c else []
    )


def _popular(f: Facts) -> list[str]:
    c = _str(f, "category")
    if c is None:
        return []
    return [f"It's one of the most popular picks in {c}", f"It's a popular choice in {c}"]


def _region_trending(f: Facts) -> list[str]:
    r = _str(f, "region")
    return [f"It's trending with shoppers in the {r}"] if r else []


def _price_fit(f: Facts) -> list[str]:
    p, t = _num(f, "price"), _num(f, "typical_price")
    if p is None or t is None:
        return []
    if t <= 0 or p > t * PRICE_CLOSE:
        return []  # dearer than the shopper's usual spend: no honest way to call it a fit
    if p < t / PRICE_CLOSE:
        return [
            f"At {money(p)} it costs less than the {money(t)} you typically pay",
            f"Its price of {money(p)} is below the {money(t)} you usually spend",
        ]
    return [
        f"At {money(p)} it's close to the {money(t)} you typically pay",
        f"Its price of {money(p)} is in line with the {money(t)} you usually spend",
    ]


def _discount(f: Facts) -> list[str]:
    p = _num(f, "discount_pct")
    if p is None or round(p) <= 0:
        return []
    return [f"It's {percent(p)} off right now", f"It's on sale at {percent(p)} off"]


def _new_arrival(f: Facts) -> list[str]:
    d = _int(f, "days_since_launch")
    if d is None:
        return []
    return [f"It's a new arrival, launched {_days_ago(d)}", f"It just arrived {_days_ago(d)}"]


def _query_match(f: Facts) -> list[str]:
    q = _str(f, "query") or _str(f, "terms") or _str(f, "matched_terms")
    q = shopper_query(q) if q else None
    return [f"It matches your search for {q}", f"It fits your request for {q}"] if q else []


PHRASINGS: dict[str, Callable[[Facts], list[str]]] = {
    "category_affinity": _category_affinity,
    "brand_affinity": _brand_affinity,
    "followed_brand": _followed_brand,
    "liked_category": _liked_category,
    "recently_viewed": _recently_viewed,
    "similar_to_recent": _similar_to_recent,
    "bought_together": _bought_together,
    "co_viewed": _co_viewed,
    "trending": _trending,
    "popular": _popular,
    "region_trending": _region_trending,
    "price_fit": _price_fit,
    "discount": _discount,
    "new_arrival": _new_arrival,
    "query_match": _query_match,
}


class TemplateWriter:
    """Writes one or two sentences from an evidence pack, in microseconds."""

    def __init__(self, max_sentences: int = 2) -> None:
        self.max_sentences = max_sentences

    def sentences(self, evidence: Evidence, *, vary: bool = True) -> list[str]:
        """Every renderable reason as a sentence: the shopper's request first, then by weight.

        ``vary=False`` always takes the first phrasing (the neutral one the LLM prompt uses).
        """
        salt = evidence.fingerprint() if vary else ""
        out: list[str] = []
        for reason in _query_first(evidence):
            facts: Facts = reason.facts
            if reason.code == "query_match" and evidence.query:
                facts = {**reason.facts, "query": evidence.query}
            options = PHRASINGS.get(reason.code, _unknown)(facts)
            if options:
                sentence = options[_hash(salt, reason.code) % len(options) if salt else 0]
                if sentence not in out:
                    out.append(sentence)
        return out

    def write(self, evidence: Evidence) -> str:
        """One or two finished sentences; never empty."""
        picked = self.sentences(evidence)[: self.max_sentences]
        if not picked:
            picked = [f"Picked for you from {evidence.category}"]
        return " ".join(_finish(s) for s in picked)


def _unknown(facts: Facts) -> list[str]:
    return []


def _query_first(evidence: Evidence) -> list[Reason]:
    ordered = evidence.ordered_reasons()
    return [r for r in ordered if r.code == "query_match"] + [
        r for r in ordered if r.code != "query_match"
    ]


def _hash(salt: str, code: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}:{code}".encode()).digest()[:4], "big")


def _finish(sentence: str) -> str:
    sentence = sentence.strip()
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


class TemplateBackend(LLMBackend):
    """The always-available backend: the template text, no model involved."""

    id = "template"
    can_run_concurrently = True
    generative = False

    def __init__(self, writer: TemplateWriter | None = None) -> None:
        self.writer = writer or TemplateWriter()

    def complete(
        self, prompt: Prompt, options: LLMBackend.Options, deadline: float | None = None
    ) -> Completion:
        start = time.perf_counter()
        text = self.writer.write(prompt.evidence)
        return Completion(text=text, completion_tokens=0, seconds=time.perf_counter() - start)
