"""The training-fitted sources for one request: item-kNN neighbours and the fitted-window
popularity as the store holds them (``features.store.neighbours.learned_inputs``), and
content similarity from this catalog's TF-IDF vectors, scored from the shopper's history
with the same functions replay uses (``models.retrieval.learned``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import cached_property
from typing import Any

from features.catalog import Catalog
from features.state import UserState
from features.store.neighbours import LearnedInputs
from models.retrieval.candidates import ShopperSignals
from models.retrieval.content import ContentIndex
from models.retrieval.learned import (
    ShopperHistory,
    index_from_map,
    learned_scores,
    popular_from_list,
)
from models.retrieval.quota import CandidateQuota


class FittedSources:
    """Scores the learned sources for a shopper; one per catalog."""

    def __init__(self, catalog: Catalog, quota: CandidateQuota | None = None) -> None:
        self.catalog = catalog
        self.quota = quota

    @classmethod
    def for_model(cls, catalog: Catalog, params: Mapping[str, Any]) -> FittedSources:
        """With the quotas the model was trained with (``params["candidate_quota"]``)."""
        tuned = params.get("candidate_quota")
        return cls(catalog, CandidateQuota(**tuned) if isinstance(tuned, dict) else None)

    @cached_property
    def content(self) -> ContentIndex:
        """TF-IDF vectors of this catalog (built on first use; the catalog is fixed)."""
        return ContentIndex().fit(self.catalog)

    def history_products(self, state: UserState) -> list[str]:
        """Product ids whose item-kNN neighbours this shopper's request needs."""
        return ShopperHistory.of(state, self.catalog).product_ids(self.catalog)

    def signals(
        self, signals: ShopperSignals, state: UserState, learned: LearnedInputs | None
    ) -> ShopperSignals:
        """``signals`` with the learned sources scored (unchanged without ``learned``)."""
        if learned is None:
            return signals
        scores = learned_scores(
            ShopperHistory.of(state, self.catalog),
            index_from_map(self.catalog, learned.knn),
            popular_from_list(self.catalog, learned.popular_window),
            self.content,
            self.quota,
        )
        return replace(signals, learned=scores)
