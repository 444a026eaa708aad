"""What to show a shopper the store knows little or nothing about.

Three cases, decided by ``cold_start_plan``:

- ``personal``: the shopper has behaviour of their own; the ranker decides.
- ``declared``: no behaviour, but followed brands, liked categories or a request in
  words; those shape retrieval (signals fold them in) and the reasons say so.
- ``region_trending`` / ``trending``: nothing at all; the products trending in the
  shopper's region (known from an ingested users file), else across the shop.

Region trending is a decayed, interaction-weighted count per (region, product) over the
event log, built offline by ``region_trending_from_log`` and stored as one sorted set per
region; a shopper's region is one field of their profile hash. Both are written when the
users file and the log are ingested (``shopmode ingest``) and read by the service.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import redis
import redis.asyncio

from features.catalog import Catalog
from features.state import UserState
from features.store import keys
from models.evidence import Reason

DAY = 86_400.0
TRENDING_HALF_LIFE = 2 * DAY
TRENDING_HORIZON = 14 * DAY
KEEP_PER_REGION = 300
# A purchase says more than a view; the same weights as the shop-wide popularity.
INTERACTION_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "click": 2.0,
    "add_to_cart": 4.0,
    "purchase": 8.0,
}

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


def region_trending_from_log(
    events: pd.DataFrame,
    regions: Mapping[str, str],
    at: float,
    *,
    half_life: float = TRENDING_HALF_LIFE,
    horizon: float = TRENDING_HORIZON,
    keep: int = KEEP_PER_REGION,
) -> dict[str, list[tuple[str, float]]]:
    """Per region, products by decayed interaction weight as of ``at`` (best first).

    Only events in ``(at - horizon, at]`` by shoppers with a known region count.
    """
    if events.empty:
        return {}
    ts = events["ts"].to_numpy(dtype=np.float64)
    weight = events["type"].map(INTERACTION_WEIGHTS).to_numpy(dtype=np.float64, na_value=0.0)
    region = events["user_id"].map(regions)
    usable = (
        (weight > 0)
        & (ts <= at)
        & (ts > at - horizon)
        & region.notna().to_numpy()
        & events["product_id"].notna().to_numpy()
    )
    if not usable.any():
        return {}
    frame = pd.DataFrame(
        {
            "region": region.to_numpy(dtype=object)[usable],
            "product_id": events["product_id"].to_numpy(dtype=object)[usable],
            "score": weight[usable] * np.exp2(-(at - ts[usable]) / half_life),
        }
    )
    sums = frame.groupby(["region", "product_id"], sort=False)["score"].sum().reset_index()
    sums = sums.sort_values(["region", "score", "product_id"], ascending=[True, False, True])
    table: dict[str, list[tuple[str, float]]] = {}
    for name, group in sums.groupby("region", sort=True):
        top = group.head(keep)
        table[str(name)] = [
            (str(p), float(s)) for p, s in zip(top["product_id"], top["score"], strict=True)
        ]
    return table


def user_regions(users: pd.DataFrame) -> dict[str, str]:
    """user_id → region from a users table (rows without a region are left out)."""
    if "region" not in users.columns:
        return {}
    known = users[users["region"].notna() & (users["region"].astype(str).str.strip() != "")]
    return dict(zip(known["user_id"].astype(str), known["region"].astype(str), strict=True))


def store_regions(
    client: redis.Redis | redis.RedisCluster,
    regions: Mapping[str, str],
    trending: Mapping[str, list[tuple[str, float]]],
) -> None:
    """Write each shopper's region and each region's trending set (replacing the old set)."""
    pipe = client.pipeline(transaction=False)
    for user_id, region in regions.items():
        pipe.hset(keys.user_profile(user_id), "region", region)
    for region, ranked in trending.items():
        key = keys.region_trending(region)
        pipe.delete(key)
        if ranked:
            pipe.zadd(key, dict(ranked))
        # Trending goes stale: without a fresh ingest, fall back to shop-wide trending.
        pipe.expire(key, int(TRENDING_HORIZON))
    pipe.execute()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def region_of(
    client: redis.asyncio.Redis | redis.asyncio.RedisCluster, user_id: str
) -> str | None:
    value = await client.hget(keys.user_profile(user_id), "region")
    return None if value is None else _text(value)


async def trending_in_region(
    client: redis.asyncio.Redis | redis.asyncio.RedisCluster, region: str, k: int
) -> list[tuple[str, float]]:
    """The region's ``k`` most trending products with their scores, best first."""
    pairs = await client.zrevrange(keys.region_trending(region), 0, max(k, 1) - 1, withscores=True)
    found: list[tuple[str, float]] = []
    for pair in pairs:
        if isinstance(pair, list | tuple) and math.isfinite(float(pair[1])):
            found.append((_text(pair[0]), float(pair[1])))
    return found


def ingest_regions(
    client: redis.Redis | redis.RedisCluster,
    users: pd.DataFrame,
    events: pd.DataFrame | None,
) -> tuple[int, int]:
    """Store regions from a users table and, given its events, each region's trending set
    as of the last event. Returns (shoppers with a region, regions with a trending set)."""
    regions = user_regions(users)
    trending: dict[str, list[tuple[str, float]]] = {}
    if events is not None and not events.empty:
        trending = region_trending_from_log(events, regions, float(events["ts"].max()))
    store_regions(client, regions, trending)
    return len(regions), len(trending)


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
