"""Leaving out what a shopper already has: bought (``exclude_purchased``, on by default)
or also viewed, clicked or carted (``exclude_seen``, off by default).

The whole history comes from the store's per-shopper history set of product codes
(``features.store.owned``); the user state's own purchases and recent items are left out
too, so a shopper whose events predate that set is still covered as before.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.state import UserState
from features.store.owned import OwnedProducts, product_code

BoolArray = npt.NDArray[np.bool_]


class OwnedIndex:
    """The catalog's product codes, to turn a shopper's sets into a mask in one pass."""

    def __init__(self, catalog: Catalog) -> None:
        self.codes = np.fromiter(
            (product_code(str(p)) for p in catalog.product_ids),
            dtype=np.int64,
            count=len(catalog),
        )

    def mask(self, codes: frozenset[int]) -> BoolArray:
        if not codes:
            return np.zeros(len(self.codes), dtype=bool)
        return np.isin(self.codes, np.fromiter(codes, dtype=np.int64, count=len(codes)))


def excluded_ids(state: UserState, *, purchased: bool, seen: bool) -> frozenset[str]:
    """Products the user state itself knows the shopper has (its last purchases, recent
    items): the exclusion that needs no store."""
    out: set[str] = set(state.purchased) if purchased or seen else set()
    if seen:
        out.update(item.product_id for item in state.recent)
    return frozenset(out)


def owned_mask(
    index: OwnedIndex, owned: OwnedProducts, *, purchased: bool, seen: bool
) -> BoolArray:
    """Catalog positions to leave out for this request."""
    codes = owned.purchased if purchased or seen else frozenset()
    if seen:
        codes = codes | owned.engaged
    return index.mask(codes)
