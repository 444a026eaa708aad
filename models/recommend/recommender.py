"""What the service calls: a shopper's state in, ranked products with reasons out.

The service fetches the user state (one Redis round trip) and the co-occurrence
neighbours of the shopper's recent products (``recent_products``, one pipelined round
trip); everything shop-wide (catalog, product snapshot, text index, model) is in process.
Filters are hard constraints (``models.intent.ProductFilter``): no item outside them is
ever returned. Without a model the
ranking is a labelled heuristic (``ranking == "heuristic"``: the service reports
``degraded``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.state import ProductFeatures, UserState
from features.store.neighbours import LearnedInputs, NeighbourMap
from models.intent import ProductFilter
from models.ranking.features import RankingFeatures
from models.ranking.registry import LoadedModel
from models.recommend import reasons as why
from models.recommend.arrangement import DIVERSITY_POOL, arrange
from models.recommend.cold_start import (
    ColdStartPlan,
    cold_picks,
    cold_start_plan,
    declared_matches,
    has_declared_interests,
)
from models.recommend.fitted import FittedSources
from models.recommend.learned_lists import LearnedLists
from models.recommend.owned import OwnedIndex, excluded_ids, owned_mask
from models.recommend.reasoning import Reasoner
from models.recommend.request import (
    MAX_K,
    Recommendations,
    RecommendContext,
    RecommendedItem,
)
from models.recommend.scoring import Scorer
from models.retrieval.candidates import CandidateSet, RetrievalSnapshot, candidates_for
from models.retrieval.cooccurrence import neighbours_from_map
from models.retrieval.signals import signals_from_state, snapshot_from_products
from models.retrieval.source_picks import cooc_scores
from models.retrieval.text_match import QueryIndex
from models.retrieval.time_scales import TimeScales
from shopmode.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
NeighbourIndex = dict[int, tuple[npt.NDArray[np.int64], FloatArray]]
SNAPSHOT_REFRESH_SECONDS = 600.0


class Recommender:
    """Ranks one shopper's candidates; build once per (catalog, model) and reuse."""

    def __init__(self, catalog: Catalog, model: LoadedModel | None = None) -> None:
        self.catalog = catalog
        self.model = model
        self.query_index = QueryIndex(catalog)
        self.features = RankingFeatures(catalog)
        self.owned = OwnedIndex(catalog)
        self._snapshot: tuple[int, float, RetrievalSnapshot] | None = None
        self.score = Scorer(model)
        self.fitted = FittedSources.for_model(catalog, model)
        self.reasoner = Reasoner(catalog, model) if model is not None else None
        # What this recommender has read of its model's fitted lists (see the module).
        self.lists = LearnedLists(catalog)
        # The model's request-time scales: the ones its training replay used.
        self.scales = model.scales if model is not None else TimeScales()

    def recent_products(self, state: UserState) -> list[str]:
        """Product ids whose co-occurrence neighbours this shopper's request needs."""
        recent = signals_from_state(state, self.catalog).recent
        return [str(self.catalog.product_ids[i]) for i in recent]

    def snapshot(self, products: ProductFeatures) -> RetrievalSnapshot:
        cached = self._snapshot
        if (
            cached is not None
            and cached[0] == id(products.log_sums)
            and abs(products.at - cached[1]) < SNAPSHOT_REFRESH_SECONDS
        ):
            return cached[2]
        built = snapshot_from_products(products, self.catalog, self.scales)
        self._snapshot = (id(products.log_sums), products.at, built)
        return built

    def allowed(self, state: UserState, context: RecommendContext) -> npt.NDArray[np.bool_]:
        """The context's hard filters over the catalog (``InvalidInput`` naming the field
        of an unknown category or brand), less what the shopper has (bought, or also
        seen) when asked to."""
        which = {"purchased": context.exclude_purchased, "seen": context.exclude_seen}
        product_filter = ProductFilter(
            category=context.category,
            brand=context.brand,
            min_price=context.min_price,
            max_price=context.max_price,
            excluded=excluded_ids(state, **which),
        )
        mask = product_filter.check(self.catalog).mask(self.catalog)
        return mask & ~owned_mask(self.owned, context.owned, **which)

    def recommend(
        self,
        state: UserState,
        products: ProductFeatures,
        neighbours: NeighbourMap,
        context: RecommendContext,
        allowed: npt.NDArray[np.bool_] | None = None,
        learned: LearnedInputs | None = None,
    ) -> Recommendations:
        """Top ``context.k`` products for the shopper as of ``state.at``.

        ``allowed`` (a mask over catalog positions) adds the caller's own hard filters to
        the context's; nothing outside either is returned. ``learned`` is what the store
        holds of the training-fitted sources (item-kNN, window popularity) for them.
        """
        if not 1 <= context.k <= MAX_K:
            raise InvalidInput(f"must be between 1 and {MAX_K}", field="k")
        at = state.at
        signals = self.fitted.signals(
            signals_from_state(state, self.catalog, self.scales), state, learned, self.lists
        )
        query_scores = self.query_index.scores(context.query) if context.query else None
        neighbour_index = neighbours_from_map(self.catalog, neighbours, self.lists.decoder("cooc"))
        mask = self.allowed(state, context)
        if allowed is not None:
            mask &= allowed
        asked = bool(context.query or context.category or context.brand)
        plan = cold_start_plan(
            state,
            asked=asked,
            region=context.region,
            region_has_trending=bool(context.region_trending),
        )
        if plan.is_cold:
            return self._cold(plan, state, products, context, mask)
        found = candidates_for(
            signals,
            self.snapshot(products),
            neighbour_index,
            query_scores,
            allowed=mask,
        )
        if len(found) == 0:
            ranking: Literal["model", "heuristic"] = "model" if self.model else "heuristic"
            return Recommendations([], ranking, self._version(), 0)
        rows = self.features.rows(state, found, products, at)
        scores = self.score(rows)
        # A newcomer's declared interests take every other place (they have nothing else).
        promoted = (
            declared_matches(self.catalog, state, found.products)
            if plan.kind == "declared" and has_declared_interests(state)
            else None
        )
        top, explored = self._arrange(state, found.products, scores, products, context, promoted)
        reasons = (
            self.reasoner.reasons(
                state,
                found.products[top],
                rows[top],
                scores[top],
                context.query,
                neighbour_index,
                recent=signals.recent,
            )
            if self.reasoner is not None
            else [[] for _ in top]
        )
        if promoted is not None:
            reasons = [
                why.with_declared(r, why.declared(self.catalog, state, int(found.products[i])))
                if promoted[i]
                else r
                for r, i in zip(reasons, top, strict=True)
            ]
        items = [
            RecommendedItem(
                product_id=str(self.catalog.product_ids[found.products[i]]),
                rank=rank + 1,
                score=float(scores[i]),
                sources=tuple(found.sources_of(int(i))),
                reasons=tuple(reasons[rank]),
            )
            if int(i) not in explored
            else self._explored(int(found.products[i]), rank, float(scores[i]), state.at)
            for rank, i in enumerate(top)
        ]
        ranking = "model" if self.model is not None else "heuristic"
        return Recommendations(items, ranking, self._version(), len(found))

    def _explored(self, position: int, rank: int, score: float, at: float) -> RecommendedItem:
        return RecommendedItem(
            product_id=str(self.catalog.product_ids[position]),
            rank=rank + 1,
            score=score,
            sources=("new",),
            reasons=(why.new_arrival(self.catalog, position, at),),
        )

    def _arrange(
        self,
        state: UserState,
        positions: npt.NDArray[np.int64],
        scores: FloatArray,
        products: ProductFeatures,
        context: RecommendContext,
        promoted: npt.NDArray[np.bool_] | None = None,
    ) -> tuple[npt.NDArray[np.int64], frozenset[int]]:
        return arrange(
            self.catalog,
            positions,
            scores,
            context.k,
            diversity=context.diversity,
            # A search in words wants what it asked for: no exploration slots there.
            exploration=None if context.query else context.exploration,
            signals=products.popularity(self.scales.popularity_half_life, positions),
            promoted=promoted,
            user_id=state.user_id,
            at=state.at,
        )

    def _cold(
        self,
        plan: ColdStartPlan,
        state: UserState,
        products: ProductFeatures,
        context: RecommendContext,
        mask: npt.NDArray[np.bool_],
    ) -> Recommendations:
        """Nothing known of the shopper: what is trending in their region, else in the shop."""
        snapshot = self.snapshot(products)
        picks = cold_picks(
            plan,
            self.catalog,
            mask & snapshot.available(),
            context.region_trending,
            snapshot.by_trending,
            snapshot.by_popularity,
            max(DIVERSITY_POOL, context.k),
        )
        positions = np.asarray([p.position for p in picks], dtype=np.int64)
        scores = np.asarray([p.score for p in picks], dtype=np.float64)
        top, explored = self._arrange(state, positions, scores, products, context)
        items = [
            RecommendedItem(
                product_id=str(self.catalog.product_ids[picks[i].position]),
                rank=rank + 1,
                score=picks[i].score,
                sources=(picks[i].source,),
                reasons=(picks[i].reason,),
            )
            if int(i) not in explored
            else self._explored(picks[i].position, rank, picks[i].score, state.at)
            for rank, i in enumerate(top.tolist())
        ]
        ranking: Literal["model", "heuristic"] = "model" if self.model else "heuristic"
        return Recommendations(items, ranking, self._version(), len(picks))

    def score_products(
        self,
        state: UserState,
        products: ProductFeatures,
        neighbours: NeighbourMap,
        positions: npt.NDArray[np.int64],
        query: str | None = None,
    ) -> FloatArray:
        """Scores of given catalog positions for the shopper, with the source flags
        retrieval would have given them (none when retrieval would not propose them)."""
        signals = signals_from_state(state, self.catalog, self.scales)
        query_scores = self.query_index.scores(query) if query else None
        index = neighbours_from_map(self.catalog, neighbours)
        found = candidates_for(signals, self.snapshot(products), index, query_scores)
        row = {int(p): i for i, p in enumerate(found.products)}
        flags = np.zeros((len(positions), found.sources.shape[1]), dtype=bool)
        for j, p in enumerate(positions.tolist()):
            if p in row:
                flags[j] = found.sources[row[p]]
        cooc = cooc_scores(signals, index, len(self.catalog))
        chosen = CandidateSet(
            products=np.asarray(positions, dtype=np.int64),
            sources=flags,
            cooc_score=cooc[positions],
            query_score=(
                query_scores[positions] if query_scores is not None else np.zeros(len(positions))
            ),
        )
        rows = self.features.rows(state, chosen, products, state.at)
        return self.score(rows)

    def _version(self) -> str | None:
        return self.model.version if self.model is not None else None
