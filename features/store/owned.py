"""What a shopper already has: the whole history of the products they bought, and of
those they viewed, clicked or carted, kept in their state hash as packed chunks
(``state_fields.HISTORY_FIELDS``) or, past those, in a set of its own
(``keys.user_history``).

``lua/user_apply.lua`` adds to it in the same atomic call that folds a shopper's events in
(so the ingest and ``POST /v1/events`` paths keep it alike); the recommender reads it to
leave out what a shopper bought (``exclude_purchased``) or has seen (``exclude_seen``).
A member is ``2 · product_code + 1`` for a purchase and ``2 · product_code`` for a view,
click or add-to-cart: non-negative integers below 2^31, packed as little-endian uint32s
inline (4 bytes a member) and kept as an intset in the set (4 bytes a member, up to 512).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.events.rules import EventType
from features.store import keys
from features.store.calls import Flow, command
from features.store.state_fields import HISTORY_FIELDS, chunked

PURCHASE = EventType.PURCHASE.value
ENGAGED_NOT_BOUGHT = frozenset(
    {EventType.VIEW.value, EventType.CLICK.value, EventType.ADD_TO_CART.value}
)
CODE_MASK = (1 << 30) - 1


def product_code(product_id: str) -> int:
    """A product id as a 30-bit integer (BLAKE2b). Two ids share a code with probability
    2^-30: a shopper with 1,000 purchases has one chance in a million to see one other
    product excluded."""
    digest = hashlib.blake2b(product_id.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") & CODE_MASK


@dataclass(frozen=True)
class OwnedProducts:
    """Product codes (``product_code``) a shopper bought, and engaged with otherwise."""

    purchased: frozenset[int] = frozenset()
    engaged: frozenset[int] = frozenset()


def history_members(batch: pd.DataFrame, rows: npt.NDArray[np.int64]) -> dict[str, list[int]]:
    """Per shopper, the members ``rows`` of a batch of validated events add to their
    history set (what ``user_apply`` receives)."""
    types = batch["type"].to_numpy(dtype=object)[rows]
    products = batch["product_id"].to_numpy(dtype=object)[rows]
    users = batch["user_id"].to_numpy(dtype=object)[rows]
    members: dict[str, set[int]] = {}
    for user, kind, product in zip(users.tolist(), types.tolist(), products.tolist(), strict=True):
        if kind == PURCHASE:
            members.setdefault(user, set()).add(2 * product_code(str(product)) + 1)
        elif kind in ENGAGED_NOT_BOUGHT:
            members.setdefault(user, set()).add(2 * product_code(str(product)))
    return {user: sorted(found) for user, found in members.items()}


def owned_flow(user_id: str) -> Flow[OwnedProducts]:
    """What the shopper bought and otherwise engaged with, over their whole history."""
    inline, spilled = yield [
        command("HMGET", keys.user_state(user_id), *HISTORY_FIELDS),
        command("SMEMBERS", keys.user_history(user_id)),
    ]
    packed = chunked(dict(zip(HISTORY_FIELDS, inline, strict=True)), HISTORY_FIELDS)
    members = [*struct.unpack(f"<{len(packed) // 4}I", packed), *(int(m) for m in spilled)]
    return OwnedProducts(
        purchased=frozenset(m >> 1 for m in members if m & 1),
        engaged=frozenset(m >> 1 for m in members if not m & 1),
    )
