"""Peers: well-known recommenders scored on the ranker's own held-out sessions.

Beside the ranker's baselines (``models.evaluation.baselines``), an evaluation can rank
the same held-out decisions with

- ``popularity_all_time``: weighted engagement ever, counted at each decision;
- ``popularity_recent``: the same over a window chosen on validation;
- ``als``: ``implicit``'s alternating least squares (shoppers folded in from history);
- ``item_knn``: ``implicit``'s BM25-weighted item-item neighbours;
- ``ease``: Steck's closed-form linear item-item model
  (the models are in ``models.retrieval.collaborative``).

Every hyper-parameter is chosen by NDCG@10 on a **validation slice carved from the
training part only** (decisions in it, models fitted on events before them), never on
the holdout; the chosen settings are then refitted along the holdout and scored there.
A shopper's first visit gets the tuned recent-popularity list from every peer; a peer's
list is filled from it when it scores fewer than ``DEPTH`` products.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.catalog import Catalog
from models.evaluation.metrics import ndcg_at_k
from models.evaluation.peer_scorers import PeerContext, scorer, served
from models.evaluation.scoring import HEADLINE, SystemScores, score_ranked, training_popularity
from models.ranking.decisions import DecisionPoints
from models.ranking.splits import validation_split
from models.ranking.training import Prepared, sample

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FALLBACK = "popularity_recent"
DEFAULT_REFITS = 4
MAX_REFITS = 16
# Coarse grids. The research's winners on MovieLens sat on the low edge of its grids
# (32 factors, alpha 1, K 50, l2 100: bench/notes/real-logs-research.md), so each grid
# reaches below them; the world's winners (K 500, the longest windows) stay inside.
GRIDS: dict[str, list[dict[str, Any]]] = {
    "popularity_recent": [{"days": d} for d in (1, 7, 30, 90, 365, 1095)],
    "als": [
        {"factors": f, "regularization": 0.05, "alpha": a, "iterations": 15}
        for f in (8, 32)
        for a in (0.25, 1.0)
    ],
    "item_knn": [{"weighting": "bm25", "k": k} for k in (10, 50, 500)],
    "ease": [{"l2": lam, "max_items": 3000} for lam in (10.0, 100.0, 500.0)],
}
FIXED: dict[str, dict[str, Any]] = {"popularity_all_time": {"days": None}}
KIND = {
    "popularity_all_time": "popularity",
    "popularity_recent": "popularity",
    "als": "als",
    "item_knn": "item_knn",
    "ease": "ease",
}
# Neighbour models and counts give no score to most products: those are left to the
# fallback rather than shown in arbitrary order. ALS scores every product.
POSITIVE_ONLY = {"popularity_all_time", "popularity_recent", "item_knn", "ease"}


@dataclass(frozen=True)
class PeerSettings:
    """How peers are tuned and scored."""

    refits: int = DEFAULT_REFITS
    exclude_seen: bool = False
    max_validation: int = 2000
    seed: int = 0


@dataclass
class Peer:
    name: str
    params: dict[str, Any]
    validation_ndcg: float | None  # None: nothing was tuned
    grid: list[dict[str, Any]]
    scores: SystemScores

    def to_json(self) -> dict[str, Any]:
        return {
            **self.scores.metrics,
            "params": self.params,
            "validation_ndcg@10": self.validation_ndcg,
            "grid": self.grid,
        }


@dataclass
class PeerEvaluation:
    peers: dict[str, Peer]
    validation: dict[str, float]
    settings: PeerSettings
    lists: dict[str, IntArray] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {name: peer.to_json() for name, peer in self.peers.items()}

    def tuning_json(self) -> dict[str, Any]:
        return {
            **self.validation,
            "refits": self.settings.refits,
            "fallback": FALLBACK,
            "chosen_by": HEADLINE,
        }


def tune(ctx: PeerContext, seed: int = 0) -> dict[str, tuple[dict[str, Any], float, list[Any]]]:
    """Per tuned peer: (chosen params, their validation NDCG@10, the whole grid)."""
    out: dict[str, tuple[dict[str, Any], float, list[Any]]] = {}
    fallback: IntArray | None = None
    for name, grid in GRIDS.items():  # popularity_recent first: the others fall back to it
        trials: list[dict[str, Any]] = []
        for params in grid:
            scores = scorer(KIND[name], params, seed)(ctx)
            lists = served(scores, ctx, name in POSITIVE_ONLY, fallback, name != FALLBACK)
            trials.append({**params, HEADLINE: ndcg_at_k(lists, ctx.points.truth, 10)})
        best = max(range(len(grid)), key=lambda i: trials[i][HEADLINE])
        out[name] = (dict(grid[best]), float(trials[best][HEADLINE]), trials)
        if name == FALLBACK:
            scores = scorer(KIND[name], grid[best], seed)(ctx)
            fallback = served(scores, ctx, True, None, False)
    return out


def evaluate_peers(
    events: pd.DataFrame,
    catalog: Catalog,
    validation: DecisionPoints,
    validation_start: float,
    holdout: DecisionPoints,
    holdout_start: float,
    popularity: FloatArray,
    settings: PeerSettings,
) -> PeerEvaluation:
    """Tune on ``validation`` (all before ``holdout_start``), score on ``holdout``.

    ``popularity`` is the training engagement per product (for novelty, as for every
    system of the evaluation).
    """
    val_points = sample(validation, settings.max_validation, settings.seed)
    val_ctx = PeerContext.build(
        events[events["ts"] < holdout_start],  # the holdout is never read for tuning
        catalog,
        val_points,
        validation_start,
        settings.refits,
        settings.exclude_seen,
    )
    tuned = tune(val_ctx, settings.seed)
    test_ctx = PeerContext.build(
        events, catalog, holdout, holdout_start, settings.refits, settings.exclude_seen
    )
    chosen = {name: params for name, (params, _, _) in tuned.items()}
    chosen.update(FIXED)
    fallback_scores = scorer("popularity", chosen[FALLBACK])(test_ctx)
    fallback = served(fallback_scores, test_ctx, True, None, False)
    peers: dict[str, Peer] = {}
    lists: dict[str, IntArray] = {}
    for name in [*FIXED, *GRIDS]:
        params = chosen[name]
        scores = scorer(KIND[name], params, settings.seed)(test_ctx)
        personal = KIND[name] != "popularity"
        lists[name] = served(scores, test_ctx, name in POSITIVE_ONLY, fallback, personal)
        result = score_ranked(lists[name], holdout, catalog, popularity)
        result.name = name
        val_score, grid = (tuned[name][1], tuned[name][2]) if name in tuned else (None, [])
        peers[name] = Peer(name, params, val_score, grid, result)
    window = {
        "validation_from": validation_start,
        "validation_to": holdout_start,
        "validation_sessions": float(len(val_points)),
        "validation_first_visits": float(val_ctx.first_visits().sum()),
        "holdout_sessions": float(len(holdout)),
        "holdout_first_visits": float(test_ctx.first_visits().sum()),
    }
    return PeerEvaluation(peers, window, settings, lists)


def peers_for(prepared: Prepared, points: DecisionPoints, settings: PeerSettings) -> PeerEvaluation:
    """The peers on ``points`` (sessions after the split), tuned on the validation slice
    carved from the training part (``validation_split``); ``DataTooSmall`` when the
    training part is too short to carve one."""
    events = prepared.engine.events_
    carved = validation_split(events, prepared.split)
    train = prepared.train
    inside = (train.ts >= carved.start_ts) & (train.ts < carved.end_ts)
    result = evaluate_peers(
        events,
        prepared.log.catalog,
        train.subset(np.flatnonzero(inside)),
        carved.start_ts,
        points,
        prepared.split_ts,
        training_popularity(prepared),
        settings,
    )
    result.validation["validation_days"] = float(carved.days)
    return result
