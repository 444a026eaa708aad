"""Every ``Reason`` a recommended item carries is built here, and nowhere else.

A reason says why a product is on the list and the facts it rests on: the shopper's own
signals or the catalog's, never anything else. The ranker's score drop per feature group
(``models.ranking.reasons.score_drops``) becomes a reason through ``ReasonFacts``; a
newcomer's declared interests (``declared``), an exploration slot (``new_arrival``), the
cold-start and degraded lists (``region_trending``, ``trending``, ``popular``,
``query_match``) use the same builders, so one code always carries the same facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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
    """A shopper's recent items in list order: catalog position, category and brand code
    (``UNKNOWN`` for a product not in the catalog, so it matches nothing) and time."""

    position: npt.NDArray[np.int64]
    category: npt.NDArray[np.int64]
    brand: npt.NDArray[np.int64]
    ts: npt.NDArray[np.float64]

    @classmethod
    def of(cls, state: UserState, catalog: Catalog) -> RecentCodes:
        position = catalog.index_of([item.product_id for item in state.recent])
        known = position >= 0
        at = np.where(known, position, 0)
        return cls(
            position=position,
            category=np.where(known, np.asarray(catalog.category_code)[at], UNKNOWN),
            brand=np.where(known, np.asarray(catalog.brand_code)[at], UNKNOWN),
            ts=np.array([item.ts for item in state.recent], dtype=np.float64),
        )


class ReasonFacts:
    """Turns a feature group's score drop into a ``Reason`` resting on the shopper's own
    signals (None when the shopper's signals give it nothing true to say)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.titles = catalog.frame["title"].fillna("").astype(str).to_numpy(dtype=object)
        self._last: tuple[UserState, RecentCodes] | None = None

    def _recent(self, state: UserState) -> RecentCodes:
        """The shopper's recent items as arrays, built once per state (a request asks
        for several reasons about the same shopper)."""
        cached = self._last
        if cached is not None and cached[0] is state:
            return cached[1]
        codes = RecentCodes.of(state, self.catalog)
        self._last = (state, codes)
        return codes

    def _recent_in(self, state: UserState, match: str, value: int, days: float | None) -> int:
        recent = self._recent(state)
        hits = (recent.category if match == "c" else recent.brand) == value
        if days is not None:
            hits &= ~(state.at - recent.ts > days * DAY)
        return int(hits.sum())

    def _recent_like(self, state: UserState, product: int) -> str | None:
        """The title of the shopper's latest other product sharing category or brand."""
        recent = self._recent(state)
        cat, brand = self.catalog.category_code[product], self.catalog.brand_code[product]
        like = (recent.position >= 0) & (recent.position != product)
        like &= (recent.category == cat) | (recent.brand == brand)
        first = np.flatnonzero(like)
        return str(self.titles[recent.position[first[0]]]) if len(first) else None

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
        category = category_at(c, product)
        brand_code = int(c.brand_code[product])
        code = group
        facts: dict[str, FactValue]
        if group == "category_affinity":
            views = self._recent_in(state, "c", int(c.category_code[product]), 7.0)
            if views > 0:
                facts = {"category": category, "views_7d": views}
            else:
                total = self._recent_in(state, "c", int(c.category_code[product]), None)
                if total == 0:
                    return declared(c, state, product, weight)
                facts = {"category": category, "interactions": total}
        elif group == "brand_affinity" and brand_code >= 0:
            total = self._recent_in(state, "b", brand_code, None)
            if total == 0:
                return declared(c, state, product, weight)
            facts = {"brand": c.brands[brand_code], "interactions": total}
        elif group == "declared_interest":
            return declared(c, state, product, weight)
        elif group == "recency":
            seen = next((r for r in state.recent if r.product_id == c.product_ids[product]), None)
            if seen is None:
                return None
            code = "recently_viewed"
            days = int(max(state.at - seen.ts, 0.0) // DAY)
            facts = {"title": str(self.titles[product]), "days_ago": days}
        elif group == "price_fit":
            if state.price_viewed.weight <= 0:
                return None
            paid = float(c.price[product] * (1.0 - c.discount[product]))
            facts = {"price": round(paid, 2), "typical_price": round(state.price_viewed.mean, 2)}
        elif group in ("popularity", "conversion"):
            return popular(category, weight)
        elif group == "trending":
            return trending(category, weight)
        elif group == "discount":
            pct = round(float(c.discount[product]) * 100)
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
