"""What the online store says to Redis, without saying it: the sync and async stores drive
these flows (generators that yield batches of calls and receive their replies), so both
share every key, script argument and decoding step. Writes are ``features.store.apply``;
this module holds the call type and the reads.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from features.catalog import Catalog
from features.state import N_SLOTS, STATS_FORMAT, ProductFeatures, decode_user_state
from features.store import keys


@dataclass(frozen=True)
class Call:
    """One command in a pipeline: a script by name, or a plain command."""

    command: str
    args: tuple[Any, ...]
    script: str | None = None


Flow = Generator[list[Call], list[Any], Any]


def user_state_flow(user_id: str, at: float) -> Flow:
    replies = yield [
        Call("HGETALL", (keys.user_state(user_id),)),
        Call("ZRANGE", (keys.user_recent(user_id), 0, -1, "WITHSCORES")),
    ]
    return decode_user_state(user_id, *decode_user_replies(replies), at)


def decode_user_replies(replies: Sequence[Any]) -> tuple[dict[str, str], list[tuple[str, float]]]:
    raw_fields, raw_recent = replies
    fields = {_text(k): _text(v) for k, v in dict(raw_fields).items()}
    if raw_recent and not isinstance(raw_recent[0], list | tuple):  # flat [m, s, m, s]
        raw_recent = list(zip(raw_recent[::2], raw_recent[1::2], strict=True))
    recent = [(_text(member), float(score)) for member, score in raw_recent]
    return fields, recent


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def product_features_flow(
    catalog: Catalog, positions: np.ndarray, at: float, *, cluster: bool
) -> Flow:
    """One MGET (standalone) or one pipelined GET per product (cluster: one slot each)."""
    product_keys = [keys.product_stats(str(p)) for p in catalog.product_ids[positions]]
    if cluster:
        blobs = yield [Call("GET", (key,)) for key in product_keys]
    elif product_keys:
        (blobs,) = yield [Call("MGET", tuple(product_keys))]
    else:
        blobs = []
    return ProductFeatures(at=at, positions=np.asarray(positions), log_sums=unpack_stats(blobs))


def request_flow(
    user_id: str, catalog: Catalog, positions: np.ndarray, at: float, *, cluster: bool
) -> Flow:
    """The user's state and the candidates' vectors, in one pipelined round trip."""
    user_calls = [
        Call("HGETALL", (keys.user_state(user_id),)),
        Call("ZRANGE", (keys.user_recent(user_id), 0, -1, "WITHSCORES")),
    ]
    product_keys = [keys.product_stats(str(p)) for p in catalog.product_ids[positions]]
    if cluster:
        product_calls = [Call("GET", (key,)) for key in product_keys]
    else:
        product_calls = [Call("MGET", tuple(product_keys))] if product_keys else []
    replies = yield user_calls + product_calls
    state = decode_user_state(user_id, *decode_user_replies(replies[:2]), at)
    blobs = replies[2:] if cluster else (replies[2] if product_keys else [])
    features = ProductFeatures(at=at, positions=np.asarray(positions), log_sums=unpack_stats(blobs))
    return state, features


def unpack_stats(blobs: Sequence[bytes | None]) -> np.ndarray:
    empty = struct.pack(STATS_FORMAT, *([-math.inf] * N_SLOTS))
    joined = b"".join(blob if blob is not None else empty for blob in blobs)
    return np.frombuffer(joined, dtype="<f8").reshape(len(blobs), N_SLOTS).copy()


def popular_flow(category: str | None, limit: int) -> Flow:
    key = keys.all_popular() if category is None else keys.category_popular(category)
    (members,) = yield [Call("ZREVRANGE", (key, 0, limit - 1))]
    return [_text(member) for member in members]


def user_expiry_flow(user_id: str) -> Flow:
    replies = yield [Call("TTL", (key,)) for key in keys.user_keys(user_id)]
    return [int(ttl) for ttl in replies]
