"""One recommendation request and its answer, as the recommender sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from features.catalog import Catalog
from features.store.owned import OwnedProducts
from models.evidence import Evidence, Reason
from models.recommend.exploration import ExplorationPolicy

MAX_K = 100


@dataclass(frozen=True)
class RecommendContext:
    """The request: optional text and hard filters."""

    query: str | None = None
    category: str | None = None
    brand: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    exclude_purchased: bool = True
    exclude_seen: bool = False  # also what the shopper viewed, clicked or carted
    # What the shopper has over their whole history (``features.store.owned``).
    owned: OwnedProducts = field(default_factory=OwnedProducts)
    k: int = 10
    # Shopping mode (models.recommend: diversity, exploration, cold_start):
    diversity: float = 0.0
    exploration: ExplorationPolicy | None = None
    region: str | None = None
    region_trending: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class RecommendedItem:
    product_id: str
    rank: int
    score: float
    sources: tuple[str, ...]
    reasons: tuple[Reason, ...]

    def evidence(self, catalog: Catalog, query: str | None = None) -> Evidence:
        """The evidence pack an explanation of this item may rest on."""
        i = catalog.position(self.product_id)
        return Evidence(
            product_id=self.product_id,
            title=str(catalog.cells("title")[i]),
            brand=catalog.brand_of(self.product_id) or "",
            category=catalog.category_of(self.product_id) or "",
            price=float(catalog.price[i]),
            discount=float(catalog.discount[i]),
            reasons=list(self.reasons),
            query=query,
        )


@dataclass(frozen=True)
class Recommendations:
    items: list[RecommendedItem]
    ranking: Literal["model", "heuristic"]
    model_version: str | None
    candidates: int
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def degraded(self) -> bool:
        return self.ranking == "heuristic"
