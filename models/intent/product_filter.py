"""``ProductFilter``: a shopper's hard constraints, the one implementation of them.

Filters are constraints, not hints: whatever ranks the products, nothing outside them is
ever returned. The same rules serve the API's explicit filters, the recommender's context
and a request in words (``Intent``), over the whole catalog at once (``mask``) or for one
product (``allows``: the final guard on every answer), because both run the same code:

- names (category, brand, department, attribute values) compare case-insensitively,
  and an explicit category or brand the catalog does not have is an error naming the
  field (``check``), not an empty list;
- prices compare with the list ``price`` shown in the answer: what a shopper sees is
  what they filtered on;
- from words, a named category beats a department; every part that is given must hold;
- excluded products (say, already bought) never pass.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from models.intent.columns import catalog_columns
from shopmode.errors import InvalidInput

if TYPE_CHECKING:
    from models.intent.filter import Intent

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def _named(
    vocabulary: tuple[str, ...], codes: npt.NDArray[np.integer], names: Collection[str]
) -> BoolArray:
    wanted = {name.casefold() for name in names}
    hits = [i for i, name in enumerate(vocabulary) if name.casefold() in wanted]
    return np.isin(codes, np.asarray(hits, dtype=np.int64))


def _known(vocabulary: tuple[str, ...], name: str) -> bool:
    return any(known.casefold() == name.casefold() for known in vocabulary)


@dataclass(frozen=True)
class ProductFilter:
    category: str | None = None
    brand: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    excluded: frozenset[str] = frozenset()
    # What a request in words asked for: more categories, departments, brands, attributes.
    intent: Intent | None = None

    def check(self, catalog: Catalog, *, prefix: str = "") -> ProductFilter:
        """``self``, or ``InvalidInput`` naming the field (``prefix`` + name) of a category
        or brand the catalog does not have, or of a price range that holds nothing."""
        if self.category is not None and not _known(catalog.categories, self.category):
            raise InvalidInput(f"no category {self.category!r} in the catalog", prefix + "category")
        if self.brand is not None and not _known(catalog.brands, self.brand):
            raise InvalidInput(f"no brand {self.brand!r} in the catalog", prefix + "brand")
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise InvalidInput("must not be above max_price", prefix + "min_price")
        return self

    @property
    def asks_words(self) -> bool:
        return self.intent is not None and self.intent.has_filters

    def mask(self, catalog: Catalog, positions: IntArray | None = None) -> BoolArray:
        """Which products pass, over the catalog (or only the given positions)."""
        rows = np.arange(len(catalog)) if positions is None else np.asarray(positions)
        keep = np.ones(len(rows), dtype=np.bool_)
        price = catalog.price[rows]
        if self.category is not None:
            keep &= _named(catalog.categories, catalog.category_code[rows], [self.category])
        if self.brand is not None:
            keep &= _named(catalog.brands, catalog.brand_code[rows], [self.brand])
        if self.min_price is not None:
            keep &= price >= self.min_price
        if self.max_price is not None:
            keep &= price <= self.max_price
        if self.excluded:
            out = catalog.index_of(self.excluded)
            keep &= ~np.isin(rows, out[out >= 0])
        if self.asks_words:
            keep &= self._words_mask(catalog, rows, price)
        return keep

    def _words_mask(
        self, catalog: Catalog, rows: IntArray, price: npt.NDArray[np.float64]
    ) -> BoolArray:
        intent = self.intent
        assert intent is not None
        keep = np.ones(len(rows), dtype=np.bool_)
        if intent.min_price is not None:
            keep &= price >= intent.min_price
        if intent.max_price is not None:
            keep &= price <= intent.max_price
        if intent.categories:
            keep &= _named(catalog.categories, catalog.category_code[rows], intent.categories)
        elif intent.departments:
            departments = catalog_columns(catalog).department[rows]
            keep &= np.isin(departments, [d.casefold() for d in intent.departments])
        if intent.brands:
            keep &= _named(catalog.brands, catalog.brand_code[rows], intent.brands)
        for name, wanted in intent.attributes.items():
            values = catalog_columns(catalog).attributes.get(name)
            if values is None:
                return np.zeros(len(rows), dtype=np.bool_)
            keep &= np.isin(values[rows], [w.casefold() for w in wanted])
        return keep

    def allows(self, catalog: Catalog, product_id: str) -> bool:
        """Whether one product passes (unknown products never do)."""
        position = catalog.position(product_id)
        return position >= 0 and self.allows_position(catalog, position)

    def allows_each(self, catalog: Catalog, product_ids: Sequence[str]) -> list[bool]:
        """``allows`` for each product, in one mask (unknown products never pass)."""
        positions = catalog.index_of(list(product_ids))
        known = positions >= 0
        passes = np.zeros(len(positions), dtype=np.bool_)
        if known.any():
            passes[known] = self.mask(catalog, positions[known])
        return [bool(p) for p in passes]

    def allows_position(self, catalog: Catalog, position: int) -> bool:
        return bool(self.mask(catalog, np.asarray([position], dtype=np.int64))[0])

    def with_excluded(self, product_ids: Collection[str]) -> ProductFilter:
        return replace(self, excluded=self.excluded | frozenset(product_ids))

    def describe(self) -> str:
        """The filters in words, for "only 3 of 10 products match ..."."""
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
