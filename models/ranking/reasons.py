"""Faithful reasons: the feature groups that actually raised a product's score.

For each recommended product and each reason group, the group's columns are set to their
population baseline (saved with the model) and the product is re-scored; the score drop
is that group's contribution. All (product, group) variants go through ONE predict call.
Only groups whose removal lowers the score become reasons, strongest first, and each
carries facts taken from the shopper's own signals (``models.evidence.Reason``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.state import UserState
from models.evidence import FactValue, Reason
from models.ranking.ranker import ShopRanker

FloatArray = npt.NDArray[np.float64]
DAY = 86_400.0
MAX_REASONS = 3
NEW_ARRIVAL_DAYS = 30.0
# Groups that say something about the shopper, not about why this product fits them.
NOT_A_REASON = frozenset({"activity"})


@dataclass(frozen=True)
class GroupDrop:
    group: str
    drop: float


def score_drops(
    estimator: ShopRanker,
    rows: npt.NDArray[np.float32],
    scores: FloatArray,
    groups: dict[str, list[int]],
    baseline: FloatArray,
) -> list[list[GroupDrop]]:
    """Per row, the groups whose baseline-replacement lowers its score, largest drop first."""
    names = [g for g in groups if g not in NOT_A_REASON and groups[g]]
    if len(rows) == 0 or not names:
        return [[] for _ in range(len(rows))]
    variants = np.repeat(rows[None, :, :], len(names), axis=0)  # (groups, rows, features)
    for g, name in enumerate(names):
        columns = groups[name]
        variants[g][:, columns] = baseline[columns].astype(np.float32)
    flat = variants.reshape(-1, rows.shape[1])
    perturbed = estimator.score_rows(flat).reshape(len(names), -1)
    drops = scores[None, :] - perturbed
    out: list[list[GroupDrop]] = []
    for i in range(len(rows)):
        positive = [GroupDrop(names[g], float(drops[g, i])) for g in np.argsort(-drops[:, i])]
        out.append([d for d in positive if d.drop > 1e-9])
    return out


class ReasonFacts:
    """Turns a group's score drop into a ``Reason`` resting on the shopper's own signals."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        frame = catalog.frame
        self.titles = frame["title"].fillna("").astype(str).to_numpy(dtype=object)

    def _recent_in(self, state: UserState, match: str, value: int, days: float | None) -> int:
        count = 0
        for item in state.recent:
            i = self.catalog.position(item.product_id)
            if i < 0 or (days is not None and state.at - item.ts > days * DAY):
                continue
            code = self.catalog.category_code[i] if match == "c" else self.catalog.brand_code[i]
            count += int(code == value)
        return count

    def _recent_like(self, state: UserState, product: int) -> str | None:
        """The title of the shopper's latest other product sharing category or brand."""
        cat, brand = self.catalog.category_code[product], self.catalog.brand_code[product]
        for item in state.recent:
            i = self.catalog.position(item.product_id)
            if i < 0 or i == product:
                continue
            if self.catalog.category_code[i] == cat or self.catalog.brand_code[i] == brand:
                return str(self.titles[i])
        return None

    def reason(
        self,
        drop: GroupDrop,
        state: UserState,
        product: int,
        query: str | None,
        query_terms: str | None,
        cooc_title: str | None,
        share: float,
    ) -> Reason | None:
        c = self.catalog
        category = c.categories[int(c.category_code[product])]
        brand_code = int(c.brand_code[product])
        brand = c.brands[brand_code] if brand_code >= 0 else None
        facts: dict[str, FactValue]
        code = drop.group
        group = drop.group
        if group == "category_affinity":
            views = self._recent_in(state, "c", int(c.category_code[product]), 7.0)
            if views > 0:
                facts = {"category": category, "views_7d": views}
            else:
                total = self._recent_in(state, "c", int(c.category_code[product]), None)
                if total == 0:
                    return self._declared(state, category, brand, share)
                facts = {"category": category, "interactions": total}
        elif group == "brand_affinity" and brand is not None:
            total = self._recent_in(state, "b", brand_code, None)
            if total == 0:
                return self._declared(state, category, brand, share)
            facts = {"brand": brand, "interactions": total}
        elif group == "declared_interest":
            return self._declared(state, category, brand, share)
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
            code, facts = "popular", {"category": category}
        elif group == "trending":
            facts = {"category": category}
        elif group == "discount":
            pct = round(float(c.discount[product]) * 100)
            if pct <= 0:
                return None
            facts = {"discount_pct": pct}
        elif group == "freshness":
            launch = float(c.launch_ts[product])
            age = (state.at - launch) / DAY if np.isfinite(launch) else np.inf
            if not age <= NEW_ARRIVAL_DAYS:
                return None
            code, facts = "new_arrival", {"days_since_launch": int(max(age, 0.0))}
        elif group == "similarity_to_recent":
            title = self._recent_like(state, product)
            if title is None:
                return None
            code, facts = "similar_to_recent", {"title": title}
        elif group == "query_match":
            if not query:
                return None
            facts = {"query": query}
            if query_terms:
                facts["matched_terms"] = query_terms
        elif group == "co_occurrence":
            if cooc_title is None:
                return None
            code, facts = "co_viewed", {"title": cooc_title}
        else:
            return None
        return Reason(code=code, facts=facts, weight=round(share, 4))

    def _declared(
        self, state: UserState, category: str, brand: str | None, share: float
    ) -> Reason | None:
        if category in state.liked_categories:
            return Reason(code="liked_category", facts={"category": category}, weight=share)
        if brand is not None and brand in state.followed_brands:
            return Reason(code="followed_brand", facts={"brand": brand}, weight=share)
        return None


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
