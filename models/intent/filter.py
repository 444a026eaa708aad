"""``Intent``: what a shopper asked for, as the catalog's own names, and the filter it makes.

Prices, categories (or departments), brands and attribute values are hard filters, applied
by ``ProductFilter`` (the one implementation of filters). Recipient and occasion only
colour the explanation.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from features.catalog import Catalog
from models.intent.gift import whom
from models.intent.product_filter import ProductFilter
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

    def product_filter(self) -> ProductFilter:
        """The hard filter this request makes (``models.intent.product_filter``)."""
        return ProductFilter(intent=self)

    def mask(self, catalog: Catalog) -> npt.NDArray[np.bool_]:
        """Which products pass every hard filter, over the whole catalog."""
        return self.product_filter().mask(catalog)

    def allows_position(self, catalog: Catalog, position: int) -> bool:
        """Whether the product at a catalog position passes every hard filter."""
        return self.product_filter().allows_position(catalog, position)
