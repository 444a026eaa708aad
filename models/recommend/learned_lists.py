"""The training-fitted lists a request needs, read from Redis and decoded once per model.

Co-occurrence and item-kNN neighbour lists and the fitted-window popularity are written
only by ``shopmode train``, before it makes its model current, and a ``Recommender`` is
built per (catalog, model). So what one recommender has read of those lists stays valid
for its life: the service asks the store only for the lists it does not hold (none, once
warm: the second round trip of a request is then not sent), and each list is turned into
catalog positions once, not on every request.

Bounded: at most ``capacity`` lists are kept, the least recently used go first; a list
older than ``max_age_seconds`` is read again (a key expired or rewritten out of band is
picked up within that time). Lists passed in by a caller are always used as given: a list
is only decoded from memory when it is the very object this cache handed out.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.store.neighbours import LearnedInputs

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Pairs = list[tuple[str, float]]
Decoded = tuple[IntArray, FloatArray]
Family = Literal["cooc", "knn", "popular"]
CAPACITY = 50_000
MAX_AGE_SECONDS = 300.0
_POPULAR = ""  # the one popularity list's key within its family


def decode_pairs(catalog: Catalog, pairs: Pairs) -> Decoded:
    """Catalog positions and scores of a list (products the catalog lacks dropped)."""
    index = catalog.index_of([p for p, _ in pairs])
    score = np.fromiter((s for _, s in pairs), dtype=np.float64, count=len(pairs))
    keep = index >= 0
    return index[keep], score[keep]


@dataclass
class _Entry:
    read_at: float
    pairs: Pairs
    decoded: Decoded | None = None


class LearnedLists:
    """What one recommender has read of the fitted lists, by family and product id."""

    def __init__(
        self,
        catalog: Catalog,
        capacity: int = CAPACITY,
        max_age_seconds: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalog = catalog
        self.capacity = capacity
        self.max_age_seconds = max_age_seconds
        self.clock = clock
        self._entries: OrderedDict[tuple[Family, str], _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _fresh(self, key: tuple[Family, str], now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now - entry.read_at > self.max_age_seconds:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def missing(self, family: Family, product_ids: Sequence[str]) -> list[str]:
        """Those of ``product_ids`` whose ``family`` list must be read from the store."""
        now = self.clock()
        return [p for p in product_ids if self._fresh((family, p), now) is None]

    def needs_popular(self) -> bool:
        return self._fresh(("popular", _POPULAR), self.clock()) is None

    def _put(self, family: Family, product_id: str, pairs: Pairs, now: float) -> Pairs:
        self._entries[(family, product_id)] = _Entry(now, pairs)
        self._entries.move_to_end((family, product_id))
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return pairs

    def complete(
        self,
        fetched: LearnedInputs,
        recent: Sequence[str],
        history: Sequence[str],
        popular_fetched: bool,
    ) -> LearnedInputs:
        """Everything the request needs: the lists just read (kept from now on) and, for
        the rest of ``recent`` / ``history`` and the popularity, the ones held."""
        now = self.clock()
        for family, lists in (("cooc", fetched.cooc), ("knn", fetched.knn)):
            for product_id, pairs in lists.items():
                self._put(family, product_id, pairs, now)  # type: ignore[arg-type]
        if popular_fetched:
            self._put("popular", _POPULAR, fetched.popular_window, now)

        def held(family: Family, product_ids: Sequence[str]) -> dict[str, Pairs]:
            out: dict[str, Pairs] = {}
            for p in product_ids:
                entry = self._entries.get((family, p))
                out[p] = entry.pairs if entry is not None else []
            return out

        popular = self._entries.get(("popular", _POPULAR))
        return LearnedInputs(
            cooc=held("cooc", recent),
            knn=held("knn", history),
            popular_window=popular.pairs if popular is not None else fetched.popular_window,
        )

    def decoder(self, family: Family) -> Callable[[str, Pairs], Decoded]:
        """Decodes ``(product_id, pairs)`` of ``family``: from memory when ``pairs`` is the
        list held for that product (decoded on first use), else afresh."""

        def decode(product_id: str, pairs: Pairs) -> Decoded:
            entry = self._entries.get((family, product_id))
            if entry is None or entry.pairs is not pairs:
                return decode_pairs(self.catalog, pairs)
            if entry.decoded is None:
                entry.decoded = decode_pairs(self.catalog, pairs)
            return entry.decoded

        return decode

    def popular(self, pairs: Pairs) -> Decoded:
        return self.decoder("popular")(_POPULAR, pairs)
