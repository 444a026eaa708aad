"""Reasons for the items a recommender chose: the model's score drop per feature group
(``models.ranking.reasons``), turned into facts from the shopper's own signals
(``models.recommend.reasons``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.state import UserState
from models.evidence import Reason
from models.ranking.features import group_columns
from models.ranking.reasons import ScoreDrops
from models.ranking.registry import LoadedModel
from models.recommend.reasons import MAX_REASONS, ReasonFacts, matched_terms
from models.retrieval.signals import signals_from_state

FloatArray = npt.NDArray[np.float64]
NeighbourIndex = dict[int, tuple[npt.NDArray[np.int64], FloatArray]]


class Reasoner:
    """Explains one model's scores; built with the recommender, once per (catalog, model)."""

    def __init__(self, catalog: Catalog, model: LoadedModel) -> None:
        self.catalog = catalog
        self.model = model
        self.facts = ReasonFacts(catalog)
        groups = group_columns(model.metadata.feature_names, model.metadata.feature_groups)
        baseline = np.asarray(model.metadata.baseline, dtype=np.float64)
        self.score_drops = ScoreDrops(model.estimator, groups, baseline)

    def reasons(
        self,
        state: UserState,
        products: npt.NDArray[np.int64],
        rows: npt.NDArray[np.float32],
        scores: FloatArray,
        query: str | None,
        neighbours: NeighbourIndex,
        recent: npt.NDArray[np.int64] | None = None,
    ) -> list[list[Reason]]:
        """Reasons for ``products`` (their ``rows`` and ``scores``); ``recent`` (the
        shopper's recent positions, most recent first) saves deriving them again."""
        ranked = self.score_drops.ranked(rows, scores)
        if neighbours and recent is None:
            recent = signals_from_state(state, self.catalog).recent
        neighbour_titles = (
            self._cooc_titles(recent, products, neighbours) if recent is not None else {}
        )
        names, reason = self.score_drops.names, self.facts.reason
        groups, drops, counts = ranked.group.tolist(), ranked.drop.tolist(), ranked.count.tolist()
        out: list[list[Reason]] = []
        for i, product in enumerate(products.tolist()):
            total = ranked.total[i] or 1.0
            terms = matched_terms(query, str(self.facts.titles[product])) if query else None
            cooc_title = neighbour_titles.get(product)
            found: list[Reason] = []
            codes: set[str] = set()
            # Strongest first; the first reason of each code counts; stop at MAX_REASONS.
            for g, drop in zip(groups[i][: counts[i]], drops[i], strict=False):
                why = reason(names[g], state, product, query, terms, cooc_title, drop / total)
                if why is not None and why.code not in codes:
                    codes.add(why.code)
                    found.append(why)
                    if len(found) == MAX_REASONS:
                        break
            out.append(found)
        return out

    def _cooc_titles(
        self,
        recent: npt.NDArray[np.int64],
        products: npt.NDArray[np.int64],
        neighbours: NeighbourIndex,
    ) -> dict[int, str]:
        """For co-occurrence reasons: the shopper's recent product each item was seen with."""
        if not neighbours:
            return {}
        wanted = set(products.tolist())
        out: dict[int, str] = {}
        for item in recent.tolist():  # most recent first: the freshest link wins
            linked, _ = neighbours.get(item, (np.zeros(0, dtype=np.int64), np.zeros(0)))
            for neighbour in linked.tolist():
                if neighbour in wanted and neighbour not in out:
                    out[neighbour] = str(self.facts.titles[item])
        return out
