"""One request's reads of a shopper (``features.store.shopper_reads``): the same answers
as the separate flows it replaces, in two round trips at most, on a standalone Redis and a
cluster (the shopper's keys share a slot; the neighbour lists do not)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import redis
import redis.cluster
from features_support import BASE_TS, small_catalog

from features.state import UserState
from features.store.calls import Call, Flow
from features.store.neighbours import learned_inputs, save_neighbours, save_popular_window
from features.store.online import OnlineFeatureStore
from features.store.owned import owned_flow
from features.store.regions import region_of, save_regions, trending_in_region
from features.store.runner import SyncRunner
from features.store.shopper_reads import NextReads, ReadWidths, ShopperReads, shopper_reads

CATALOG = small_catalog()
AT = BASE_TS + 3_600
WIDTHS = ReadWidths(neighbours=2, knn=3, popular_depth=4, trending=2)
StoreClient = redis.Redis | redis.cluster.RedisCluster


def _counted(flow: Flow[Any], batches: list[list[Call]]) -> Flow[Any]:
    """``flow`` as it is, recording each batch it sends."""
    calls = next(flow)
    while True:
        batches.append(calls)
        replies = yield calls
        try:
            calls = flow.send(replies)
        except StopIteration as stop:
            return stop.value


def _seed(client: StoreClient) -> SyncRunner:
    runner = SyncRunner(client)
    store = OnlineFeatureStore(runner, CATALOG)
    rows = [
        {"event_id": "e1", "user_id": "ann", "type": "view", "product_id": "p1", "ts": BASE_TS},
        {"event_id": "e2", "user_id": "ann", "type": "purchase", "product_id": "p:2"},
        {"event_id": "e3", "user_id": "ann", "type": "view", "product_id": "p{3}"},
    ]
    rows[1]["ts"], rows[2]["ts"] = BASE_TS + 60, BASE_TS + 120
    store.apply(pd.DataFrame(rows))
    runner.run(save_neighbours([("p1", [("p*4", 0.9), ("p 5", 0.5), ("p:2", 0.1)])]))
    runner.run(save_neighbours([("p{3}", [("p 5", 0.7)]), ("p1", [("p*4", 0.2)])], family="knn"))
    runner.run(save_popular_window([("p 5", 3.0), ("p1", 2.0), ("p*4", 1.0)]))
    trending = {"West": [("p*4", 5.0), ("p1", 4.0), ("p 5", 3.0)]}
    runner.run(save_regions({"bob": "West", "ann": "West"}, trending, 3_600))
    return runner


def _plan(recent: Sequence[str], history: Sequence[str]) -> Any:
    seen: list[UserState] = []

    def next_reads(state: UserState) -> NextReads:
        seen.append(state)
        return NextReads(recent=recent, history=history, region_trending=not state.recent)

    return next_reads, seen


def _read(runner: SyncRunner, user: str, next_reads: Any, owned: bool) -> tuple[Any, list]:
    batches: list[list[Call]] = []
    flow = shopper_reads(user, AT, WIDTHS, next_reads, owned=owned, cluster=runner.cluster)
    found: ShopperReads = runner.run(_counted(flow, batches))
    return found, [batch for batch in batches if batch]


def test_a_shoppers_reads_match_the_separate_flows_in_two_round_trips(
    store_client: StoreClient,
) -> None:
    runner = _seed(store_client)
    next_reads, seen = _plan(["p1"], ["p{3}", "p1"])
    found, sent = _read(runner, "ann", next_reads, owned=True)
    assert len(sent) == 2
    # Three neighbour lists: one script call on a server, a ZREVRANGE each on a cluster.
    assert len(sent[1]) == (3 if runner.cluster else 1)
    state = OnlineFeatureStore(runner, CATALOG).user_state("ann", AT)
    assert seen == [state]
    assert found.state == state
    assert found.owned == runner.run(owned_flow("ann"))
    assert found.owned.purchased  # the purchase is in the history set
    expected = runner.run(learned_inputs(["p1"], ["p{3}", "p1"], 2, 3, 4))
    assert found.learned == expected
    assert [p for p, _ in found.learned.cooc["p1"]] == ["p*4", "p 5"]  # width 2
    assert found.region is None
    assert found.trending == ()


def test_a_newcomer_gets_the_regions_trending_and_nothing_owned_unless_asked(
    store_client: StoreClient,
) -> None:
    runner = _seed(store_client)
    next_reads, seen = _plan([], [])
    found, sent = _read(runner, "bob", next_reads, owned=False)
    assert len(sent) == 2
    assert len(sent[1]) == 1
    assert not seen[0].recent
    assert found.region == runner.run(region_of("bob")) == "West"
    assert list(found.trending) == runner.run(trending_in_region("West", 2))
    assert found.owned.purchased == frozenset()
    assert found.owned.engaged == frozenset()
    assert found.learned.cooc == {}
    assert found.learned.knn == {}
    assert [p for p, _ in found.learned.popular_window] == ["p 5", "p1", "p*4"]


def test_a_stranger_costs_one_round_trip(store_client: StoreClient) -> None:
    runner = _seed(store_client)
    next_reads, _ = _plan([], [])
    found, sent = _read(runner, "nobody", next_reads, owned=True)
    assert len(sent) == 1  # no region: nothing depends on the state
    assert found.region is None
    assert found.trending == ()
    assert not found.state.recent
