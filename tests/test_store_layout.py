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
from features.store.owned import owned_flow, product_code
from features.store.runner import SyncRunner
from features.store.state_fields import (
    CHUNK_BYTES,
    HISTORY_FIELDS,
    SEEN_CHUNKS,
    SEEN_FIELDS,
    chunked,
    packed_slot,
    raw_fields,
)

CATALOG = small_catalog()


def _event(i: int, ts: float, kind: str = "view", product: str = "p1") -> dict[str, object]:
    return {"event_id": f"e{i}", "user_id": "ann", "type": kind, "product_id": product, "ts": ts}


def stored_seen(client: redis.Redis, user: str = "ann") -> bytes:
    """The dedup log: inline chunks of the state hash, or (only past them) its own key."""
    inline = chunked(client.hgetall(keys.user_state(user)), SEEN_FIELDS)
    spilled = client.get(keys.user_seen(user))
    assert not (inline and spilled)  # never both
    return inline or spilled or b""


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
    # One key: recent items, dedup log and history live in the state hash.
    assert redis_client.keys("*{u:ann}*") == [keys.user_state("ann").encode()]
    stored = redis_client.hgetall(keys.user_state("ann"))
    assert {name for name in stored if name.startswith(b"r:")} == {
        b"r:p1",
        b"r:p:2",
        b"r:p*4",
    }
    assert all(len(value) <= CHUNK_BYTES for value in stored.values())
    seen = stored_seen(redis_client)
    assert len(read_seen(seen)) == len(rows)
    # 4 bytes of base, then one byte of delta (37 s) and the digest per event.
    assert len(seen) == 4 + len(rows) * (1 + keys.EVENT_DIGEST_BYTES)
    assert len(chunked(stored, HISTORY_FIELDS)) == 4 * 3  # p1, p:2 seen; p*4 bought


def test_a_long_dedup_log_moves_to_its_own_key_and_back_inline(
    redis_client: redis.Redis,
) -> None:
    store = OnlineFeatureStore(redis_client, CATALOG, StoreConfig(dedup_horizon_seconds=DAY))
    inline_events = SEEN_CHUNKS * CHUNK_BYTES // (1 + keys.EVENT_DIGEST_BYTES)
    many = [_event(i, BASE_TS + i, "impression") for i in range(inline_events + 10)]
    store.apply(pd.DataFrame(many))
    assert not chunked(redis_client.hgetall(keys.user_state("ann")), SEEN_FIELDS)
    assert 0 < redis_client.ttl(keys.user_seen("ann")) <= 90 * 86_400
    assert len(read_seen(stored_seen(redis_client))) == len(many)
    assert store.apply(pd.DataFrame(many[:50])).duplicate == 50
    # Two days later the horizon drops them all: the log is inline again, the key gone.
    store.apply(pd.DataFrame([_event(10**6, BASE_TS + 2 * DAY)]))
    assert not redis_client.exists(keys.user_seen("ann"))
    assert len(read_seen(stored_seen(redis_client))) == 1
    assert store.apply(pd.DataFrame([_event(10**6, BASE_TS + 2 * DAY)])).duplicate == 1


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


def test_a_long_history_moves_to_its_own_set_and_reads_back_whole(
    redis_client: redis.Redis,
) -> None:
    store = OnlineFeatureStore(redis_client, CATALOG)
    runner = SyncRunner(redis_client)
    inline = len(HISTORY_FIELDS) * CHUNK_BYTES // 4
    viewed = [_event(i, BASE_TS + i, "view", f"v{i}") for i in range(inline - 1)]
    store.apply(pd.DataFrame(viewed))
    store.apply(pd.DataFrame([_event(inline, BASE_TS + inline, "purchase", "b0")]))
    stored = redis_client.hgetall(keys.user_state("ann"))
    assert len(chunked(stored, HISTORY_FIELDS)) == 4 * inline  # full, still inline
    assert not redis_client.exists(keys.user_history("ann"))
    owned = runner.run(owned_flow("ann"))
    assert owned.engaged == {product_code(f"v{i}") for i in range(inline - 1)}
    assert owned.purchased == {product_code("b0")}
    # One more product: the whole history moves to the set, the chunks go.
    store.apply(pd.DataFrame([_event(inline + 1, BASE_TS + inline + 1, "purchase", "b1")]))
    assert not chunked(redis_client.hgetall(keys.user_state("ann")), HISTORY_FIELDS)
    assert redis_client.object("encoding", keys.user_history("ann")) == b"intset"
    assert redis_client.scard(keys.user_history("ann")) == inline + 1
    assert 0 < redis_client.ttl(keys.user_history("ann")) <= 90 * 86_400
    again = runner.run(owned_flow("ann"))
    assert again.engaged == owned.engaged
    assert again.purchased == {product_code("b0"), product_code("b1")}
