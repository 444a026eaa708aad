"""A shopper's hard constraints (category, brand, price range, already bought).

Filters are constraints, not hints: whatever ranks the products, nothing outside them is
ever returned. ``mask`` evaluates them over the whole catalog at once; ``allows`` checks
one product (the final guard on every answer). Prices compare with the list ``price``
shown in the answer, so what a shopper sees is what they filtered on.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from models.intent import Intent

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ProductFilter:
    category: str | None = None
    brand: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    excluded: frozenset[str] = frozenset()
    # What a request in words asked for (models.intent): more categories, brands, colours...
    intent: Intent | None = None

    def mask(self, catalog: Catalog) -> BoolArray:
        keep = np.ones(len(catalog), dtype=np.bool_)
        if self.category is not None:
            keep &= _code_mask(catalog.categories, catalog.category_code, self.category)
        if self.brand is not None:
            keep &= _code_mask(catalog.brands, catalog.brand_code, self.brand)
        if self.min_price is not None:
            keep &= catalog.price >= self.min_price
        if self.max_price is not None:
            keep &= catalog.price <= self.max_price
        if self.excluded:
            positions = catalog.index_of(self.excluded)
            keep[positions[positions >= 0]] = False
        if self.intent is not None and self.intent.has_filters:
            keep &= self.intent.mask(catalog)
        return keep

    def allows(self, catalog: Catalog, product_id: str) -> bool:
        i = catalog.position(product_id)
        if i < 0 or product_id in self.excluded:
            return False
        if self.category is not None and not _same(catalog.category_of(product_id), self.category):
            return False
        if self.brand is not None and not _same(catalog.brand_of(product_id), self.brand):
            return False
        price = float(catalog.price[i])
        if self.min_price is not None and price < self.min_price:
            return False
        if self.max_price is not None and price > self.max_price:
            return False
        return self.intent is None or self.intent.allows_position(catalog, i)

    def with_excluded(self, product_ids: Collection[str]) -> ProductFilter:
        return ProductFilter(
            self.category,
            self.brand,
            self.min_price,
            self.max_price,
            self.excluded | frozenset(product_ids),
            self.intent,
        )

    def describe(self) -> str:
        parts = []
        if self.category is not None:
            parts.append(f"category {self.category!r}")
        if self.brand is not None:
            parts.append(f"brand {self.brand!r}")
        if self.min_price is not None:
            parts.append(f"price ≥ {self.min_price:g}")
        if self.max_price is not None:
            parts.append(f"price ≤ {self.max_price:g}")
        if self.intent is not None and self.intent.has_filters:
            parts.append(f"your request ({self.intent.filter_summary()})")
        if self.excluded:
            parts.append("not already purchased")
        return ", ".join(parts) or "no filters"


def _code_mask(vocabulary: tuple[str, ...], codes: npt.NDArray[np.int32], value: str) -> BoolArray:
    # Case-insensitive: shoppers type "trail running" for "Trail Running".
    wanted = value.casefold()
    hits = [i for i, name in enumerate(vocabulary) if name.casefold() == wanted]
    if not hits:
        return np.zeros(len(codes), dtype=np.bool_)
    return np.isin(codes, np.asarray(hits, dtype=np.int32))


def _same(actual: str | None, wanted: str) -> bool:
    return actual is not None and actual.casefold() == wanted.casefold()
