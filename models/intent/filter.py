"""``Intent``: what a shopper asked for, as the catalog's own names, and the filter it makes.

Prices, categories (or departments), brands and attribute values are hard filters, checked
one product at a time (``allows``) or over the whole catalog at once (``mask``). Recipient
and occasion only colour the explanation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from features.catalog import Catalog
from models.intent.columns import catalog_columns
from models.intent.gift import whom
from models.intent.text import normalise, split_words


class Intent(BaseModel):
    """What a shopper asked for, as the catalog's own names."""

    model_config = ConfigDict(extra="forbid")

    min_price: float | None = Field(default=None, description="Lowest price wanted (dollars).")
    max_price: float | None = Field(default=None, description="Highest price wanted (dollars).")
    price_tier: Literal["budget", "premium"] | None = Field(
        default=None, description="'cheap'/'budget' or 'premium'/'luxury' without a number."
    )
    categories: list[str] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, description="Wanted attribute values, e.g. {'colour': ['Navy']}."
    )
    recipient: str | None = Field(default=None, description="Who a gift is for.")
    occasion: str | None = Field(default=None, description="What a gift is for.")
    gift: bool = False
    terms: list[str] = Field(default_factory=list, description="Words not understood as filters.")
    understood: list[str] = Field(
        default_factory=list, description="What was understood, in words a shopper can read."
    )
    relevance_text: str = Field(
        default="", description="Free text for query-similarity ranking (leftover and kind words)."
    )

    @property
    def has_filters(self) -> bool:
        return bool(
            self.min_price is not None
            or self.max_price is not None
            or self.categories
            or self.departments
            or self.brands
            or self.attributes
        )

    @property
    def is_empty(self) -> bool:
        return not (self.has_filters or self.relevance_text or self.gift or self.recipient)

    def summary(self) -> str:
        """The request as understood, e.g. "Sneakers, Navy, under $80"; safe to show an LLM."""
        return ", ".join(self.understood)

    def filter_summary(self) -> str:
        """Only the parts that filter (no recipient or occasion), for "only 3 match ..."."""
        gift_words = {f"a gift for {whom(self.recipient)}" if self.recipient else "a gift"}
        if self.occasion:
            gift_words.add(self.occasion)
        return ", ".join(u for u in self.understood if u not in gift_words)

    def evidence_query(self, product_text: str) -> str | None:
        """What an explanation may repeat of the request for one product.

        The leftover words that the product's own text contains, then the understood
        summary: never the raw message, so nothing typed can steer the explanation.
        """
        own = set(split_words(normalise(product_text).replace("-", " ")))
        matched = " ".join(term for term in self.terms if term in own)
        parts = ([matched] if matched else []) + self.understood
        return ", ".join(parts) or None

    def allows(
        self,
        *,
        category: str,
        department: str,
        brand: str,
        price: float,
        attributes: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether a product passes every hard filter (a named category beats a department)."""
        if self.min_price is not None and price < self.min_price:
            return False
        if self.max_price is not None and price > self.max_price:
            return False
        if self.categories:
            if category not in self.categories:
                return False
        elif self.departments and department not in self.departments:
            return False
        if self.brands and brand not in self.brands:
            return False
        have = attributes or {}
        return all(
            str(have.get(name, "")).casefold() in {w.casefold() for w in wanted}
            for name, wanted in self.attributes.items()
        )

    def mask(self, catalog: Catalog) -> npt.NDArray[np.bool_]:
        """``allows`` over the whole catalog at once (list prices, as the answer shows)."""
        keep = np.ones(len(catalog), dtype=np.bool_)
        if self.min_price is not None:
            keep &= catalog.price >= self.min_price
        if self.max_price is not None:
            keep &= catalog.price <= self.max_price
        if self.categories:
            keep &= _named(catalog.categories, catalog.category_code, self.categories)
        elif self.departments:
            departments = catalog_columns(catalog).department
            keep &= np.isin(departments, [d.casefold() for d in self.departments])
        if self.brands:
            keep &= _named(catalog.brands, catalog.brand_code, self.brands)
        for name, wanted in self.attributes.items():
            values = catalog_columns(catalog).attributes.get(name)
            if values is None:
                return np.zeros(len(catalog), dtype=np.bool_)
            keep &= np.isin(values, [w.casefold() for w in wanted])
        return keep

    def allows_position(self, catalog: Catalog, position: int) -> bool:
        """``allows`` for the product at a catalog position."""
        if not self.has_filters:
            return True
        columns = catalog_columns(catalog)
        brand_code = int(catalog.brand_code[position])
        return self.allows(
            category=catalog.categories[int(catalog.category_code[position])],
            department=str(catalog.frame["department"].iat[position] or ""),
            brand=catalog.brands[brand_code] if brand_code >= 0 else "",
            price=float(catalog.price[position]),
            attributes={name: str(v[position]) for name, v in columns.attributes.items()},
        )


def _named(
    vocabulary: tuple[str, ...], codes: npt.NDArray[np.integer], names: list[str]
) -> npt.NDArray[np.bool_]:
    wanted = {n.casefold() for n in names}
    hits = [i for i, name in enumerate(vocabulary) if name.casefold() in wanted]
    return np.isin(codes, np.asarray(hits, dtype=np.int64))
