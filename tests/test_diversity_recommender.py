"""The diversity option through the Recommender: fewer repeats, same candidates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.catalog import Catalog
from features.offline import OfflineFeatureEngine
from models.recommend.diversity import intra_list_diversity
from models.recommend.recommender import Recommender
from models.recommend.request import RecommendContext


def test_diversity_raises_intra_list_diversity(small_world: Path) -> None:
    catalog = Catalog.read(small_world / "catalog.parquet")
    events = pd.read_parquet(small_world / "events.parquet")
    at = float(events["ts"].max())
    engine = OfflineFeatureEngine(events, catalog)
    products = engine.product_features(at)
    recommender = Recommender(catalog)
    users = events[events["type"] == "view"]["user_id"].value_counts().index[:20]
    by_weight: dict[float, list[float]] = {0.0: [], 0.5: [], 1.0: []}
    for user in users:
        state = engine.user_state(str(user), at)
        for weight, values in by_weight.items():
            found = recommender.recommend(
                state, products, {}, RecommendContext(k=10, diversity=weight)
            )
            ids = [i.product_id for i in found.items]
            assert len(ids) == 10
            values.append(
                intra_list_diversity(
                    [catalog.category_of(p) for p in ids], [catalog.brand_of(p) for p in ids]
                )
            )
            if weight == 0.0:
                best = ids[0]
            else:
                assert ids[0] == best  # the best product still leads
    mean = {w: sum(v) / len(v) for w, v in by_weight.items()}
    assert mean[0.0] < mean[0.5] <= mean[1.0]
