"""Co-occurrence neighbours over time at a cost linear in the log.

Rebuilding every product's neighbours from all pairs known before each decision day
(``CooccurrenceLog.as_of(day)`` per day, what replay did before) costs days × (pairs +
products): minutes over a log spanning years.

``NeighbourTimeline`` gives the same point-in-time guarantee (a decision sees only pairs
known before its checkpoint, and its checkpoint is not after the decision) with:

- checkpoints at day boundaries, at most ``max_checkpoints`` of them (every day when
  the span allows, else every ``ceil(span / max_checkpoints)`` days): the neighbours a
  decision sees are at most that old, as in serving, where neighbours are those of the
  last ``shopmode train``;
- a running count matrix, each checkpoint adding only the pairs that became known since
  the previous one;
- neighbours computed only for the products asked about (``NeighbourRows.of``: replay
  asks for the recent items of the decisions in that interval, a few hundred of
  thousands), each equal to ``neighbours_from_counts`` (same scores, same tie order).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from models.retrieval.cooccurrence import (
    NEIGHBOURS,
    CooccurrenceLog,
    Neighbours,
    neighbours_from_counts,
)

DAY = 86_400.0
MAX_CHECKPOINTS = 128

FloatArray = npt.NDArray[np.float64]


def checkpoint_days(first_ts: float, last_ts: float, max_checkpoints: int) -> FloatArray:
    """Day boundaries from the one before ``first_ts`` to the one after ``last_ts``."""
    start = math.floor(first_ts / DAY) * DAY
    stop = math.ceil(last_ts / DAY) * DAY
    days = max(1, round((stop - start) / DAY))
    step = max(1, math.ceil(days / max_checkpoints))
    return start + DAY * np.arange(0, days + step, step, dtype=np.float64)


class NeighbourRows:
    """Neighbours of any product on demand from one count matrix (cached per product)."""

    def __init__(self, counts: sp.csr_matrix, width: int = NEIGHBOURS) -> None:
        counts = sp.csr_matrix(counts, dtype=np.float64)
        counts.sum_duplicates()
        self.counts = counts
        self.width = width
        self.mass = np.asarray(counts.sum(axis=1)).ravel()
        self._rows: dict[int, tuple[npt.NDArray[np.int64], FloatArray]] = {}

    @classmethod
    def empty(cls, n_products: int, width: int = NEIGHBOURS) -> NeighbourRows:
        return cls(sp.csr_matrix((n_products, n_products), dtype=np.float64), width)

    def of(self, product: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
        found = self._rows.get(product)
        if found is None:
            lo, hi = self.counts.indptr[product], self.counts.indptr[product + 1]
            cols = self.counts.indices[lo:hi].astype(np.int64)
            score = self.counts.data[lo:hi] / np.sqrt(self.mass[product] * self.mass[cols])
            top = np.argsort(-score, kind="stable")[: self.width]
            found = (cols[top], score[top])
            self._rows[product] = found
        return found

    def table(self) -> Neighbours:
        """Every product's neighbours (``neighbours_from_counts`` of the same counts)."""
        return neighbours_from_counts(self.counts, self.width)


class NeighbourTimeline:
    """``as_of(ts)``: the neighbours at the last checkpoint at or before ``ts``."""

    def __init__(
        self,
        log: CooccurrenceLog,
        first_ts: float,
        last_ts: float,
        max_checkpoints: int = MAX_CHECKPOINTS,
        width: int = NEIGHBOURS,
    ) -> None:
        self.log = log
        self.width = width
        self.checkpoints = checkpoint_days(first_ts, last_ts, max_checkpoints)
        self._counts = sp.csr_matrix((log.n_products, log.n_products), dtype=np.float64)
        self._added = 0  # pairs of the log already in _counts
        self._at = -np.inf
        self._current = NeighbourRows.empty(log.n_products, width)
        self.rebuilds = 0

    def checkpoint_of(self, ts: float) -> float:
        i = int(np.searchsorted(self.checkpoints, ts, side="right")) - 1
        return float(self.checkpoints[i]) if i >= 0 else -np.inf

    def as_of(self, ts: float) -> NeighbourRows:
        """Neighbours from pairs known before the checkpoint of ``ts`` (times ascending)."""
        at = self.checkpoint_of(ts)
        if at == self._at:
            return self._current
        if at < self._at:
            raise ValueError("NeighbourTimeline.as_of: times must not go backwards")
        end = int(np.searchsorted(self.log.known_ts, at, side="left"))
        if end > self._added:
            new = slice(self._added, end)
            shape = (self.log.n_products, self.log.n_products)
            self._counts = self._counts + sp.csr_matrix(
                (self.log.weight[new], (self.log.a[new], self.log.b[new])), shape=shape
            )
            self._added = end
            self._current = NeighbourRows(self._counts, self.width)
            self._counts = self._current.counts  # canonical: the next sum stays cheap
            self.rebuilds += 1
        self._at = at
        return self._current
