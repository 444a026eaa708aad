"""Replaying the log to every decision point: what the service would have known then.

For each decision (shopper, time, request text) it yields the shopper's state strictly
before that time, the product signals of the last hourly snapshot before it (the
service refreshes its product snapshot in the background, so it never has fresher
ones), and the co-occurrence neighbours known at the start of that day. Nothing
from the decision's own session or later can reach its features.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.catalog import Catalog
from features.offline import OfflineFeatureEngine
from features.state import ProductFeatures, UserState
from models.ranking.decisions import DecisionPoints
from models.retrieval.candidates import RetrievalSnapshot, ShopperSignals
from models.retrieval.cooccurrence import CooccurrenceLog, Neighbours
from models.retrieval.learned_timeline import LearnedTimeline
from models.retrieval.signals import signals_from_state, snapshot_from_products
from models.retrieval.text_match import QueryIndex

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PRODUCT_SNAPSHOT_SECONDS = 3600.0
COOC_REBUILD_SECONDS = 86_400.0


@dataclass(frozen=True)
class DecisionInputs:
    """Everything known at decision ``row`` of a ``DecisionPoints``."""

    row: int
    at: float
    state: UserState
    signals: ShopperSignals
    products: ProductFeatures
    snapshot: RetrievalSnapshot
    neighbours: Neighbours
    query: str | None
    query_scores: FloatArray | None

    def neighbour_map(self) -> dict[int, tuple[IntArray, FloatArray]]:
        return {int(p): self.neighbours.of(int(p)) for p in self.signals.recent}


class Replay:
    """Point-in-time inputs for many decision points from one pass over the log."""

    def __init__(
        self,
        engine: OfflineFeatureEngine,
        catalog: Catalog,
        cooccurrence: CooccurrenceLog,
        query_index: QueryIndex,
        learned: LearnedTimeline | None = None,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.cooccurrence = cooccurrence
        self.query_index = query_index
        self.learned = learned

    def signals(self, state: UserState) -> ShopperSignals:
        signals = signals_from_state(state, self.catalog)
        if self.learned is None:
            return signals
        return self.learned.signals(signals, state, self.catalog)

    def states(self, points: DecisionPoints) -> list[UserState]:
        frame = pd.DataFrame({"user_id": points.user_id.astype(str), "ts": points.ts})
        out: list[UserState | None] = [None] * len(points)
        for row, state in self.engine.user_states_at(frame, strictly_before=True):
            out[row] = state
        return [s for s in out if s is not None]

    def __call__(self, points: DecisionPoints) -> Iterator[DecisionInputs]:
        """Inputs for every decision, in time order (``points`` is sorted by time)."""
        states = self.states(points)
        hours = np.floor(points.ts / PRODUCT_SNAPSHOT_SECONDS) * PRODUCT_SNAPSHOT_SECONDS
        snapshot_times = np.unique(hours)
        # Product events at exactly the hour mark belong to the next snapshot.
        snapshots = self.engine.product_features_at(np.nextafter(snapshot_times, -np.inf))
        current_hour = -np.inf
        current_day = -np.inf
        products: ProductFeatures | None = None
        retrieval: RetrievalSnapshot | None = None
        neighbours = Neighbours.empty(len(self.catalog))
        cached_query: tuple[str | None, FloatArray | None] = (None, None)
        for row in range(len(points)):
            at = float(points.ts[row])
            if hours[row] != current_hour:
                current_hour = float(hours[row])
                products = next(snapshots)
                retrieval = snapshot_from_products(products, self.catalog)
            day = np.floor(at / COOC_REBUILD_SECONDS) * COOC_REBUILD_SECONDS
            if day != current_day:
                current_day = float(day)
                neighbours = self.cooccurrence.as_of(current_day)
            assert products is not None
            assert retrieval is not None
            query = points.query[row]
            if query != cached_query[0]:
                cached_query = (query, self.query_index.scores(query) if query else None)
            yield DecisionInputs(
                row=row,
                at=at,
                state=states[row],
                signals=self.signals(states[row]),
                products=ProductFeatures(
                    at=at, positions=products.positions, log_sums=products.log_sums
                ),
                snapshot=retrieval,
                neighbours=neighbours,
                query=query,
                query_scores=cached_query[1],
            )
