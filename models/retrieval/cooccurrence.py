"""Item-to-item co-occurrence: products engaged with together, learned from the event log.

Two signals, both counted as (product, product, weight, time-it-became-known) pairs:

- co-view: two products viewed, clicked, carted or bought in the same session (weight 1);
- co-purchase: two products carted or bought by the same shopper within a week (weight 3).

A pair is known from the time of its later event, so ``CooccurrenceLog.as_of(ts)`` gives
the neighbours a service would have had at ``ts``: training never sees a pair from its
own future (replay walks a ``NeighbourTimeline`` of them instead of rebuilding per day).
Neighbour score is cosine-normalised (count / sqrt(n_i · n_j)) so popular products do not
become everyone's neighbour.

Serving keeps each product's neighbours in Redis (``features.store.neighbours``, written
from ``Neighbours.lists`` by every ``shopmode train``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from features.catalog import Catalog
from features.events.rules import BUYING_TYPES, ENGAGEMENT_TYPES
from features.store.neighbours import NeighbourMap

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

ENGAGED = ENGAGEMENT_TYPES
BOUGHT = BUYING_TYPES
SESSION_GAP_SECONDS = 30 * 60.0
CO_PURCHASE_WINDOW_SECONDS = 7 * 86_400.0
CO_PURCHASE_WEIGHT = 3.0
MAX_SESSION_ITEMS = 30
NEIGHBOURS = 30


class NeighbourLookup(Protocol):
    """Anything that gives a product's neighbours (positions, scores), strongest first."""

    def of(self, product: int) -> tuple[IntArray, FloatArray]: ...


@dataclass(frozen=True)
class Neighbours:
    """Top neighbours per product: ``index[i]`` (-1 padded) with ``score[i]``."""

    index: IntArray
    score: FloatArray

    @classmethod
    def empty(cls, n_products: int, width: int = NEIGHBOURS) -> Neighbours:
        return cls(
            index=np.full((n_products, width), -1, dtype=np.int64),
            score=np.zeros((n_products, width), dtype=np.float64),
        )

    def of(self, product: int) -> tuple[IntArray, FloatArray]:
        keep = self.index[product] >= 0
        return self.index[product][keep], self.score[product][keep]

    def lists(self, catalog: Catalog) -> Iterator[tuple[str, list[tuple[str, float]]]]:
        """Every product's neighbours by id, strongest first (what the store keeps)."""
        ids = catalog.product_ids
        for i in range(len(ids)):
            index, score = self.of(i)
            pairs = [(str(ids[j]), float(s)) for j, s in zip(index, score, strict=True)]
            yield str(ids[i]), pairs


def sessions_of(events: pd.DataFrame) -> npt.NDArray[np.int64]:
    """A session number per event: ``session_id`` when logged, else a 30-minute gap rule.

    ``events`` must be sorted by (user_id, ts).
    """
    user_change = events["user_id"].to_numpy() != np.roll(events["user_id"].to_numpy(), 1)
    ts = events["ts"].to_numpy(dtype=np.float64)
    gap = np.diff(ts, prepend=-np.inf) > SESSION_GAP_SECONDS
    by_gap = np.cumsum(user_change | gap)
    if "session_id" not in events.columns or events["session_id"].isna().all():
        return by_gap.astype(np.int64)
    logged = events["session_id"].astype(object)
    # Keep logged ids where present; fall back to gap sessions (offset apart) elsewhere.
    codes, _ = pd.factorize(logged, use_na_sentinel=True)
    fallback = codes < 0
    return np.where(fallback, by_gap + codes.max() + 1, codes).astype(np.int64)


def _pairs_within(
    group: IntArray, product: IntArray, ts: FloatArray, max_items: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """All ordered pairs (a, b), a != b, of distinct products within each group, and the
    time the pair became known (the later first-engagement of the two)."""
    frame = pd.DataFrame({"g": group, "p": product, "ts": ts})
    first = frame.groupby(["g", "p"], sort=False)["ts"].min().reset_index()
    first["rank"] = first.groupby("g").cumcount()
    first = first[first["rank"] < max_items]
    joined = first.merge(first, on="g", suffixes=("_a", "_b"))
    joined = joined[joined["p_a"] != joined["p_b"]]
    known = np.maximum(joined["ts_a"].to_numpy(), joined["ts_b"].to_numpy())
    return joined["p_a"].to_numpy(np.int64), joined["p_b"].to_numpy(np.int64), known


@dataclass(frozen=True)
class CooccurrenceLog:
    """Every co-occurrence pair with the time it became known, sorted by that time."""

    n_products: int
    a: IntArray
    b: IntArray
    weight: FloatArray
    known_ts: FloatArray

    @classmethod
    def from_events(cls, events: pd.DataFrame, catalog: Catalog) -> CooccurrenceLog:
        engaged = events[events["type"].isin(ENGAGED)]
        engaged = engaged[engaged["product_id"].notna()]
        engaged = engaged.sort_values(["user_id", "ts"], kind="stable")
        product = catalog.index_of(engaged["product_id"].astype(str))
        keep = product >= 0
        engaged, product = engaged[keep], product[keep]
        session = sessions_of(engaged)
        ts = engaged["ts"].to_numpy(np.float64)
        va, vb, vts = _pairs_within(session, product, ts, MAX_SESSION_ITEMS)
        bought = engaged["type"].isin(BOUGHT).to_numpy()
        pa_, pb_, pts = cls._co_purchases(engaged[bought], product[bought])
        a = np.concatenate([va, pa_])
        b = np.concatenate([vb, pb_])
        weight = np.concatenate([np.ones(len(va)), np.full(len(pa_), CO_PURCHASE_WEIGHT)])
        known = np.concatenate([vts, pts])
        order = np.argsort(known, kind="stable")
        return cls(len(catalog), a[order], b[order], weight[order], known[order])

    @staticmethod
    def _co_purchases(
        bought: pd.DataFrame, product: IntArray
    ) -> tuple[IntArray, IntArray, FloatArray]:
        # Weekly buckets per shopper approximate "within a week" without a quadratic join.
        week = np.floor(bought["ts"].to_numpy(np.float64) / CO_PURCHASE_WINDOW_SECONDS)
        user_codes, _ = pd.factorize(bought["user_id"])
        group = user_codes.astype(np.int64) * 100_000 + week.astype(np.int64)
        return _pairs_within(group, product, bought["ts"].to_numpy(np.float64), MAX_SESSION_ITEMS)

    def counts_as_of(self, ts: float) -> sp.csr_matrix:
        """Pair weights known strictly before ``ts``."""
        end = int(np.searchsorted(self.known_ts, ts, side="left"))
        shape = (self.n_products, self.n_products)
        return sp.csr_matrix(
            (self.weight[:end], (self.a[:end], self.b[:end])), shape=shape, dtype=np.float64
        )

    def as_of(self, ts: float, width: int = NEIGHBOURS) -> Neighbours:
        return neighbours_from_counts(self.counts_as_of(ts), width)


def neighbours_from_counts(counts: sp.csr_matrix, width: int = NEIGHBOURS) -> Neighbours:
    """Top ``width`` neighbours per product by count / sqrt(n_i · n_j), in one vectorised
    pass (ties by product position)."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    counts.sum_duplicates()
    n = counts.shape[0]
    out = Neighbours.empty(n, width)
    if counts.nnz == 0:
        return out
    mass = np.asarray(counts.sum(axis=1)).ravel()
    rows = np.repeat(np.arange(n), np.diff(counts.indptr))
    cols = counts.indices.astype(np.int64)
    score = counts.data / np.sqrt(mass[rows] * mass[cols])
    order = np.lexsort((cols, -score, rows))
    rows, cols, score = rows[order], cols[order], score[order]
    rank = np.arange(len(rows)) - counts.indptr[rows]
    keep = rank < width
    out.index[rows[keep], rank[keep]] = cols[keep]
    out.score[rows[keep], rank[keep]] = score[keep]
    return out


def neighbours_from_map(
    catalog: Catalog,
    fetched: NeighbourMap,
    decode: Callable[[str, list[tuple[str, float]]], tuple[IntArray, FloatArray]] | None = None,
) -> dict[int, tuple[IntArray, FloatArray]]:
    """Fetched neighbour lists as catalog positions (unknown products dropped);
    ``decode(product_id, pairs)`` may give a list's positions from memory."""
    out: dict[int, tuple[IntArray, FloatArray]] = {}
    for product_id, pairs in fetched.items():
        i = catalog.position(product_id)
        if i < 0 or not pairs:
            continue
        if decode is not None:
            out[i] = decode(product_id, pairs)
            continue
        index = catalog.index_of([p for p, _ in pairs])
        score = np.array([s for _, s in pairs], dtype=np.float64)
        keep = index >= 0
        out[i] = (index[keep], score[keep])
    return out
