"""Reasons for the items a recommender chose: the model's score drop per feature group,
turned into facts from the shopper's own signals (``models.ranking.reasons``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.state import UserState
from models.evidence import Reason
from models.ranking.features import group_columns
from models.ranking.reasons import MAX_REASONS, ReasonFacts, matched_terms, score_drops, top_reasons
from models.ranking.registry import LoadedModel
from models.retrieval.signals import signals_from_state

FloatArray = npt.NDArray[np.float64]
NeighbourIndex = dict[int, tuple[npt.NDArray[np.int64], FloatArray]]


class Reasoner:
    """Explains one model's scores; built with the recommender, once per (catalog, model)."""

    def __init__(self, catalog: Catalog, model: LoadedModel) -> None:
        self.catalog = catalog
        self.model = model
        self.facts = ReasonFacts(catalog)
        self._groups = group_columns(model.metadata.feature_names, model.metadata.feature_groups)
        self._baseline = np.asarray(model.metadata.baseline, dtype=np.float64)

    def reasons(
        self,
        state: UserState,
        products: npt.NDArray[np.int64],
        rows: npt.NDArray[np.float32],
        scores: FloatArray,
        query: str | None,
        neighbours: NeighbourIndex,
    ) -> list[list[Reason]]:
        drops = score_drops(self.model.estimator, rows, scores, self._groups, self._baseline)
        neighbour_titles = self._cooc_titles(state, products, neighbours)
        out: list[list[Reason]] = []
        for i, product in enumerate(products.tolist()):
            total = sum(d.drop for d in drops[i]) or 1.0
            title = str(self.facts.titles[product])
            terms = matched_terms(query, title)
            found: list[Reason | None] = []
            for d in drops[i]:  # strongest first; stop once enough distinct reasons
                share = d.drop / total
                found.append(
                    self.facts.reason(
                        d,
                        state,
                        product,
                        query,
                        terms,
                        neighbour_titles.get(product),
                        share,
                    )
                )
                if len(top_reasons(found)) == MAX_REASONS:
                    break
            out.append(top_reasons(found))
        return out

    def _cooc_titles(
        self, state: UserState, products: npt.NDArray[np.int64], neighbours: NeighbourIndex
    ) -> dict[int, str]:
        """For co-occurrence reasons: the shopper's recent product each item was seen with."""
        recent = signals_from_state(state, self.catalog).recent
        wanted = set(products.tolist())
        out: dict[int, str] = {}
        for item in recent.tolist():  # most recent first: the freshest link wins
            linked, _ = neighbours.get(item, (np.zeros(0, dtype=np.int64), np.zeros(0)))
            for neighbour in linked.tolist():
                if neighbour in wanted and neighbour not in out:
                    out[neighbour] = str(self.facts.titles[item])
        return out
