"""The references every evaluation ranks beside the ranker, for the same decisions:
popularity fill, the shopper's top categories, and the oracles from a world's hidden truth."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from features.catalog import Catalog
from models.evaluation.scoring import unseen
from models.ranking.decisions import DecisionPoints
from models.retrieval.candidates import RetrievalSnapshot, ShopperSignals
from world.engagement import expected_gains
from world.truth import Truth

IntArray = npt.NDArray[np.int64]
DEPTH = 50
ORACLE_BATCH = 1024


def pad(ranked: IntArray, depth: int = DEPTH) -> IntArray:
    out = np.full(depth, -1, dtype=np.int64)
    out[: min(len(ranked), depth)] = ranked[:depth]
    return out


def fill(first: IntArray, snapshot: RetrievalSnapshot, seen: IntArray | None = None) -> IntArray:
    """``first``, then popular products not already in it, to ``DEPTH``; none of ``seen``."""
    if seen is not None and len(seen):
        first = unseen(first, seen)
        rest = unseen(snapshot.by_popularity, np.concatenate([seen, first]))
    else:
        rest = snapshot.by_popularity[: DEPTH + len(first)]
        rest = rest[~np.isin(rest, first)]
    return pad(np.concatenate([first, rest]))


def top_category_ranking(
    signals: ShopperSignals, snapshot: RetrievalSnapshot, seen: IntArray | None = None
) -> IntArray:
    order = np.argsort(-signals.category_affinity, kind="stable")
    order = order[signals.category_affinity[order] > 0][:5]
    picks = [snapshot.category_top[c] for c in order if c < len(snapshot.category_top)]
    first = np.concatenate(picks) if picks else np.zeros(0, dtype=np.int64)
    if seen is not None and len(seen):
        first = unseen(first, seen)
    return fill(first[:DEPTH], snapshot, seen)


def oracle_rankings(
    truth: Truth,
    points: DecisionPoints,
    catalog: Catalog,
    seen: sp.csr_matrix | None = None,
) -> dict[str, IntArray]:
    """The references from the world's hidden truth, over the whole catalog (without the
    products of each decision's row of ``seen``, when given).

    ``oracle_utility`` ranks by true utility at the decision (tastes only). ``oracle``
    ranks by the simulator's own expected gain for the decision's session (intent,
    search, exposure and position bias included), when the world saved its session plans.
    """
    users = truth.user_index(points.user_id.astype(str))
    order = truth.product_index(catalog.product_ids.astype(str))  # truth column per position
    sessions = None if truth.sessions is None else truth.sessions.rows_at(users, points.ts)
    out: dict[str, list[IntArray]] = {"oracle_utility": []}
    if sessions is not None:
        out["oracle"] = []
    for lo in range(0, len(users), ORACLE_BATCH):
        hi = min(lo + ORACLE_BATCH, len(users))
        utility = truth.utility_matrix(users[lo:hi], points.ts[lo:hi])[:, order]
        scores = [("oracle_utility", utility)]
        if sessions is not None:
            rows = sessions[lo:hi]
            gains = np.zeros_like(utility)
            known = np.flatnonzero(rows >= 0)
            gains[known] = expected_gains(truth, rows[known], seed=lo)[:, order]
            # Products no replay engaged with (and sessions without a plan) fall back to
            # utility order, far below anything with a chance of engagement.
            tie = 1e-9 / (1.0 + np.exp(-np.clip(utility, -50.0, 50.0)))
            scores.append(("oracle", gains + tie))
        for name, score in scores:
            if seen is not None:
                rows, cols = seen[lo:hi].nonzero()
                score[rows, cols] = -np.inf
            top = np.argpartition(-score, DEPTH - 1, axis=1)[:, :DEPTH]
            best = np.take_along_axis(score, top, axis=1)
            out[name].append(np.take_along_axis(top, np.argsort(-best, axis=1), axis=1))
    return {name: np.vstack(parts).astype(np.int64) for name, parts in out.items()}
