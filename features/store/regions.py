"""What the store knows of regions: each shopper's region (one field of their profile
hash, ``keys.user_profile``) and each region's trending products (a sorted set,
``keys.region_trending``). Both are written when a users file and its log are ingested
and read by the service for shoppers it knows nothing else about
(``models.recommend.regions`` computes the trending sets).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from features.store import keys
from features.store.calls import Call, Flow, command, optional_text, scored


def save_regions(
    regions: Mapping[str, str],
    trending: Mapping[str, Sequence[tuple[str, float]]],
    ttl_seconds: int,
) -> Flow[None]:
    """Write each shopper's region and replace each region's trending set; a set expires
    after ``ttl_seconds`` (trending goes stale: without a fresh ingest, the shop's own
    trending serves instead)."""
    calls: list[Call] = [
        command("HSET", keys.user_profile(user_id), "region", region)
        for user_id, region in regions.items()
    ]
    for region, ranked in trending.items():
        key = keys.region_trending(region)
        calls.append(command("DEL", key))
        if ranked:
            flat = [x for product_id, score in ranked for x in (float(score), product_id)]
            calls.append(command("ZADD", key, *flat))
        calls.append(command("EXPIRE", key, ttl_seconds))
    yield calls


def region_of(user_id: str) -> Flow[str | None]:
    (value,) = yield [region_call(user_id)]
    return optional_text(value)


def region_call(user_id: str) -> Call:
    return command("HGET", keys.user_profile(user_id), "region")


def trending_in_region(region: str, k: int) -> Flow[list[tuple[str, float]]]:
    """The region's ``k`` most trending products with their scores, best first."""
    (reply,) = yield [trending_call(region, k)]
    return decode_trending(reply)


def trending_call(region: str, k: int) -> Call:
    return command("ZREVRANGE", keys.region_trending(region), 0, max(k, 1) - 1, "WITHSCORES")


def decode_trending(reply: Any) -> list[tuple[str, float]]:
    return [(product_id, score) for product_id, score in scored(reply) if math.isfinite(score)]
