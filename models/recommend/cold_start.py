"""What to show a shopper the store knows little or nothing about.

Three cases, decided by ``cold_start_plan``:

- ``personal``: the shopper has behaviour of their own; the ranker decides.
- ``declared``: no behaviour, but followed brands, liked categories or a request in
  words; those shape retrieval (signals fold them in), ``declared_matches`` take every
  other place of the list and the reasons say so.
- ``region_trending`` / ``trending``: nothing at all; ``cold_picks`` takes the products
  trending in the shopper's region (``models.recommend.regions``), else across the shop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.state import UserState
from models.evidence import Reason
from models.recommend import reasons

PlanKind = Literal["personal", "declared", "region_trending", "trending"]


@dataclass(frozen=True)
class ColdStartPlan:
    """How one shopper's list is made, and what the reasons may say about it."""

    kind: PlanKind
    region: str | None = None

    @property
    def is_cold(self) -> bool:
        return self.kind in ("region_trending", "trending")

    @property
    def reason_code(self) -> str | None:
        return {"region_trending": "region_trending", "trending": "trending"}.get(self.kind)


def has_behaviour(state: UserState) -> bool:
    """Whether the shopper viewed, carted or bought anything (interests alone do not count)."""
    return bool(state.recent) or bool(state.purchased)


def has_declared_interests(state: UserState) -> bool:
    return bool(state.followed_brands) or bool(state.liked_categories)


def cold_start_plan(
    state: UserState,
    *,
    asked: bool,
    region: str | None,
    region_has_trending: bool,
) -> ColdStartPlan:
    """``asked``: the request carries words or filters; ``region``: from the users file."""
    if has_behaviour(state):
        return ColdStartPlan("personal", region)
    if has_declared_interests(state) or asked:
        return ColdStartPlan("declared", region)
    if region is not None and region_has_trending:
        return ColdStartPlan("region_trending", region)
    return ColdStartPlan("trending", region)


def declared_matches(
    catalog: Catalog, state: UserState, positions: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which products (by catalog position) are of a followed brand or a liked category."""
    liked = [i for i, c in enumerate(catalog.categories) if c in state.liked_categories]
    followed = [i for i, b in enumerate(catalog.brands) if b in state.followed_brands]
    return np.isin(catalog.category_code[positions], liked) | np.isin(
        catalog.brand_code[positions], followed
    )


@dataclass(frozen=True)
class ColdPick:
    """One product for a shopper we know nothing about, with the label it is shown with."""

    position: int
    score: float
    source: str
    reason: Reason


def cold_picks(
    plan: ColdStartPlan,
    catalog: Catalog,
    allowed: npt.NDArray[np.bool_],
    region_ranked: Sequence[tuple[str, float]],
    by_trending: npt.NDArray[np.int64],
    by_popularity: npt.NDArray[np.int64],
    limit: int,
) -> list[ColdPick]:
    """Up to ``limit`` allowed products, best first: the region's trending ones when the plan
    says so, then the shop's trending ones, then its most popular (so a list always fills)."""
    picks: list[ColdPick] = []
    taken: set[int] = set()

    def add(position: int, score: float, source: str, reason: Reason) -> None:
        if len(picks) < limit and position >= 0 and allowed[position] and position not in taken:
            taken.add(position)
            picks.append(ColdPick(position, score, source, reason))

    if plan.kind == "region_trending" and plan.region is not None:
        for product_id, score in region_ranked:
            position = catalog.position(product_id)
            add(position, score, "region_trending", reasons.region_trending(plan.region))
    # Below the region's own list, scores stay below every regional score.
    floor = min((p.score for p in picks), default=1.0)
    for rank, position in enumerate(by_trending.tolist()):
        category = reasons.category_at(catalog, int(position))
        add(int(position), floor / (2.0 + rank), "trending", reasons.trending(category))
    floor = min((p.score for p in picks), default=1.0)
    for rank, position in enumerate(by_popularity.tolist()):
        category = reasons.category_at(catalog, int(position))
        add(int(position), floor / (2.0 + rank), "popular", reasons.popular(category))
    return picks
