"""Every ``Reason`` a recommended item carries is built here, and nowhere else.

A reason says why a product is on the list and the facts it rests on: the shopper's own
signals or the catalog's, never anything else. The ranker's score drop per feature group
(``models.ranking.reasons.score_drops``) becomes a reason through ``ReasonFacts``; a
newcomer's declared interests (``declared``), an exploration slot (``new_arrival``), the
cold-start and degraded lists (``region_trending``, ``trending``, ``popular``,
``query_match``) use the same builders, so one code always carries the same facts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from features.catalog import Catalog
from features.state import UserState
from models.evidence import FactValue, Reason

DAY = 86_400.0
MAX_REASONS = 3
NEW_ARRIVAL_DAYS = 30.0


def category_at(catalog: Catalog, position: int) -> str:
    return catalog.categories[int(catalog.category_code[position])]


def brand_at(catalog: Catalog, position: int) -> str | None:
    code = int(catalog.brand_code[position])
    return catalog.brands[code] if code >= 0 else None


def popular(category: str, weight: float = 1.0) -> Reason:
    return Reason(code="popular", facts={"category": category}, weight=weight)


def trending(category: str, weight: float = 1.0) -> Reason:
    return Reason(code="trending", facts={"category": category}, weight=weight)


def region_trending(region: str, weight: float = 1.0) -> Reason:
    return Reason(code="region_trending", facts={"region": region}, weight=weight)


def query_match(query: str | None, terms: str | None, weight: float = 1.0) -> Reason:
    """The request matched the product; ``query`` only when it may be repeated."""
    facts: dict[str, FactValue] = {}
    if query:
        facts["query"] = query
    if terms:
        facts["matched_terms"] = terms
    return Reason(code="query_match", facts=facts, weight=weight)


def new_arrival(catalog: Catalog, position: int, at: float, weight: float = 1.0) -> Reason:
    """How new the product is (whole days since launch)."""
    days = int(max(at - float(catalog.launch_ts[position]), 0.0) // DAY)
    return Reason(code="new_arrival", facts={"days_since_launch": days}, weight=weight)


def declared(
    catalog: Catalog, state: UserState, position: int, weight: float = 1.0
) -> Reason | None:
    """The declared interest a product matches: a liked category first, then a followed brand."""
    category = category_at(catalog, position)
    if category in state.liked_categories:
        return Reason(code="liked_category", facts={"category": category}, weight=weight)
    brand = brand_at(catalog, position)
    if brand is not None and brand in state.followed_brands:
        return Reason(code="followed_brand", facts={"brand": brand}, weight=weight)
    return None


def with_declared(
    reasons: list[Reason], interest: Reason | None, limit: int = MAX_REASONS
) -> list[Reason]:
    """``reasons`` led by the declared interest a promoted product matches (once)."""
    if interest is None or any(r.code == interest.code for r in reasons):
        return reasons
    return [interest, *reasons][:limit]


def matched_terms(query: str | None, title: str) -> str | None:
    """Words of the request that also appear in the product's title."""
    if not query:
        return None
    words = {w.strip(".,!?$").lower() for w in title.split()}
    hits = [w for w in query.split() if w.strip(".,!?$").lower() in words]
    return " ".join(hits) or None


def top_reasons(reasons: Sequence[Reason | None], limit: int = MAX_REASONS) -> list[Reason]:
    """The strongest distinct reason codes (first occurrence of each code wins)."""
    seen: set[str] = set()
    out: list[Reason] = []
    for reason in reasons:
        if reason is not None and reason.code not in seen:
            seen.add(reason.code)
            out.append(reason)
        if len(out) == limit:
            break
    return out


UNKNOWN = -2  # below every code, brandless (-1) included


@dataclass(frozen=True)
class RecentCodes:
    """A shopper's recent items, counted once per request for the reasons that quote them:
    per category code, its recent items (and those of the last 7 days); per brand code,
    its recent items; and the known items in list order as (position, category, brand).
    A product not in the catalog has codes ``UNKNOWN``, so it matches nothing."""

    category: dict[int, int]
    category_7d: dict[int, int]
    brand: dict[int, int]
    known: list[tuple[int, int, int]]

    @classmethod
    def of(cls, state: UserState, catalog: Catalog) -> RecentCodes:
        position = catalog.index_of([item.product_id for item in state.recent])
        known = position >= 0
        at = np.where(known, position, 0)
        category = np.where(known, np.asarray(catalog.category_code)[at], UNKNOWN)
        brand = np.where(known, np.asarray(catalog.brand_code)[at], UNKNOWN)
        ts = np.array([item.ts for item in state.recent], dtype=np.float64)
        within_7d = ~(state.at - ts > 7.0 * DAY)
        rows = zip(position.tolist(), category.tolist(), brand.tolist(), strict=True)
        return cls(
            category=Counter(category.tolist()),
            category_7d=Counter(category[within_7d].tolist()),
            brand=Counter(brand.tolist()),
            known=[row for row in rows if row[0] >= 0],
        )


class ReasonFacts:
    """Turns a feature group's score drop into a ``Reason`` resting on the shopper's own
    signals (None when the shopper's signals give it nothing true to say)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.titles = catalog.frame["title"].fillna("").astype(str).to_numpy(dtype=object)
        # Per position as Python values: a reason reads a few of them per product.
        self._category_code: list[int] = np.asarray(catalog.category_code).tolist()
        self._brand_code: list[int] = np.asarray(catalog.brand_code).tolist()
        self._paid: list[float] = (catalog.price * (1.0 - catalog.discount)).tolist()
        self._discount: list[float] = np.asarray(catalog.discount, dtype=np.float64).tolist()
        self._last: tuple[UserState, RecentCodes] | None = None

    def _recent(self, state: UserState) -> RecentCodes:
        """The shopper's recent items counted, once per state (a request asks for several
        reasons about the same shopper)."""
        cached = self._last
        if cached is not None and cached[0] is state:
            return cached[1]
        codes = RecentCodes.of(state, self.catalog)
        self._last = (state, codes)
        return codes

    def _recent_like(self, state: UserState, product: int) -> str | None:
        """The title of the shopper's latest other product sharing category or brand."""
        cat, brand = self._category_code[product], self._brand_code[product]
        for position, category, brand_code in self._recent(state).known:
            if position != product and (category == cat or brand_code == brand):
                return str(self.titles[position])
        return None

    def reason(
        self,
        group: str,
        state: UserState,
        product: int,
        query: str | None,
        query_terms: str | None,
        cooc_title: str | None,
        share: float,
    ) -> Reason | None:
        c = self.catalog
        weight = round(share, 4)
        category_code = self._category_code[product]
        category = c.categories[category_code]
        brand_code = self._brand_code[product]
        code = group
        facts: dict[str, FactValue]
        if group == "category_affinity":
            recent = self._recent(state)
            views = recent.category_7d.get(category_code, 0)
            if views > 0:
                facts = {"category": category, "views_7d": views}
            else:
                total = recent.category.get(category_code, 0)
                if total == 0:
                    return declared(c, state, product, weight)
                facts = {"category": category, "interactions": total}
        elif group == "brand_affinity" and brand_code >= 0:
            total = self._recent(state).brand.get(brand_code, 0)
            if total == 0:
                return declared(c, state, product, weight)
            facts = {"brand": c.brands[brand_code], "interactions": total}
        elif group == "declared_interest":
            return declared(c, state, product, weight)
        elif group == "recency":
            product_id = c.product_ids[product]
            seen = next((r for r in state.recent if r.product_id == product_id), None)
            if seen is None:
                return None
            code = "recently_viewed"
            days = int(max(state.at - seen.ts, 0.0) // DAY)
            facts = {"title": str(self.titles[product]), "days_ago": days}
        elif group == "price_fit":
            if state.price_viewed.weight <= 0:
                return None
            paid = self._paid[product]
            facts = {"price": round(paid, 2), "typical_price": round(state.price_viewed.mean, 2)}
        elif group in ("popularity", "conversion"):
            return popular(category, weight)
        elif group == "trending":
            return trending(category, weight)
        elif group == "discount":
            pct = round(self._discount[product] * 100)
            if pct <= 0:
                return None
            facts = {"discount_pct": pct}
        elif group == "freshness":
            launch = float(c.launch_ts[product])
            if not (np.isfinite(launch) and (state.at - launch) / DAY <= NEW_ARRIVAL_DAYS):
                return None
            return new_arrival(c, product, state.at, weight)
        elif group == "similarity_to_recent":
            title = self._recent_like(state, product)
            if title is None:
                return None
            code, facts = "similar_to_recent", {"title": title}
        elif group == "query_match":
            return query_match(query, query_terms, weight) if query else None
        elif group == "co_occurrence":
            if cooc_title is None:
                return None
            code, facts = "co_viewed", {"title": cooc_title}
        else:
            return None
        return Reason(code=code, facts=facts, weight=weight)
