"""The peers' scorers: popularity over a window, ALS, item-kNN and EASE, point-in-time.

A ``PeerContext`` holds what every scorer sees for a set of decisions: the log's
interactions, each decision's history (everything its shopper did strictly before it)
and the time its models were fitted at. Collaborative models are refitted ``refits``
times along the decisions' stretch, as a nightly retrain would, coarser: each decision
uses the last fit at or before it, learned from events strictly before that fit.
Popularity is counted at each decision itself.

A scorer maps a context to scores (decisions × catalog positions); ``served`` turns
scores into the lists a peer would show, with the first-visit fallback every peer shares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from features.catalog import Catalog
from models.ranking.decisions import DAY, DecisionPoints
from models.retrieval.collaborative import ALS, EASE, ItemKNN, ItemScorer
from models.retrieval.interactions import (
    INTERACTION_WEIGHTS,
    InteractionMatrix,
    histories_at,
    top_unseen,
)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
DEPTH = 50


@dataclass(frozen=True)
class PeerContext:
    """A stretch of decisions and what the peers may know at each of them."""

    events: pd.DataFrame  # interactions only (view, click, cart, purchase), by time
    catalog: Catalog
    points: DecisionPoints
    fit_at: npt.NDArray[np.float64]
    histories: sp.csr_matrix
    exclude_seen: bool

    @classmethod
    def build(
        cls,
        events: pd.DataFrame,
        catalog: Catalog,
        points: DecisionPoints,
        start: float,
        refits: int,
        exclude_seen: bool,
    ) -> PeerContext:
        """Decisions from ``start`` on; fits at ``refits`` even steps from ``start``."""
        kept = events[events["type"].isin(list(INTERACTION_WEIGHTS))]
        kept = kept.sort_values("ts", kind="stable").reset_index(drop=True)
        end = float(points.ts.max()) + 1.0 if len(points) else start + 1.0
        bounds = start + (end - start) * np.arange(max(refits, 1)) / max(refits, 1)
        fit_at = bounds[np.maximum(np.searchsorted(bounds, points.ts, side="right") - 1, 0)]
        if len(points):
            histories = histories_at(kept, catalog, points.user_id, points.ts)
        else:  # a validation slice without sessions: nothing to tune on
            histories = sp.csr_matrix((0, len(catalog)), dtype=np.float32)
        return cls(kept, catalog, points, fit_at, histories, exclude_seen)

    def seen(self) -> sp.csr_matrix:
        """What may not be recommended: each decision's history, or nothing."""
        if self.exclude_seen:
            return self.histories
        return sp.csr_matrix(self.histories.shape, dtype=np.float32)

    def first_visits(self) -> npt.NDArray[np.bool_]:
        """Decisions whose shopper has no history: nothing personal to score from."""
        return np.asarray(np.diff(self.histories.indptr) == 0, dtype=bool)

    def interactions(self, before: float) -> sp.csr_matrix:
        return InteractionMatrix.from_events(self.events, self.catalog, before).matrix


def popularity_at(ctx: PeerContext, days: float | None) -> FloatArray:
    """Weighted engagement per product in the ``days`` before each decision (None: ever)."""
    events = ctx.events
    product = ctx.catalog.index_of(events["product_id"].astype(str))
    ok = product >= 0
    ts = events["ts"].to_numpy(np.float64)[ok]
    weight = events["type"].map(dict(INTERACTION_WEIGHTS)).to_numpy(np.float64)[ok]
    product = product[ok]
    out = np.zeros((len(ctx.points), len(ctx.catalog)), dtype=np.float32)
    counts = np.zeros(len(ctx.catalog))
    added = removed = 0
    for row in np.argsort(ctx.points.ts, kind="stable"):
        at = ctx.points.ts[row]
        stop = int(np.searchsorted(ts, at, side="left"))
        np.add.at(counts, product[added:stop], weight[added:stop])
        added = stop
        if days is not None:
            gone = int(np.searchsorted(ts, at - days * DAY, side="left"))
            np.add.at(counts, product[removed:gone], -weight[removed:gone])
            removed = gone
        out[row] = counts
    return out


Scorer = Callable[[PeerContext], FloatArray]
MODELS: dict[str, Callable[..., ItemScorer]] = {"als": ALS, "item_knn": ItemKNN, "ease": EASE}


def scorer(kind: str, params: dict[str, Any], seed: int = 0) -> Scorer:
    """Scores for one peer: ``popularity`` (``days``) or a model of ``MODELS``."""
    if kind == "popularity":
        return lambda ctx: popularity_at(ctx, params.get("days"))
    extra = {"seed": seed} if kind == "als" else {}
    make = MODELS[kind]

    def refitted(ctx: PeerContext) -> FloatArray:
        out = np.zeros((len(ctx.points), len(ctx.catalog)), dtype=np.float32)
        for at in np.unique(ctx.fit_at):
            rows = np.flatnonzero(ctx.fit_at == at)
            matrix = ctx.interactions(float(at))
            if matrix.nnz == 0:
                continue
            fitted = make(**params, **extra).fit(matrix)
            out[rows] = fitted.scores(ctx.histories[rows])
        return out

    return refitted


def filled(lists: IntArray, fallback: IntArray) -> IntArray:
    """``lists`` with each row's empty tail filled from ``fallback`` (no repeats)."""
    out = lists.copy()
    for row in range(len(out)):
        have = out[row][out[row] >= 0]
        if len(have) == out.shape[1]:
            continue
        extra = fallback[row][(fallback[row] >= 0) & ~np.isin(fallback[row], have)]
        merged = np.concatenate([have, extra])[: out.shape[1]]
        out[row, : len(merged)] = merged
    return out


def served(
    scores: FloatArray,
    ctx: PeerContext,
    positive_only: bool,
    fallback: IntArray | None,
    personal: bool,
) -> IntArray:
    """The top ``DEPTH`` a peer shows per decision: its own best (seen excluded when asked),
    the fallback's after them; a personal model shows a first visit the fallback's list."""
    lists = top_unseen(scores, ctx.seen(), DEPTH, positive_only=positive_only)
    if fallback is None:
        return lists
    lists = filled(lists, fallback)
    if personal:
        cold = ctx.first_visits()
        lists[cold] = fallback[cold]
    return lists
