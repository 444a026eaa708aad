"""Which evidence is about the shopper: what they viewed, bought, followed, liked, searched
for, and how a price fits their usual spend.

Popularity, trends, new arrivals and discounts are true, but they are about the shop, not
the shopper: a text that says only those when the evidence holds something personal is the
template's job, not the LLM's. The grounding check records which cited facts are personal
(``Verdict.personal``); the judge prefers them; ``GroundingCheck(require_personal=True)``
rejects a text that cites none when the pack holds one.
"""

from __future__ import annotations

from collections.abc import Iterable

from models.evidence import Evidence, Reason
from models.explain.template import PHRASINGS

PERSONAL_CODES: frozenset[str] = frozenset(
    {
        "category_affinity",
        "brand_affinity",
        "followed_brand",
        "liked_category",
        "recently_viewed",
        "similar_to_recent",
        "price_fit",
        "query_match",
        "bought_before",
        "repurchase",
        "in_cart",
        "abandoned_cart",
    }
)


def personal_reasons(evidence: Evidence) -> list[Reason]:
    """The pack's reasons about the shopper that can be said: what they asked for now
    first (as the template does), then strongest first."""
    found = [
        r
        for r in evidence.ordered_reasons()
        if r.code in PERSONAL_CODES
        and (PHRASINGS.get(r.code, _none)(r.facts) or (r.code == "query_match" and evidence.query))
    ]
    return sorted(found, key=lambda r: r.code != "query_match")


def holds_personal(evidence: Evidence) -> bool:
    return bool(personal_reasons(evidence))


def is_personal_label(label: str) -> bool:
    """A cited fact label (``code.key``, ``query``) that is about the shopper."""
    if label == "query":
        return True
    code, _, key = label.partition(".")
    return bool(key) and code in PERSONAL_CODES


def personal_labels(cited: Iterable[str]) -> list[str]:
    return [label for label in cited if is_personal_label(label)]


def _none(facts: object) -> list[str]:
    return []
