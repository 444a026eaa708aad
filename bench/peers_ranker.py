"""What a learned ranker over the peers' signals could reach (research estimate).

Candidate rows = the round-robin union of the sources (≤ 200 per decision); features =
each source's score and rank, popularity (recent, all-time), the shopper's category share,
history size and idle time, the product's age in the log. Trained on decisions of the
validation slice with sources fitted before it; scored on the holdout with sources refitted
on the whole training part. sklearn ``HistGradientBoostingRegressor`` on graded labels
(what ``ShopRanker`` fits), one thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from bench.peers_sources import Context, FloatArray, IntArray, quality, rows_of
from models.evaluation.peer_scorers import DEPTH
from models.ranking.decisions import DAY

RANK_CAP = 5000.0
NEGATIVES = 50


@dataclass
class Rows:
    X: npt.NDArray[np.float32]
    y: npt.NDArray[np.float64]
    weight: npt.NDArray[np.float64]
    decision: IntArray
    product: IntArray
    names: list[str]


def _ranks(scores: FloatArray, seen_rows: IntArray, seen_cols: IntArray) -> FloatArray:
    masked = scores.copy()
    masked[seen_rows, seen_cols] = -np.inf
    order = np.argsort(-masked, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(scores.shape[1])[None, :], axis=1)
    return np.minimum(ranks, RANK_CAP).astype(np.float32)


def _last_event_before(ctx: Context) -> npt.NDArray[np.float64]:
    frame = ctx.events[["user_id", "ts"]].sort_values(["user_id", "ts"], kind="stable")
    users = frame["user_id"].astype(str).to_numpy()
    ts = frame["ts"].to_numpy(np.float64)
    out = np.full(len(ctx.points), np.nan)
    lo = pd.Series(np.arange(len(users))).groupby(users).min()
    hi = pd.Series(np.arange(len(users))).groupby(users).max() + 1
    for row, (user, at) in enumerate(
        zip(ctx.points.user_id.astype(str), ctx.points.ts, strict=True)
    ):
        if user in lo.index:
            a, b = int(lo[user]), int(hi[user])
            i = a + int(np.searchsorted(ts[a:b], at, side="left"))
            if i > a:
                out[row] = at - ts[i - 1]
    return out


def candidate_rows(
    ctx: Context, scores: dict[str, FloatArray], candidates: IntArray, seed: int, train: bool
) -> Rows:
    """Feature rows for the candidates of every decision (negatives sampled when training)."""
    rng = np.random.default_rng(seed)
    seen_rows, seen_cols = ctx.seen().nonzero()
    ranks = {name: _ranks(s, seen_rows, seen_cols) for name, s in scores.items()}
    category = np.asarray(ctx.catalog.category_code, dtype=np.int64)
    n_cat = int(category.max()) + 1
    onehot = np.zeros((len(ctx.catalog), n_cat), dtype=np.float32)
    onehot[np.arange(len(category)), category] = 1.0
    by_cat = np.asarray(ctx.histories @ onehot)
    share = by_cat / np.maximum(by_cat.sum(axis=1, keepdims=True), 1e-9)
    size = np.log1p(np.diff(ctx.histories.indptr)).astype(np.float32)
    idle = _last_event_before(ctx) / DAY
    first_seen = _first_seen(ctx)
    names = [f"{n}_{k}" for n in scores for k in ("score", "rank")]
    names += ["category_share", "history_size", "idle_days", "product_age_days", "seen_weight"]
    blocks, labels, weights, decisions, products = [], [], [], [], []
    for d in range(len(ctx.points)):
        cand = candidates[d][candidates[d] >= 0]
        gain_of = dict(
            zip(ctx.points.truth.items[d].tolist(), ctx.points.truth.gains[d].tolist(), strict=True)
        )
        y = np.array([gain_of.get(int(p), 0.0) for p in cand])
        w = np.ones(len(cand))
        if train:
            pos, neg = np.flatnonzero(y > 0), np.flatnonzero(y == 0)
            if len(pos) == 0:
                continue
            if len(neg) > NEGATIVES:
                keep = rng.choice(neg, size=NEGATIVES, replace=False)
                w = np.concatenate([np.ones(len(pos)), np.full(NEGATIVES, len(neg) / NEGATIVES)])
                chosen = np.concatenate([pos, keep])
                cand, y = cand[chosen], y[chosen]
        cols = []
        for name in scores:
            cols += [scores[name][d, cand], ranks[name][d, cand]]
        age = (ctx.points.ts[d] - first_seen[cand]) / DAY
        cols += [
            share[d, category[cand]],
            np.full(len(cand), size[d]),
            np.full(len(cand), idle[d]),
            np.where(age >= 0, age, -1.0),
            ctx.histories[d].toarray().ravel()[cand],
        ]
        blocks.append(np.column_stack(cols).astype(np.float32))
        labels.append(y)
        weights.append(w)
        decisions.append(np.full(len(cand), d))
        products.append(cand)
    return Rows(
        np.vstack(blocks),
        np.concatenate(labels),
        np.concatenate(weights),
        np.concatenate(decisions),
        np.concatenate(products),
        names,
    )


def _first_seen(ctx: Context) -> npt.NDArray[np.float64]:
    pos = ctx.catalog.index_of(ctx.events["product_id"].astype(str))
    ok = pos >= 0
    first = np.full(len(ctx.catalog), np.inf)
    np.minimum.at(first, pos[ok], ctx.events["ts"].to_numpy(np.float64)[ok])
    return first


def fit(rows: Rows, drop: tuple[str, ...] = ()) -> tuple[HistGradientBoostingRegressor, list[int]]:
    keep = [i for i, n in enumerate(rows.names) if not (drop and n.startswith(drop))]
    model = HistGradientBoostingRegressor(
        learning_rate=0.1, max_iter=200, max_leaf_nodes=31, min_samples_leaf=40, random_state=0
    )
    with threadpool_limits(1):
        model.fit(rows.X[:, keep], rows.y, sample_weight=rows.weight)
    return model, keep


def rank_with(
    model: HistGradientBoostingRegressor, keep: list[int], rows: Rows, n_decisions: int
) -> IntArray:
    with threadpool_limits(1):
        pred = model.predict(rows.X[:, keep])
    out = np.full((n_decisions, DEPTH), -1, dtype=np.int64)
    order = np.lexsort((-pred, rows.decision))
    dec, prod = rows.decision[order], rows.product[order]
    starts = np.searchsorted(dec, np.arange(n_decisions + 1))
    for d in range(n_decisions):
        top = prod[starts[d] : starts[d + 1]][:DEPTH]
        out[d, : len(top)] = top
    return out


def evaluate_ranker(
    train: Rows,
    test: Rows,
    test_ctx: Context,
    groups: dict[str, tuple[str, ...]],
    returning: IntArray,
) -> dict[str, Any]:
    """Holdout NDCG of the ranker (all sessions, returning shoppers), and without each
    feature group (refitted; for reading which signals carry it, never for choosing)."""
    model, keep = fit(train)
    lists = rank_with(model, keep, test, len(test_ctx.points))
    truth = test_ctx.points.truth
    out: dict[str, Any] = {
        "train_rows": len(train.y),
        "train_positive_rows": int((train.y > 0).sum()),
        **quality(lists, truth),
        "ndcg@10_returning": quality(lists[returning], rows_of(truth, returning))["ndcg@10"],
    }
    ablation = {}
    for group, prefixes in groups.items():
        m, k = fit(train, prefixes)
        ablation[group] = quality(rank_with(m, k, test, len(test_ctx.points)), truth)["ndcg@10"]
    out["ndcg@10_without"] = ablation
    return out
