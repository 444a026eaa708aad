"""What a shopper already has: the whole-history sets of products bought, and of products
viewed, clicked or carted (``keys.user_purchased``, ``keys.user_engaged``).

``lua/user_apply.lua`` adds to them in the same atomic call that folds a shopper's events
in (so the ingest and ``POST /v1/events`` paths keep them alike); the recommender reads
them to leave out what a shopper owns (``exclude_purchased``) or has seen
(``exclude_seen``). Members are ``product_code`` integers: Redis keeps a set of small
integers as an intset, 4 bytes a product.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.events.rules import EventType
from features.store import keys
from features.store.calls import Flow, command

PURCHASE = EventType.PURCHASE.value
ENGAGED_NOT_BOUGHT = frozenset(
    {EventType.VIEW.value, EventType.CLICK.value, EventType.ADD_TO_CART.value}
)


def product_code(product_id: str) -> int:
    """A product id as a signed 32-bit integer (BLAKE2b): what a shopper's ``purchased`` and
    ``engaged`` sets hold, so Redis keeps them as intsets (4 bytes a member). Two ids share
    a code with probability 2^-32: a shopper with 1,000 purchases has one chance in four
    million to see one other product excluded."""
    digest = hashlib.blake2b(product_id.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little", signed=True)


@dataclass(frozen=True)
class OwnedProducts:
    """Product codes (``product_code``) a shopper bought, and engaged with otherwise."""

    purchased: frozenset[int] = frozenset()
    engaged: frozenset[int] = frozenset()


def owned_codes(
    batch: pd.DataFrame, rows: npt.NDArray[np.int64]
) -> dict[str, tuple[list[int], list[int]]]:
    """Per shopper, the product codes bought and those viewed, clicked or carted among
    ``rows`` of a batch of validated events (what ``user_apply`` adds to the two sets)."""
    types = batch["type"].to_numpy(dtype=object)[rows]
    products = batch["product_id"].to_numpy(dtype=object)[rows]
    users = batch["user_id"].to_numpy(dtype=object)[rows]
    owned: dict[str, tuple[set[int], set[int]]] = {}
    for user, kind, product in zip(users.tolist(), types.tolist(), products.tolist(), strict=True):
        if kind == PURCHASE:
            owned.setdefault(user, (set(), set()))[0].add(product_code(str(product)))
        elif kind in ENGAGED_NOT_BOUGHT:
            owned.setdefault(user, (set(), set()))[1].add(product_code(str(product)))
    return {user: (sorted(bought), sorted(seen)) for user, (bought, seen) in owned.items()}


def owned_flow(user_id: str, *, engaged: bool) -> Flow[OwnedProducts]:
    """The shopper's purchased set, and with ``engaged`` their engaged set too."""
    calls = [command("SMEMBERS", keys.user_purchased(user_id))]
    if engaged:
        calls.append(command("SMEMBERS", keys.user_engaged(user_id)))
    replies = yield calls
    purchased = frozenset(int(code) for code in replies[0])
    seen = frozenset(int(code) for code in replies[1]) if engaged else frozenset()
    return OwnedProducts(purchased=purchased, engaged=seen)
