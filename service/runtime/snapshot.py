"""The in-process catalog and popularity snapshot.

Taken at start-up and refreshed in the background, it is what the service still knows
when Redis is down: degraded answers rank the products inside the shopper's filters by
this popularity (a query, when given, lifts products whose words it mentions).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.state import ProductFeatures
from features.store.catalog import load_catalog
from features.store.flows import popularity_flow
from features.store.runner import AsyncRunner
from models.intent import ProductFilter

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold()))


@dataclass(frozen=True, eq=False)
class CatalogSnapshot:
    catalog: Catalog
    popularity: FloatArray
    taken_at: float
    # Every product's decayed signals as of ``taken_at`` (None until the store answered).
    products: ProductFeatures | None = None

    def popular_within(
        self, product_filter: ProductFilter, k: int, query: str | None = None
    ) -> IntArray:
        """Positions of the ``k`` most popular products inside the filter."""
        allowed = np.flatnonzero(product_filter.mask(self.catalog))
        score = self.popularity[allowed].copy()
        if query:
            wanted = words(query)
            if wanted:
                titles = self.catalog.frame["title"].to_numpy(dtype=object)
                hits = np.fromiter(
                    (len(wanted & words(str(titles[i]))) for i in allowed),
                    dtype=np.float64,
                    count=len(allowed),
                )
                # Matching words dominate; popularity breaks ties among equal matches.
                score = score + hits * (float(np.abs(score).max(initial=0.0)) + 1.0)
        order = np.lexsort((allowed, -score))
        return allowed[order[:k]].astype(np.int64)


async def take_snapshot(store: AsyncRunner) -> CatalogSnapshot:
    """Catalog plus overall popularity from Redis (NotFound when no catalog is stored)."""
    # Parsing and validating every product takes a while on a big catalog: off the loop.
    catalog = await store.run(load_catalog(), offload=True)
    popularity = np.zeros(len(catalog), dtype=np.float64)
    ranked = await store.run(popularity_flow())
    if ranked:
        positions = catalog.index_of([member for member, _ in ranked])
        scores = np.asarray([score for _, score in ranked], dtype=np.float64)
        known = positions >= 0
        popularity[positions[known]] = scores[known]
    return CatalogSnapshot(catalog=catalog, popularity=popularity, taken_at=time.time())
