"""How an answer can start from the shopper: one opening clause per personal reason.

A 135M model that is handed the first words of its answer stays with them; when those
words are the shopper's own strongest fact ("Since you follow Cedarwood,") the text it
writes cites that fact by construction, and the model's part is to connect it to the
product. Every clause is built from the evidence's facts only, so the grounding check
accepts it as it accepts the template.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from models.evidence import Evidence, FactValue, Reason
from models.explain.personal import personal_reasons
from models.explain.template import PRICE_CLOSE, money, shopper_query

Facts = Mapping[str, FactValue]
NEUTRAL = "You'll like it because"


def _int(facts: Facts, key: str) -> int | None:
    value = facts.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _str(facts: Facts, key: str) -> str | None:
    value = facts.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _ago(days: int) -> str:
    return {0: "today", 1: "yesterday"}.get(days, f"{days} days ago")


def _category_affinity(f: Facts) -> str | None:
    category, views = _str(f, "category"), _int(f, "views_7d")
    if category is None:
        return None
    if views is not None:
        return f"Since {category} caught your eye {_times(views)} in the last 7 days,"
    return f"Since you keep coming back to {category},"


def _brand_affinity(f: Facts) -> str | None:
    brand, n = _str(f, "brand"), _int(f, "interactions")
    if brand is None:
        return None
    if n is None:
        return f"Since you keep coming back to {brand},"
    return f"Since you've shown interest in {brand} {_times(n)} lately,"


def _followed_brand(f: Facts) -> str | None:
    brand = _str(f, "brand")
    return f"Since you follow {brand}," if brand else None


def _liked_category(f: Facts) -> str | None:
    category = _str(f, "category")
    return f"Since you liked {category}," if category else None


def _recently_viewed(f: Facts) -> str | None:
    days = _int(f, "days_ago")
    return f"You viewed it {_ago(days)}, and" if days is not None else "You viewed it recently, and"


def _similar_to_recent(f: Facts) -> str | None:
    title = _str(f, "title")
    return f"Since you viewed the {title} recently," if title else None


def _price_fit(f: Facts) -> str | None:
    price, typical = f.get("price"), f.get("typical_price")
    if not isinstance(price, int | float) or not isinstance(typical, int | float) or typical <= 0:
        return None
    if price > typical * PRICE_CLOSE:
        return None
    if price < typical / PRICE_CLOSE:
        return f"At {money(price)}, less than the {money(typical)} you typically pay,"
    return f"At {money(price)}, close to the {money(typical)} you typically pay,"


def _query_match(f: Facts) -> str | None:
    q = _str(f, "query") or _str(f, "terms") or _str(f, "matched_terms")
    q = shopper_query(q) if q else None
    return f"Since you searched for {q}," if q else None


OPENINGS: dict[str, Callable[[Facts], str | None]] = {
    "category_affinity": _category_affinity,
    "brand_affinity": _brand_affinity,
    "followed_brand": _followed_brand,
    "liked_category": _liked_category,
    "recently_viewed": _recently_viewed,
    "similar_to_recent": _similar_to_recent,
    "price_fit": _price_fit,
    "query_match": _query_match,
}


def _no_opening(facts: Facts) -> str | None:
    return None


def opening(evidence: Evidence) -> tuple[str, Reason | None]:
    """The clause an answer starts from, and the personal reason it states (None: the
    neutral opening, for a pack with nothing personal to say)."""
    for reason in personal_reasons(evidence):
        facts: Facts = reason.facts
        if reason.code == "query_match" and evidence.query:
            facts = {**reason.facts, "query": evidence.query}
        clause = OPENINGS.get(reason.code, _no_opening)(facts)
        if clause:
            return clause, reason
    return NEUTRAL, None
