"""Region trending: what shoppers of one region engage with, for newcomers from there.

A decayed, interaction-weighted count per (region, product) over the event log, built
offline by ``region_trending_from_log`` (the shop-wide popularity weights: a purchase
says more than a view) and stored by ``ingest_regions`` with each shopper's region from
the users file (``features.store.regions``). ``shopmode ingest --users`` runs it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.definitions import POPULARITY_WEIGHTS
from features.store.regions import save_regions
from features.store.runner import SyncRunner

DAY = 86_400.0
TRENDING_HALF_LIFE = 2 * DAY
TRENDING_HORIZON = 14 * DAY
KEEP_PER_REGION = 300


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
    weights = {str(kind): weight for kind, weight in POPULARITY_WEIGHTS.items()}
    weight = events["type"].map(weights).to_numpy(dtype=np.float64, na_value=0.0)
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


def ingest_regions(
    store: SyncRunner, users: pd.DataFrame, events: pd.DataFrame | None
) -> tuple[int, int]:
    """Store regions from a users table and, given its events, each region's trending set
    as of the last event. Returns (shoppers with a region, regions with a trending set)."""
    regions = user_regions(users)
    trending: dict[str, list[tuple[str, float]]] = {}
    if events is not None and not events.empty:
        trending = region_trending_from_log(events, regions, float(events["ts"].max()))
    # A trending set goes stale with its horizon.
    store.run(save_regions(regions, trending, int(TRENDING_HORIZON)))
    return len(regions), len(trending)
