"""The feature store's reads, as flows (``features.store.calls``): a shopper's state, the
packed product vectors, the popularity rankings and the shopper's key expiry. The writes
are ``features.store.apply``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from features.catalog import Catalog
from features.state import N_SLOTS, STATS_FORMAT, ProductFeatures, UserState, decode_user_state
from features.store import keys
from features.store.calls import Call, Flow, command, scored, text
from features.store.state_fields import raw_fields


def _user_calls(user_id: str) -> list[Call]:
    return [
        command("HGETALL", keys.user_state(user_id)),
        command("ZRANGE", keys.user_recent(user_id), 0, -1, "WITHSCORES"),
    ]


def user_state_flow(user_id: str, at: float) -> Flow[UserState]:
    replies = yield _user_calls(user_id)
    return decode_user_state(user_id, *decode_user_replies(replies), at)


def decode_user_replies(
    replies: Sequence[Any],
) -> tuple[dict[str, str | float], list[tuple[str, float]]]:
    stored, raw_recent = replies
    return raw_fields(dict(stored)), scored(raw_recent)


def _product_calls(catalog: Catalog, positions: np.ndarray, cluster: bool) -> list[Call]:
    """One MGET (standalone) or one GET per product (cluster: a slot each)."""
    product_keys = [keys.product_stats(str(p)) for p in catalog.product_ids[positions]]
    if cluster:
        return [command("GET", key) for key in product_keys]
    return [command("MGET", *product_keys)] if product_keys else []


def _blobs(replies: Sequence[Any], cluster: bool) -> list[bytes | None]:
    if cluster:
        return list(replies)
    return list(replies[0]) if replies else []


def product_features_flow(
    catalog: Catalog, positions: np.ndarray, at: float, *, cluster: bool
) -> Flow[ProductFeatures]:
    replies = yield _product_calls(catalog, positions, cluster)
    blobs = _blobs(replies, cluster)
    return ProductFeatures(at=at, positions=np.asarray(positions), log_sums=unpack_stats(blobs))


def request_flow(
    user_id: str, catalog: Catalog, positions: np.ndarray, at: float, *, cluster: bool
) -> Flow[tuple[UserState, ProductFeatures]]:
    """The user's state and the candidates' vectors, in one pipelined round trip."""
    replies = yield _user_calls(user_id) + _product_calls(catalog, positions, cluster)
    state = decode_user_state(user_id, *decode_user_replies(replies[:2]), at)
    blobs = _blobs(replies[2:], cluster)
    features = ProductFeatures(at=at, positions=np.asarray(positions), log_sums=unpack_stats(blobs))
    return state, features


def unpack_stats(blobs: Sequence[bytes | None]) -> np.ndarray:
    """Packed product vectors as rows; one written with fewer slots (an older layout)
    reads as empty in the slots it lacks."""
    empty = struct.pack(STATS_FORMAT, *([-math.inf] * N_SLOTS))
    size = len(empty)
    joined = b"".join(
        blob
        if blob is not None and len(blob) == size
        else empty
        if blob is None
        else blob[:size] + empty[len(blob) :]
        for blob in blobs
    )
    return np.frombuffer(joined, dtype="<f8").reshape(len(blobs), N_SLOTS).copy()


def popular_flow(category: str | None, limit: int) -> Flow[list[str]]:
    key = keys.all_popular() if category is None else keys.category_popular(category)
    (members,) = yield [command("ZREVRANGE", key, 0, limit - 1)]
    return [text(member) for member in members]


def popularity_flow() -> Flow[list[tuple[str, float]]]:
    """Every ranked product with its log2 decayed popularity (the shop-wide ranking)."""
    (ranked,) = yield [command("ZRANGE", keys.all_popular(), 0, -1, "WITHSCORES")]
    return scored(ranked)


def user_expiry_flow(user_id: str) -> Flow[list[int]]:
    replies = yield [command("TTL", key) for key in keys.user_keys(user_id)]
    return [int(ttl) for ttl in replies]
