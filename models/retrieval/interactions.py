"""A log as a shopper × product matrix, and picking the best unseen products from scores.

Shared by the collaborative and content sources (``models.retrieval.collaborative``,
``models.retrieval.content``). Pure: no Redis, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from features.catalog import Catalog
from features.events.rules import EventType

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

INTERACTION_WEIGHTS: Mapping[str, float] = {
    EventType.VIEW: 1.0,
    EventType.CLICK: 1.0,
    EventType.ADD_TO_CART: 2.0,
    EventType.PURCHASE: 3.0,
}


@dataclass(frozen=True)
class InteractionMatrix:
    """Shoppers × products (catalog positions), summed interaction weights, float32 CSR."""

    matrix: sp.csr_matrix
    user_row: dict[str, int]

    @classmethod
    def from_events(
        cls,
        events: pd.DataFrame,
        catalog: Catalog,
        before: float = np.inf,
        weights: Mapping[str, float] = INTERACTION_WEIGHTS,
    ) -> InteractionMatrix:
        kept = events[(events["ts"] < before) & events["type"].isin(list(weights))]
        product = catalog.index_of(kept["product_id"].astype(str))
        known = product >= 0
        kept = kept[known]
        codes, users = pd.factorize(kept["user_id"].astype(str), sort=True)
        value = kept["type"].map(dict(weights)).to_numpy(np.float32)
        matrix = sp.csr_matrix(
            (value, (codes, product[known])),
            shape=(len(users), len(catalog)),
            dtype=np.float32,
        )
        matrix.sum_duplicates()
        return cls(matrix=matrix, user_row={str(u): i for i, u in enumerate(users)})


def histories_at(
    events: pd.DataFrame,
    catalog: Catalog,
    user_ids: npt.NDArray[np.object_],
    at: npt.NDArray[np.float64],
    weights: Mapping[str, float] = INTERACTION_WEIGHTS,
) -> sp.csr_matrix:
    """One row per (shopper, time): their weighted interactions strictly before that time."""
    kept = events[events["type"].isin(list(weights))]
    product = catalog.index_of(kept["product_id"].astype(str))
    kept = kept.assign(product=product)[product >= 0]
    kept = kept.sort_values(["user_id", "ts"], kind="stable")
    users = kept["user_id"].astype(str).to_numpy()
    starts = {u: i for i, u in reversed(list(enumerate(users)))}
    ends = {u: i + 1 for i, u in enumerate(users)}
    ts = kept["ts"].to_numpy(np.float64)
    prod = kept["product"].to_numpy(np.int64)
    value = kept["type"].map(dict(weights)).to_numpy(np.float32)
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[FloatArray] = []
    for row, (user, when) in enumerate(zip(user_ids.astype(str), at, strict=True)):
        lo, hi = starts.get(user, 0), ends.get(user, 0)
        stop = lo + int(np.searchsorted(ts[lo:hi], when, side="left"))
        rows.append(np.full(stop - lo, row, dtype=np.int64))
        cols.append(prod[lo:stop])
        vals.append(value[lo:stop])
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(user_ids), len(catalog)),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    return matrix


def top_rows(matrix: sp.csr_matrix | FloatArray, width: int) -> tuple[IntArray, FloatArray]:
    """Top ``width`` columns (positive scores, diagonal excluded) per row, -1 padded."""
    n = matrix.shape[0]
    index = np.full((n, width), -1, dtype=np.int64)
    score = np.zeros((n, width), dtype=np.float32)
    if sp.issparse(matrix):
        csr = sp.csr_matrix(matrix)
        for i in range(n):
            lo, hi = csr.indptr[i], csr.indptr[i + 1]
            cols, vals = csr.indices[lo:hi], csr.data[lo:hi]
            keep = (cols != i) & (vals > 0)
            cols, vals = cols[keep], vals[keep]
            top = np.argsort(-vals, kind="stable")[:width]
            index[i, : len(top)] = cols[top]
            score[i, : len(top)] = vals[top]
        return index, score
    dense = np.array(matrix, dtype=np.float32, copy=True)
    np.fill_diagonal(dense, -np.inf)
    k = min(width, n - 1)
    top = np.argpartition(-dense, k - 1, axis=1)[:, :k]
    best = np.take_along_axis(dense, top, axis=1)
    order = np.argsort(-best, axis=1, kind="stable")
    top, best = np.take_along_axis(top, order, axis=1), np.take_along_axis(best, order, axis=1)
    positive = best > 0
    index[:, :k] = np.where(positive, top, -1)
    score[:, :k] = np.where(positive, best, 0.0)
    return index, score


def top_unseen(
    scores: FloatArray,
    seen: sp.csr_matrix,
    k: int,
    eligible: npt.NDArray[np.bool_] | None = None,
    positive_only: bool = False,
) -> IntArray:
    """Per row, the ``k`` best-scored products not in that row's history (-1 padded).

    ``positive_only`` leaves out products a neighbour model gave no score (kNN, EASE):
    they would otherwise fill the list in arbitrary order.
    """
    masked = np.array(scores, dtype=np.float32, copy=True)
    if positive_only:
        masked[masked <= 0] = -np.inf
    rows, cols = seen.nonzero()
    masked[rows, cols] = -np.inf
    if eligible is not None:
        masked[:, ~eligible] = -np.inf
    k = min(k, masked.shape[1])
    top = np.argpartition(-masked, k - 1, axis=1)[:, :k]
    best = np.take_along_axis(masked, top, axis=1)
    order = np.argsort(-best, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    best = np.take_along_axis(best, order, axis=1)
    return np.where(np.isfinite(best), top, -1).astype(np.int64)


@dataclass(frozen=True)
class InteractionLog:
    """The weighted interactions of a log as time-sorted arrays, read once: interaction
    matrices and windowed counts for any time are slices of it (a learned source fitted
    at several times must not re-read a million-row frame per fit)."""

    ts: npt.NDArray[np.float64]
    user: IntArray  # codes in sorted user-id order
    product: IntArray
    weight: FloatArray
    n_products: int
    users: npt.NDArray[np.object_] = field(default_factory=lambda: np.empty(0, dtype=object))

    @classmethod
    def from_events(
        cls,
        events: pd.DataFrame,
        catalog: Catalog,
        weights: Mapping[str, float] = INTERACTION_WEIGHTS,
    ) -> InteractionLog:
        kept = events[events["type"].isin(list(weights))]
        product = catalog.index_of(kept["product_id"].astype(str))
        kept, product = kept[product >= 0], product[product >= 0]
        codes, users = pd.factorize(kept["user_id"].astype(str), sort=True)
        ts = kept["ts"].to_numpy(np.float64)
        order = np.argsort(ts, kind="stable")
        return cls(
            ts=ts[order],
            user=codes.astype(np.int64)[order],
            product=product.astype(np.int64)[order],
            weight=kept["type"].map(dict(weights)).to_numpy(np.float32)[order],
            n_products=len(catalog),
            users=np.asarray(users, dtype=object),
        )

    def products_before(self, user_id: str, at: float) -> IntArray:
        """The distinct products ``user_id`` interacted with strictly before ``at``."""
        code = int(np.searchsorted(self.users, user_id))
        if code >= len(self.users) or self.users[code] != user_id:
            return np.zeros(0, dtype=np.int64)
        end = int(np.searchsorted(self.ts, at, side="left"))
        return np.unique(self.product[:end][self.user[:end] == code])

    def last_ts(self) -> float:
        return float(self.ts[-1]) if len(self.ts) else 0.0

    def matrix_before(self, at: float) -> sp.csr_matrix:
        """What ``InteractionMatrix.from_events(events, catalog, before=at).matrix`` is:
        one row per shopper with an interaction before ``at``, in user-id order."""
        end = int(np.searchsorted(self.ts, at, side="left"))
        _, rows = np.unique(self.user[:end], return_inverse=True)
        n_rows = int(rows.max()) + 1 if end else 0
        matrix = sp.csr_matrix(
            (self.weight[:end], (rows.ravel(), self.product[:end])),
            shape=(n_rows, self.n_products),
            dtype=np.float32,
        )
        matrix.sum_duplicates()
        return matrix

    def counts_between(self, start: float, end: float) -> npt.NDArray[np.float64]:
        """Weighted interactions per product with ``start <= ts < end``."""
        lo = int(np.searchsorted(self.ts, start, side="left"))
        hi = int(np.searchsorted(self.ts, end, side="left"))
        return np.bincount(
            self.product[lo:hi],
            weights=self.weight[lo:hi].astype(np.float64),
            minlength=self.n_products,
        ).astype(np.float64)
