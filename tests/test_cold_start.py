"""Cold start: who counts as cold, and what is trending in a shopper's region."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest
import redis
import redis.asyncio

from features.events.schema import EventType
from features.state import RecentItem, UserState
from features.store.regions import region_of, save_regions, trending_in_region
from features.store.runner import AsyncRunner, SyncRunner
from models.recommend.cold_start import cold_start_plan
from models.recommend.regions import TRENDING_HORIZON, region_trending_from_log, user_regions

AT = 1_800_000_000.0


def _events(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "type", "product_id", "ts"])


def test_plan_follows_what_the_shopper_gave_us() -> None:
    nobody = UserState(user_id="u1", at=AT)
    fan = UserState(user_id="u2", at=AT, followed_brands={"Northpeak": AT})
    active = UserState(user_id="u3", at=AT, recent=(RecentItem("p1", EventType.VIEW, AT - 60),))
    plan = cold_start_plan
    assert plan(nobody, asked=False, region="West", region_has_trending=True).kind == (
        "region_trending"
    )
    assert plan(nobody, asked=False, region="West", region_has_trending=False).kind == "trending"
    assert plan(nobody, asked=False, region=None, region_has_trending=False).kind == "trending"
    assert plan(nobody, asked=True, region="West", region_has_trending=True).kind == "declared"
    assert plan(fan, asked=False, region=None, region_has_trending=False).kind == "declared"
    assert plan(active, asked=False, region="West", region_has_trending=True).kind == "personal"
    assert plan(nobody, asked=False, region="West", region_has_trending=True).reason_code == (
        "region_trending"
    )


def test_region_trending_weighs_interactions_and_recency() -> None:
    regions = {"a": "West", "b": "West", "c": "Midwest"}
    events = _events(
        [
            ("a", "view", "p1", AT - 3600),
            ("b", "view", "p1", AT - 7200),
            ("a", "purchase", "p2", AT - 3600),  # one purchase outweighs two views
            ("c", "view", "p3", AT - 60),
            ("c", "view", "p4", AT - 20 * 86_400),  # older than the horizon
            ("z", "purchase", "p5", AT - 60),  # region unknown
            ("a", "impression", "p6", AT - 60),  # impressions are not interest
            ("b", "view", "p7", AT + 60),  # after `at`
        ]
    )
    table = region_trending_from_log(events, regions, AT)
    assert [p for p, _ in table["West"]] == ["p2", "p1"]
    assert [p for p, _ in table["Midwest"]] == ["p3"]
    assert set(table) == {"West", "Midwest"}


def test_regions_round_trip_through_redis(small_world: Path, redis_url: str) -> None:
    users = pd.read_parquet(small_world / "users.parquet")
    events = pd.read_parquet(small_world / "events.parquet")
    regions = user_regions(users)
    at = float(events["ts"].max())
    table = region_trending_from_log(events, regions, at)
    assert len(table) >= 3  # the small world spreads shoppers over several regions
    # Regions differ: a region's top products are not simply the shop's top products.
    tops = {region: tuple(p for p, _ in ranked[:5]) for region, ranked in table.items()}
    assert len(set(tops.values())) > 1

    client = redis.Redis.from_url(redis_url)
    SyncRunner(client).run(save_regions(regions, table, int(TRENDING_HORIZON)))
    client.close()

    user_id, region = next(iter(regions.items()))

    async def read() -> tuple[str | None, list[tuple[str, float]], str | None]:
        aclient = redis.asyncio.Redis.from_url(redis_url)
        store = AsyncRunner(aclient)
        try:
            found = await store.run(region_of(user_id))
            ranked = await store.run(trending_in_region(region, 5))
            unknown = await store.run(region_of("nobody-here"))
        finally:
            await aclient.aclose()
        return found, ranked, unknown

    found, ranked, unknown = asyncio.run(read())
    assert found == region
    assert unknown is None
    assert [p for p, _ in ranked] == [p for p, _ in table[region][:5]]
    assert [s for _, s in ranked] == pytest.approx([s for _, s in table[region][:5]])
