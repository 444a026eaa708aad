"""What to show a shopper the store knows little or nothing about.

Three cases, decided by ``cold_start_plan``:

- ``personal``: the shopper has behaviour of their own; the ranker decides.
- ``declared``: no behaviour, but followed brands, liked categories or a request in
  words; those shape retrieval (signals fold them in) and the reasons say so.
- ``region_trending`` / ``trending``: nothing at all; the products trending in the
  shopper's region (known from an ingested users file), else across the shop.

Region trending is computed by ``models.recommend.regions`` and kept in the store
(``features.store.regions``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.state import UserState
from features.store import regions
from features.store.runner import AsyncClient, AsyncRunner
from models.evidence import Reason

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

    def add(position: int, score: float, source: str, code: str, facts: dict[str, str]) -> None:
        if len(picks) < limit and position >= 0 and allowed[position] and position not in taken:
            taken.add(position)
            picks.append(ColdPick(position, score, source, Reason(code=code, facts=facts)))

    def category(position: int) -> str:
        return catalog.categories[int(catalog.category_code[position])]

    if plan.kind == "region_trending" and plan.region is not None:
        for product_id, score in region_ranked:
            facts = {"region": plan.region}
            add(catalog.position(product_id), score, "region_trending", "region_trending", facts)
    # Below the region's own list, scores stay below every regional score.
    floor = min((p.score for p in picks), default=1.0)
    for rank, position in enumerate(by_trending.tolist()):
        facts = {"category": category(int(position))}
        add(int(position), floor / (2.0 + rank), "trending", "trending", facts)
    floor = min((p.score for p in picks), default=1.0)
    for rank, position in enumerate(by_popularity.tolist()):
        facts = {"category": category(int(position))}
        add(int(position), floor / (2.0 + rank), "popular", "popular", facts)
    return picks


def declared_matches(
    catalog: Catalog, state: UserState, positions: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which products (by catalog position) are of a followed brand or a liked category."""
    liked = [i for i, c in enumerate(catalog.categories) if c in state.liked_categories]
    followed = [i for i, b in enumerate(catalog.brands) if b in state.followed_brands]
    return np.isin(catalog.category_code[positions], liked) | np.isin(
        catalog.brand_code[positions], followed
    )


def declared_reason(catalog: Catalog, state: UserState, position: int) -> Reason | None:
    """The declared interest a product matches, as the reason it was promoted for."""
    category = catalog.categories[int(catalog.category_code[position])]
    if category in state.liked_categories:
        return Reason(code="liked_category", facts={"category": category})
    brand = catalog.brand_of(str(catalog.product_ids[position]))
    if brand is not None and brand in state.followed_brands:
        return Reason(code="followed_brand", facts={"brand": brand})
    return None


def with_declared(reasons: list[Reason], declared: Reason | None, limit: int = 3) -> list[Reason]:
    """``reasons`` led by the declared interest a promoted product matches (once)."""
    if declared is None or any(r.code == declared.code for r in reasons):
        return reasons
    return [declared, *reasons][:limit]


async def region_of(client: AsyncClient, user_id: str) -> str | None:
    """A shopper's region, for ``service.routes.web`` until it runs the store's
    ``features.store.regions.region_of`` flow on the service's runner itself."""
    return await AsyncRunner(client).run(regions.region_of(user_id))
