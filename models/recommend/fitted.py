"""The training-fitted sources for one request: item-kNN neighbours and the fitted-window
popularity as the store holds them (``features.store.neighbours.learned_inputs``), and
content similarity from this catalog's TF-IDF vectors, scored from the shopper's history
with the same functions replay uses (``models.retrieval.learned``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property

from features.catalog import Catalog
from features.state import UserState
from features.store.neighbours import LearnedInputs
from models.ranking.registry import LoadedModel
from models.recommend.learned_lists import LearnedLists
from models.retrieval.candidates import ShopperSignals
from models.retrieval.content import ContentIndex
from models.retrieval.cooccurrence import neighbours_from_map
from models.retrieval.learned import (
    HISTORY_HALF_LIFE,
    ShopperHistory,
    learned_scores,
    popular_from_list,
)
from models.retrieval.quota import CandidateQuota


class FittedSources:
    """Scores the learned sources for a shopper; one per catalog."""

    def __init__(
        self,
        catalog: Catalog,
        quota: CandidateQuota | None = None,
        half_life: float = HISTORY_HALF_LIFE,
    ) -> None:
        self.catalog = catalog
        self.quota = quota
        self.half_life = half_life

    @classmethod
    def for_model(cls, catalog: Catalog, model: LoadedModel | None) -> FittedSources:
        """With the quotas (``params["candidate_quota"]``) and the history half-life (the
        recent one of its time scales) the model was trained with."""
        if model is None:
            return cls(catalog)
        tuned = model.metadata.params.get("candidate_quota")
        quota = CandidateQuota(**tuned) if isinstance(tuned, dict) else None
        return cls(catalog, quota, model.scales.recent_half_life)

    @cached_property
    def content(self) -> ContentIndex:
        """TF-IDF vectors of this catalog (built on first use; the catalog is fixed)."""
        return ContentIndex().fit(self.catalog)

    def history_products(self, state: UserState) -> list[str]:
        """Product ids whose item-kNN neighbours this shopper's request needs."""
        return ShopperHistory.of(state, self.catalog, self.half_life).product_ids(self.catalog)

    def signals(
        self,
        signals: ShopperSignals,
        state: UserState,
        learned: LearnedInputs | None,
        lists: LearnedLists | None = None,
    ) -> ShopperSignals:
        """``signals`` with the learned sources scored (unchanged without ``learned``);
        ``lists`` decodes the lists it handed out from memory."""
        if learned is None:
            return signals
        history = ShopperHistory.of(state, self.catalog, self.half_life)
        if lists is None:
            knn = neighbours_from_map(self.catalog, learned.knn)
            popular = popular_from_list(self.catalog, learned.popular_window)
        else:
            knn = neighbours_from_map(self.catalog, learned.knn, lists.decoder("knn"))
            popular = lists.popular(learned.popular_window)
        scores = learned_scores(history, knn, popular, self.content, self.quota)
        return replace(signals, learned=scores)
