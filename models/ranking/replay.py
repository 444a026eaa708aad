"""Replaying the log to every decision point: what the service would have known then.

For each decision (shopper, time, request text) it yields the shopper's state strictly
before that time, the product signals of the last product snapshot before it (the
service refreshes its product snapshot in the background, so it never has fresher
ones), and the co-occurrence neighbours known at the last checkpoint before it. Nothing
from the decision's own session or later can reach its features.

Cadences follow the span of the log's product events, so a replay costs time linear in
the log whatever it spans: product snapshots at most every ``max(1 h, span / 1000)``
(hourly on a 28-day log), neighbour checkpoints at day boundaries, at most
``MAX_CHECKPOINTS`` of them (every day on a log of up to 128 days; see
``NeighbourTimeline``).
"""

from __future__ import annotations

import math
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
from models.retrieval.cooccurrence import CooccurrenceLog, NeighbourLookup
from models.retrieval.learned_timeline import LearnedTimeline
from models.retrieval.neighbour_timeline import MAX_CHECKPOINTS, NeighbourTimeline
from models.retrieval.signals import signals_from_state, snapshot_from_products
from models.retrieval.text_match import QueryIndex
from models.retrieval.time_scales import TimeScales

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

HOUR = 3600.0
MAX_PRODUCT_SNAPSHOTS = 1000


def snapshot_seconds(
    first_ts: float, last_ts: float, max_snapshots: int = MAX_PRODUCT_SNAPSHOTS
) -> float:
    """Product snapshot cadence: whole hours, at least one, about ``max_snapshots`` at most
    over the span."""
    span = max(last_ts - first_ts, 0.0)
    return HOUR * max(1, math.ceil(span / max_snapshots / HOUR))


@dataclass(frozen=True)
class Checkpoint:
    """What is refitted from the log at each checkpoint: known strictly before ``at``.

    Sources fitted on the history (co-occurrence today) live here, so every decision
    between two checkpoints sees the same fit, never one that knows its future.
    """

    at: float
    neighbours: NeighbourLookup


class CheckpointedSources:
    """``as_of(ts)``: the ``Checkpoint`` of the last checkpoint at or before ``ts``.

    Times must not go backwards (each checkpoint only adds what became known since the
    previous one).
    """

    def __init__(
        self,
        cooccurrence: CooccurrenceLog,
        first_ts: float,
        last_ts: float,
        max_checkpoints: int = MAX_CHECKPOINTS,
    ) -> None:
        self.neighbours = NeighbourTimeline(
            cooccurrence, first_ts, last_ts, max_checkpoints=max_checkpoints
        )
        self._current: Checkpoint | None = None

    def as_of(self, ts: float) -> Checkpoint:
        at = self.neighbours.checkpoint_of(ts)
        if self._current is None or self._current.at != at:
            self._current = Checkpoint(at=at, neighbours=self.neighbours.as_of(ts))
        return self._current


@dataclass(frozen=True)
class DecisionInputs:
    """Everything known at decision ``row`` of a ``DecisionPoints``."""

    row: int
    at: float
    state: UserState
    signals: ShopperSignals
    products: ProductFeatures
    snapshot: RetrievalSnapshot
    checkpoint: Checkpoint
    query: str | None
    query_scores: FloatArray | None

    def neighbour_map(self) -> dict[int, tuple[IntArray, FloatArray]]:
        neighbours = self.checkpoint.neighbours
        return {int(p): neighbours.of(int(p)) for p in self.signals.recent}


class Replay:
    """Point-in-time inputs for many decision points from one pass over the log."""

    def __init__(
        self,
        engine: OfflineFeatureEngine,
        catalog: Catalog,
        cooccurrence: CooccurrenceLog,
        query_index: QueryIndex,
        max_checkpoints: int = MAX_CHECKPOINTS,
        max_snapshots: int = MAX_PRODUCT_SNAPSHOTS,
        scales: TimeScales | None = None,
        learned: LearnedTimeline | None = None,
    ) -> None:
        self.engine = engine
        # The model's request-time scales (``prepare`` derives them; evaluation sets the
        # evaluated model's), the same ones the service reads from the model.
        self.scales = scales if scales is not None else TimeScales()
        self.catalog = catalog
        self.cooccurrence = cooccurrence
        self.query_index = query_index
        # The span of product activity: declared interests at sign-up (years back on a
        # shop's users file) neither move products nor make pairs.
        events = engine.events_
        ts = events.loc[events["product_id"].notna(), "ts"].to_numpy(dtype=np.float64)
        self.first_ts = float(ts.min()) if len(ts) else 0.0
        self.last_ts = float(ts.max()) if len(ts) else 0.0
        self.max_checkpoints = max_checkpoints
        self.snapshot_seconds = snapshot_seconds(self.first_ts, self.last_ts, max_snapshots)
        self.learned = learned

    def signals(self, state: UserState) -> ShopperSignals:
        """The shopper's retrieval signals, with the learned sources of the last fit at or
        before ``state.at`` when this replay has them (``LearnedTimeline``)."""
        signals = signals_from_state(state, self.catalog, self.scales)
        if self.learned is None:
            return signals
        return self.learned.signals(signals, state, self.catalog)

    def sources(self) -> CheckpointedSources:
        """A fresh walk through the checkpoints of this log (one per replay)."""
        return CheckpointedSources(
            self.cooccurrence, self.first_ts, self.last_ts, self.max_checkpoints
        )

    def states(self, points: DecisionPoints) -> list[UserState]:
        frame = pd.DataFrame({"user_id": points.user_id.astype(str), "ts": points.ts})
        out: list[UserState | None] = [None] * len(points)
        for row, state in self.engine.user_states_at(frame, strictly_before=True):
            out[row] = state
        return [s for s in out if s is not None]

    def __call__(self, points: DecisionPoints) -> Iterator[DecisionInputs]:
        """Inputs for every decision, in time order (``points`` is sorted by time)."""
        states = self.states(points)
        step = self.snapshot_seconds
        marks = np.floor(points.ts / step) * step
        # Product events at exactly the mark belong to the next snapshot.
        snapshots = self.engine.product_features_at(np.nextafter(np.unique(marks), -np.inf))
        sources = self.sources()
        current_mark = -np.inf
        products: ProductFeatures | None = None
        retrieval: RetrievalSnapshot | None = None
        cached_query: tuple[str | None, FloatArray | None] = (None, None)
        for row in range(len(points)):
            at = float(points.ts[row])
            if marks[row] != current_mark:
                current_mark = float(marks[row])
                products = next(snapshots)
                retrieval = snapshot_from_products(products, self.catalog, self.scales)
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
                checkpoint=sources.as_of(at),
                query=query,
                query_scores=cached_query[1],
            )
