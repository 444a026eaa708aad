"""The shopper keys' stored layout (docs/redis-keys.md) round-trips, and stays compact."""

from __future__ import annotations

import math
import struct

import pandas as pd
import pytest
import redis
from features_support import BASE_TS, small_catalog

from features.definitions import DAY, SUM_HALF_LIVES, TIME_ORIGIN
from features.offline import OfflineFeatureEngine
from features.store import keys
from features.store.apply import StoreConfig
from features.store.calls import text
from features.store.online import OnlineFeatureStore
from features.store.state_fields import packed_slot, raw_fields

CATALOG = small_catalog()


def _event(i: int, ts: float, kind: str = "view", product: str = "p1") -> dict[str, object]:
    return {"event_id": f"e{i}", "user_id": "ann", "type": kind, "product_id": product, "ts": ts}


def stored_seen(client: redis.Redis) -> bytes:
    log = client.get(keys.user_seen("ann"))
    assert isinstance(log, bytes)
    return log


def read_seen(log: bytes) -> list[tuple[int, bytes]]:
    """The dedup log as (seconds since the time origin, digest) records, as documented:
    an int32 base, then per record a LEB128 delta and the digest."""
    if not log:
        return []
    (second,) = struct.unpack_from("<i", log)
    at, records = 4, []
    while at < len(log):
        delta, shift = 0, 0
        while True:
            byte = log[at]
            at += 1
            delta |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        second += delta
        records.append((second, log[at : at + keys.EVENT_DIGEST_BYTES]))
        at += keys.EVENT_DIGEST_BYTES
    return records


def _history() -> list[dict[str, object]]:
    """Late and early events, gaps from 0 s to days (one-, two- and three-byte deltas)."""
    gaps = [0, 2 * DAY, 16_384, 16_383, 300, 128, 127, 5, 0.5, 3 * DAY]
    times = [BASE_TS + sum(gaps[: i + 1]) for i in range(len(gaps))]
    kinds = ["view", "click", "add_to_cart", "purchase", "impression"] * 2
    products = ["p1", "p:2", "p{3}", "p*4", "p 5"] * 2
    rows = [
        _event(i, t, k, p) for i, (t, k, p) in enumerate(zip(times, kinds, products, strict=True))
    ]
    return rows[::-1]  # newest first: every earlier one arrives late


@pytest.mark.parametrize("batch_size", [1, 3, 10])
def test_the_dedup_log_holds_every_id_in_the_horizon_oldest_first(
    redis_client: redis.Redis, batch_size: int
) -> None:
    store = OnlineFeatureStore(redis_client, CATALOG, StoreConfig(dedup_horizon_seconds=4 * DAY))
    rows = _history()
    for start in range(0, len(rows), batch_size):
        store.apply(pd.DataFrame(rows[start : start + batch_size]))
    newest = max(float(row["ts"]) for row in rows)  # type: ignore[arg-type]
    cutoff = newest - 4 * DAY - TIME_ORIGIN
    expected = sorted(
        (math.floor(float(row["ts"]) - TIME_ORIGIN), keys.event_hash(str(row["event_id"])))  # type: ignore[arg-type]
        for row in rows
        if math.floor(float(row["ts"]) - TIME_ORIGIN) >= cutoff  # type: ignore[arg-type]
    )
    stored = read_seen(stored_seen(redis_client))
    assert stored == expected
    assert len(stored) < len(rows)  # the horizon dropped the oldest
    assert store.apply(pd.DataFrame(rows)).duplicate == len(stored)


def test_the_state_hash_packs_each_targets_sums_and_reads_back_as_raw_fields(
    redis_client: redis.Redis,
) -> None:
    store = OnlineFeatureStore(redis_client, CATALOG)
    rows = _history()
    store.apply(pd.DataFrame(rows))
    stored = redis_client.hgetall(keys.user_state("ann"))
    at = max(float(row["ts"]) for row in rows)  # type: ignore[arg-type]
    offline_fields, _ = OfflineFeatureEngine(pd.DataFrame(rows), CATALOG).raw_user("ann", at)
    # A category's sums (both half-lives and the whole history) share one field of three
    # float64 slots; prices three.
    assert len(stored[b"c:Trail Running"]) == 8 * len(SUM_HALF_LIVES) == 24
    assert len(stored[b"b:Nord"]) == 24
    assert len(stored[b"pv"]) == 24
    assert len(stored[b"t"]) == 8  # times: one float64
    assert not any(text(name).startswith("a1d:") for name in stored)
    fields = raw_fields(stored)
    # The store deletes window buckets that left every window; the offline form keeps them.
    kept = {name for name in offline_fields if not name.startswith("w:") or name in fields}
    assert fields.keys() == kept
    for name in kept:
        value = offline_fields[name]
        if name.startswith(("a1d:", "a14d:", "aall:", "pv:", "pb:")):
            assert float(fields[name]) == pytest.approx(float(value), rel=1e-12, abs=1e-12)
            assert packed_slot(name)[0].encode() in stored
        elif isinstance(value, str):
            assert fields[name] == value  # window counts
        else:
            assert float(fields[name]) == value  # times: as sent


def test_a_shoppers_hash_and_recent_items_stay_compactly_encoded(
    redis_client: redis.Redis,
) -> None:
    store = OnlineFeatureStore(redis_client, CATALOG)
    rows = [
        _event(i, BASE_TS + 37 * i, kind, product)
        for i, (kind, product) in enumerate(
            zip(
                ["view", "click", "impression", "purchase"] * 12,
                ["p1", "p:2", "p{3}", "p*4"] * 12,
                strict=True,
            )
        )
    ]
    store.apply(pd.DataFrame(rows))
    compact = {b"listpack", b"ziplist"}  # Redis 7 / Redis 6
    assert redis_client.object("encoding", keys.user_state("ann")) in compact
    assert redis_client.object("encoding", keys.user_recent("ann")) in compact
    seen = stored_seen(redis_client)
    assert len(read_seen(seen)) == len(rows)
    # 4 bytes of base, then one byte of delta (37 s) and the digest per event.
    assert len(seen) == 4 + len(rows) * (1 + keys.EVENT_DIGEST_BYTES)


def test_a_heavy_shoppers_hash_stays_compact_on_a_server_set_as_documented(
    redis_client: redis.Redis,
) -> None:
    # The embedded server starts set so; a throwaway server from SHOPMODE_TEST_REDIS_URL is
    # set here the way docs/redis-keys.md tells an operator to (and put back afterwards).
    before = redis_client.config_get("hash-max-ziplist-entries")["hash-max-ziplist-entries"]
    redis_client.config_set("hash-max-ziplist-entries", max(int(before), 512))
    try:
        _apply_a_heavy_shopper(redis_client)
    finally:
        redis_client.config_set("hash-max-ziplist-entries", before)


def _apply_a_heavy_shopper(redis_client: redis.Redis) -> None:
    store = OnlineFeatureStore(redis_client, CATALOG)
    rows: list[dict[str, object]] = []
    for i in range(100):  # each: a followed/liked field and an affinity field
        rows.append({**_event(2 * i, BASE_TS + i, "follow_brand", "p1"), "brand": f"brand {i}"})
        rows.append(
            {**_event(2 * i + 1, BASE_TS + i, "like_category", "p1"), "category": f"category {i}"}
        )
    store.apply(pd.DataFrame(rows))
    assert redis_client.hlen(keys.user_state("ann")) > 400  # past Redis's default of 128
    assert redis_client.object("encoding", keys.user_state("ann")) in {b"listpack", b"ziplist"}
