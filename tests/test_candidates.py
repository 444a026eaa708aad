"""Candidate generation: tagged sources, hard filters, no unlaunched products; co-occurrence
known only from the time both events happened, and its Redis round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import redis

from features.catalog import Catalog
from features.store import keys
from features.store.neighbours import NEIGHBOURS_TTL_SECONDS, neighbours_of, save_neighbours
from features.store.runner import SyncRunner
from models.retrieval.candidates import SOURCES, RetrievalSnapshot, ShopperSignals, candidates_for
from models.retrieval.cooccurrence import NEIGHBOURS, CooccurrenceLog, neighbours_from_map
from models.retrieval.text_match import QueryIndex

DAY = 86_400.0
NOW = 1_790_000_000.0


def _catalog() -> Catalog:
    rows = []
    for i in range(40):
        category = ["Tents", "Running Shoes", "Coffee Makers", "Watches"][i % 4]
        rows.append(
            {
                "product_id": f"p{i:02d}",
                "title": f"{category} model {i}",
                "description": f"A fine {category.lower()} item",
                "category": category,
                "brand": ["Oakwood", "Velabay"][i % 2],
                "price": 10.0 + i,
                "discount": 0.0,
                "launch_ts": NOW + DAY if i == 39 else NOW - 100 * DAY if i < 30 else NOW - DAY,
            }
        )
    return Catalog.from_frame(pd.DataFrame(rows))


def _snapshot(catalog: Catalog) -> RetrievalSnapshot:
    popularity = np.linspace(40.0, 1.0, len(catalog))
    trending = np.zeros(len(catalog))
    trending[[5, 6]] = 3.0
    return RetrievalSnapshot.build(
        NOW, popularity, trending, catalog.launch_ts, catalog.category_code, catalog.brand_code
    )


def _signals(catalog: Catalog) -> ShopperSignals:
    category = np.zeros(len(catalog.categories))
    category[catalog.categories.index("Watches")] = 5.0
    return ShopperSignals(
        recent=np.array([3], dtype=np.int64),
        recent_weight=np.array([1.0]),
        category_affinity=category,
        brand_affinity=np.zeros(len(catalog.brands)),
    )


def test_every_source_is_tagged_and_unlaunched_products_never_appear() -> None:
    catalog = _catalog()
    neighbours = {3: (np.array([7, 11]), np.array([0.9, 0.4]))}
    query = QueryIndex(catalog).scores("coffee makers")
    found = candidates_for(_signals(catalog), _snapshot(catalog), neighbours, query)
    products = set(found.products.tolist())
    assert 39 not in products  # launches tomorrow
    by_source = {
        name: set(found.products[found.sources[:, j]].tolist()) for j, name in enumerate(SOURCES)
    }
    assert by_source["co_occurrence"] == {7, 11}
    watches = catalog.categories.index("Watches")
    assert by_source["top_category"]
    assert all(catalog.category_code[p] == watches for p in by_source["top_category"])
    coffee = catalog.categories.index("Coffee Makers")
    assert by_source["query"]
    assert all(catalog.category_code[p] == coffee for p in by_source["query"])
    assert by_source["trending"] == {5, 6}
    assert by_source["new"] == {30, 31, 32, 33, 34, 35, 36, 37, 38}
    assert 0 in by_source["popular"]
    row = int(np.flatnonzero(found.products == 7)[0])
    assert "co_occurrence" in found.sources_of(row)
    assert found.cooc_score[row] > 0


def test_filters_hold_inside_every_source() -> None:
    catalog = _catalog()
    allowed = catalog.price <= 20.0
    found = candidates_for(
        _signals(catalog),
        _snapshot(catalog),
        {3: (np.array([7, 33]), np.ones(2))},
        allowed=allowed,
    )
    assert len(found) > 0
    assert bool(np.all(catalog.price[found.products] <= 20.0))


def _events(rows: list[tuple[str, str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "event_id": f"e{i}",
                "user_id": u,
                "type": t,
                "product_id": p,
                "ts": ts,
                "session_id": s,
            }
            for i, (u, t, p, ts, s) in enumerate(rows)
        ]
    )


def test_a_pair_is_known_only_once_both_events_happened() -> None:
    catalog = _catalog()
    events = _events(
        [
            ("u1", "view", "p01", NOW, "s1"),
            ("u1", "view", "p02", NOW + 60, "s1"),
            ("u2", "view", "p01", NOW + DAY, "s2"),
            ("u2", "purchase", "p03", NOW + DAY + 60, "s2"),
        ]
    )
    log = CooccurrenceLog.from_events(events, catalog)
    before = log.as_of(NOW + 30)
    assert before.of(1)[0].size == 0
    between = log.as_of(NOW + 120)
    assert between.of(1)[0].tolist() == [2]
    after = log.as_of(NOW + 2 * DAY)
    assert set(after.of(1)[0].tolist()) == {2, 3}


def test_neighbours_round_trip_through_redis_with_a_ttl(redis_client: redis.Redis) -> None:
    catalog = _catalog()
    events = _events(
        [
            ("u1", "view", "p01", NOW, "s1"),
            ("u1", "view", "p02", NOW + 60, "s1"),
            ("u1", "click", "p03", NOW + 90, "s1"),
        ]
    )
    neighbours = CooccurrenceLog.from_events(events, catalog).as_of(np.inf)
    store = SyncRunner(redis_client)
    assert store.run(save_neighbours(neighbours.lists(catalog))) == 3
    assert 0 < redis_client.ttl(keys.product_cooc("p01")) <= NEIGHBOURS_TTL_SECONDS
    fetched = store.run(neighbours_of(["p01", "p09"], NEIGHBOURS))
    assert {p for p, _ in fetched["p01"]} == {"p02", "p03"}
    assert fetched["p09"] == []
    index = neighbours_from_map(catalog, fetched)
    assert set(index[1][0].tolist()) == {2, 3}
