"""The online store in a real Redis: idempotency, expiry, windows, caps, key safety."""

from __future__ import annotations

import asyncio
import math
import struct
import time

import pandas as pd
import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from features_support import BASE_TS, small_catalog
from redis.cluster import key_slot

from features.definitions import MEMBER_CAP, RECENT_CAP, TIME_ORIGIN
from features.events.schema import parse_events
from features.offline import OfflineFeatureEngine
from features.store import keys
from features.store.apply import StoreConfig
from features.store.catalog import load_catalog, save_catalog
from features.store.event_log import read_event_log, write_event_part
from features.store.online import AsyncOnlineFeatureStore, OnlineFeatureStore
from features.store.runner import AsyncRunner, SyncRunner
from shopmode.errors import InvalidEvent, NotFound, StoreUnavailable

CATALOG = small_catalog()
StoreClient = redis.Redis | redis.cluster.RedisCluster


def _async_twin(client: StoreClient) -> redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster:
    """An asyncio client on the same server or cluster as ``client``."""
    if isinstance(client, redis.cluster.RedisCluster):
        node = client.get_default_node()
        return redis.asyncio.cluster.RedisCluster(host=node.host, port=node.port)
    kwargs = client.connection_pool.connection_kwargs
    return redis.asyncio.Redis(host=kwargs["host"], port=kwargs["port"])


HOUR, DAY = 3600.0, 86_400.0


def _event(i: int, ts: float, kind: str = "view", product: str = "p1", user: str = "ann") -> dict:
    return {"event_id": f"e{i}", "user_id": user, "type": kind, "product_id": product, "ts": ts}


def test_a_resent_batch_changes_nothing(store_client: StoreClient) -> None:
    store = OnlineFeatureStore(store_client, CATALOG)
    batch = pd.DataFrame([_event(i, BASE_TS + i) for i in range(5)])
    first = store.apply(batch)
    before = store.user_state("ann", BASE_TS + 10)
    again = store.apply(batch)
    assert (first.accepted, first.duplicate) == (5, 0)
    assert (again.accepted, again.duplicate) == (0, 5)
    assert store.user_state("ann", BASE_TS + 10) == before
    assert before.counts["1h"]["view"] == 5


def test_a_batch_mixing_seen_and_new_events_applies_only_the_new(
    store_client: StoreClient,
) -> None:
    store = OnlineFeatureStore(store_client, CATALOG)
    store.apply(pd.DataFrame([_event(i, BASE_TS + i) for i in range(3)]))
    mixed = pd.DataFrame([_event(i, BASE_TS + i) for i in range(1, 6)] + [_event(5, BASE_TS + 5)])
    report = store.apply(mixed)
    assert (report.accepted, report.duplicate) == (3, 3)
    assert store.user_state("ann", BASE_TS + 10).counts["1h"]["view"] == 6


def test_late_events_give_the_same_state_as_in_order(store_client: StoreClient) -> None:
    rows = [_event(i, BASE_TS + (i * 7919) % 50_000, "click") for i in range(30)]
    store = OnlineFeatureStore(store_client, CATALOG)
    for chunk in (rows[20:], rows[:7], rows[7:20]):
        store.apply(pd.DataFrame(chunk))
    at = BASE_TS + 60_000
    ordered = OfflineFeatureEngine(pd.DataFrame(rows), CATALOG).user_state("ann", at)
    online = store.user_state("ann", at)
    assert online.counts == ordered.counts
    assert online.category_affinity["1d"]["Trail Running"] == pytest.approx(
        ordered.category_affinity["1d"]["Trail Running"], rel=1e-9
    )


def test_product_first_seen_and_all_time_popularity_follow_late_events(
    store_client: StoreClient,
) -> None:
    rows = [_event(i, BASE_TS + (i * 7919) % 50_000, "purchase", user=f"u{i}") for i in range(12)]
    store = OnlineFeatureStore(store_client, CATALOG)
    for chunk in (rows[6:], rows[:3], rows[3:6]):  # the first event arrives in the middle
        store.apply(pd.DataFrame(chunk))
    at = BASE_TS + 400 * DAY
    p1 = CATALOG.index_of(["p1"])
    online = store.product_features(at=at)
    assert online.first_seen(p1)[0] == pytest.approx(BASE_TS, abs=1e-3)
    assert online.decayed("popularity", "all", p1)[0] == pytest.approx(12 * 8.0, rel=1e-9)
    assert online.decayed("popularity", "14d", p1)[0] < 1e-6  # decayed away, "all" is not


def test_a_product_vector_of_the_older_layout_keeps_its_sums(store_client: StoreClient) -> None:
    """Vectors written before the whole-log slots existed (12 sums) read as those sums with
    the new slots empty, and the next event extends them."""
    old = [float(k) for k in range(12)]
    store_client.set(keys.product_stats("p1"), struct.pack("<12d", *old))
    store = OnlineFeatureStore(store_client, CATALOG)
    p1 = CATALOG.index_of(["p1"])
    rows = store.product_features(at=BASE_TS).rows_for(p1)[0]
    assert rows[:12].tolist() == old
    assert (rows[12:] == -math.inf).all()
    store.apply(pd.DataFrame([_event(0, BASE_TS)]))
    after = store.product_features(at=BASE_TS)
    assert after.rows_for(p1)[0][0] == old[0]  # impressions untouched by a view
    assert after.first_seen(p1)[0] == pytest.approx(BASE_TS, abs=1e-3)


def test_an_affinity_field_of_the_older_layout_gains_the_whole_history_slot(
    store_client: StoreClient,
) -> None:
    """A category field written with two sums (1d, 14d) keeps them; the whole-history sum
    starts from the next event."""
    store = OnlineFeatureStore(store_client, CATALOG)
    store.apply(pd.DataFrame([_event(0, BASE_TS)]))  # a view: affinity weight 1
    state_key = keys.user_state("ann")
    (field,) = [f for f in store_client.hkeys(state_key) if f.startswith(b"c:")]
    two = store_client.hget(state_key, field)[:16]
    store_client.hset(state_key, field, two)  # as the older layout wrote it
    older = store.user_state("ann", BASE_TS)
    assert older.category_affinity["all"] == {}
    store.apply(pd.DataFrame([_event(1, BASE_TS + 60, "click")]))  # weight 2
    state = store.user_state("ann", BASE_TS + 60)
    (category,) = state.category_affinity["all"]
    assert state.category_affinity["all"][category] == pytest.approx(2.0, rel=1e-9)
    assert state.category_affinity["1d"][category] == pytest.approx(
        2.0 + 2.0 ** (-60 / DAY), rel=1e-9
    )


def test_window_counts_follow_bucket_edges(store_client: StoreClient) -> None:
    store = OnlineFeatureStore(store_client, CATALOG)
    at = BASE_TS + 10 * DAY  # midnight: the 10-minute, hour and day buckets all start here
    offsets = {
        "a": -600 * 6,  # 1h window = the 6 ten-minute buckets ending with at's: this one is out
        "b": -600 * 5,  # first bucket of the 1h window
        "c": -HOUR * 24,  # out of the 24 hourly buckets
        "d": -HOUR * 23,  # first hourly bucket in
        "e": -DAY * 7,  # out of the 7 daily buckets
        "f": -DAY * 6,  # in
        "g": 0.0,  # the current bucket
    }
    store.apply(pd.DataFrame([_event(i, at + off) for i, off in enumerate(offsets.values())]))
    counts = store.user_state("ann", at).counts
    assert counts["1h"]["view"] == 2  # b, g
    assert counts["24h"]["view"] == 4  # a, b, d, g
    assert counts["7d"]["view"] == 6  # all but e
    assert store.user_state("ann", at + 599).counts["1h"]["view"] == 2
    assert store.user_state("ann", at + 600).counts["1h"]["view"] == 1


def test_recent_items_purchases_and_buckets_are_capped(store_client: StoreClient) -> None:
    store = OnlineFeatureStore(store_client, CATALOG)
    many = [_event(i, BASE_TS + i, "view", f"x{i:03d}") for i in range(RECENT_CAP + 15)]
    bought = [
        _event(1000 + i, BASE_TS + i, "purchase", f"y{i:03d}") for i in range(MEMBER_CAP + 20)
    ]
    old = [_event(2000 + d, BASE_TS - d * DAY, "search", None) for d in range(1, 20)]
    for row in old:
        del row["product_id"]
    store.apply(pd.DataFrame(many + bought + old))
    state = store.user_state("ann", BASE_TS + DAY)
    assert len(state.recent) == RECENT_CAP
    assert state.recent[0].product_id == f"y{MEMBER_CAP + 19:03d}"
    assert len(state.purchased) == MEMBER_CAP
    assert min(state.purchased.values()) == BASE_TS + 20
    assert store_client.zcard(keys.user_recent("ann")) == RECENT_CAP
    fields = [f.decode() for f in store_client.hkeys(keys.user_state("ann"))]
    day_buckets = [int(f.split(":")[2]) for f in fields if f.startswith("w:d:")]
    assert min(day_buckets) >= int((BASE_TS - TIME_ORIGIN) // DAY) - 6  # older ones pruned


def test_inactive_shoppers_expire(store_client: StoreClient) -> None:
    store = OnlineFeatureStore(store_client, CATALOG, StoreConfig(user_ttl_seconds=1))
    store.apply(pd.DataFrame([_event(1, BASE_TS), _event(2, BASE_TS + 1, "purchase")]))
    assert store.user_state("ann", BASE_TS).known
    ttls = store.user_ttls("ann")
    assert len(ttls) == len(keys.user_keys("ann"))
    assert all(0 < ttl <= 1 for ttl in ttls)
    deadline = time.monotonic() + 5
    while store_client.exists(*keys.user_keys("ann")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not store.user_state("ann", BASE_TS).known
    assert store_client.ttl(keys.product_stats("p1")) > 0  # products keep their own TTL


def test_event_ids_are_forgotten_after_the_dedup_horizon(store_client: StoreClient) -> None:
    store = OnlineFeatureStore(store_client, CATALOG, StoreConfig(dedup_horizon_seconds=DAY))
    store.apply(pd.DataFrame([_event(1, BASE_TS)]))
    store.apply(pd.DataFrame([_event(2, BASE_TS + 2 * DAY)]))
    assert store_client.strlen(keys.user_seen("ann")) == 12  # one remembered id
    assert store.apply(pd.DataFrame([_event(2, BASE_TS + 2 * DAY)])).duplicate == 1
    assert store.apply(pd.DataFrame([_event(1, BASE_TS)])).accepted == 1  # documented limit


def test_ids_with_key_syntax_stay_in_their_own_slot(store_client: StoreClient) -> None:
    store = OnlineFeatureStore(store_client, CATALOG)
    users = ["a}b", "a%7Db", "{x}", "u:1*", "x" * 128]
    store.apply(pd.DataFrame([_event(i, BASE_TS, user=u) for i, u in enumerate(users)]))
    for user in users:
        slots = {key_slot(key.encode()) for key in keys.user_keys(user)}
        assert len(slots) == 1
        assert store.user_state(user, BASE_TS).counts["1h"]["view"] == 1
    assert len({keys.user_state(u) for u in users}) == len(users)


def test_features_for_reads_user_and_candidates_together(store_client: StoreClient) -> None:
    store = OnlineFeatureStore(store_client, CATALOG)
    store.apply(pd.DataFrame([_event(1, BASE_TS, "purchase", "p{3}"), _event(2, BASE_TS, "view")]))
    state, products = store.features_for("ann", ["p{3}", "p1", "unknown"], BASE_TS)
    assert state == store.user_state("ann", BASE_TS)
    assert products.to_json(["p{3}", "p1"], CATALOG.index_of(["p{3}", "p1"]))["p{3}"][
        "purchase_1d"
    ] == pytest.approx(1.0)
    assert store.popular() == ["p{3}", "p1"]
    assert store.popular("Trail Running") == ["p1"]


def test_async_store_shares_keys_and_numbers(store_client: StoreClient) -> None:
    rows = [_event(i, BASE_TS + i * 100, kind) for i, kind in enumerate(["view", "click"] * 3)]

    async def run() -> tuple[object, object]:
        client = _async_twin(store_client)
        try:
            store = AsyncOnlineFeatureStore(client, CATALOG)
            events, _ = parse_events(rows, now=BASE_TS + DAY)
            report = await store.apply(events)
            assert report.accepted == 6
            again = await store.apply(events)
            assert again.duplicate == 6
            return await store.features_for("ann", ["p1"], BASE_TS + HOUR)
        finally:
            await client.aclose()

    state, products = asyncio.run(run())
    sync = OnlineFeatureStore(store_client, CATALOG)
    assert state == sync.user_state("ann", BASE_TS + HOUR)
    assert (products.log_sums == sync.product_features(["p1"], BASE_TS + HOUR).log_sums).all()


def test_a_bad_frame_is_refused_whole(store_client: StoreClient) -> None:
    store = OnlineFeatureStore(store_client, CATALOG)
    with pytest.raises(InvalidEvent) as caught:
        store.apply(pd.DataFrame([_event(1, BASE_TS), {**_event(2, BASE_TS), "type": "warp"}]))
    assert caught.value.field == "type"
    assert not store_client.exists(*keys.user_keys("ann"))
    assert not store_client.exists(keys.product_stats("p1"))


def test_unreachable_redis_is_store_unavailable() -> None:
    client = redis.Redis(port=1, socket_connect_timeout=0.2)
    with pytest.raises(StoreUnavailable):
        OnlineFeatureStore(client, CATALOG).user_state("ann")


def test_catalog_snapshot_round_trips(store_client: StoreClient) -> None:
    store = SyncRunner(store_client)
    with pytest.raises(NotFound):
        store.run(load_catalog())
    store.run(save_catalog(CATALOG))
    loaded = store.run(load_catalog())
    assert loaded.product_ids.tolist() == CATALOG.product_ids.tolist()
    assert loaded.brand_of("p{3}") is None
    assert loaded.category_of("p:2") == "Trail Running"

    async def load() -> list[str]:
        client = _async_twin(store_client)
        try:
            # Parsed in a worker thread, as the service does.
            catalog = await AsyncRunner(client).run(load_catalog(), offload=True)
            return list(catalog.categories)
        finally:
            await client.aclose()

    assert list(asyncio.run(load())) == list(CATALOG.categories)


def test_event_log_merges_stream_and_parts_once(
    store_client: StoreClient, tmp_path: pd.DataFrame
) -> None:
    store = OnlineFeatureStore(store_client, CATALOG)
    store.apply(pd.DataFrame([_event(1, BASE_TS), _event(2, BASE_TS + 1)]))
    bulk = pd.DataFrame([_event(2, BASE_TS + 1), _event(3, BASE_TS + 2)])
    write_event_part(OfflineFeatureEngine(bulk, CATALOG).events_, tmp_path)
    log = read_event_log(SyncRunner(store_client), tmp_path)
    assert log["event_id"].tolist() == ["e1", "e2", "e3"]
