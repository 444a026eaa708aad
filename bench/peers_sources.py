"""The peers experiment's parts: the log, its sessions and split, and every scorer.

Used by ``bench.peers_experiment``; research code (it may be folded into ``models`` later).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from features.catalog import Catalog
from features.events import rules as event_rules
from features.events.frame import validate_frame
from features.events.rules import EVENT_FIELDS
from features.ingest import interest_events, read_events
from models.evaluation.metrics import ndcg_at_k, recall_at_k
from models.ranking.decisions import DAY, DecisionPoints, decision_points
from models.ranking.judgements import Judgements
from models.retrieval.collaborative import ALS, EASE, ItemKNN
from models.retrieval.content import ContentIndex
from models.retrieval.interactions import (
    INTERACTION_WEIGHTS,
    InteractionMatrix,
    histories_at,
    top_unseen,
)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
DEPTH = 50


def allow_old_events() -> None:
    """Today's event contract rejects ts before 2000; the experiment keeps every row."""
    event_rules.EARLIEST_TS = 0.0


def load(data: Path) -> tuple[pd.DataFrame, Catalog]:
    catalog_path = next(p for p in (data / "catalog.parquet", data / "catalog.csv") if p.exists())
    events = read_events(data / "events.parquet")
    if (data / "users.parquet").exists():
        declared = interest_events(pd.read_parquet(data / "users.parquet"))
        events = pd.concat([declared, events], ignore_index=True)
    valid, rejected = validate_frame(events, now=np.inf)
    if rejected:
        raise ValueError(f"{len(rejected)} invalid events, first: {rejected[0]}")
    events = valid[list(EVENT_FIELDS)].drop_duplicates("event_id")
    events = events.sort_values("ts", kind="stable").reset_index(drop=True)
    return events, Catalog.read(catalog_path)


def sessions(events: pd.DataFrame, catalog: Catalog, how: str) -> DecisionPoints:
    """Decision points per engaged session: logged ids / 30-minute gaps, or shopper-days."""
    if how == "day":
        day = np.floor(events["ts"].to_numpy(np.float64) / DAY).astype(np.int64)
        events = events.assign(session_id=events["user_id"].astype(str) + "@" + day.astype(str))
    return decision_points(events, catalog)


@dataclass(frozen=True)
class Split:
    first: float
    validation: float  # start of the validation slice (the end of the training part)
    test: float  # start of the holdout

    @classmethod
    def of(cls, events: pd.DataFrame, holdout: float, validation: float) -> Split:
        # The span of product activity: declared interests carry sign-up times, years
        # before a synthetic world's first session.
        engaged = events.loc[events["product_id"].notna(), "ts"]
        first, last = float(engaged.min()), float(engaged.max())
        test = last - holdout * (last - first)
        return cls(first, test - validation * (test - first), test)


def window(points: DecisionPoints, lo: float, hi: float, limit: int, seed: int) -> DecisionPoints:
    rows = np.flatnonzero((points.ts >= lo) & (points.ts < hi))
    if len(rows) > limit:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))
    return points.subset(rows)


def purchases_only(truth: Judgements) -> Judgements:
    keep = [g >= 3.0 for g in truth.gains]
    return Judgements(
        items=[i[k] for i, k in zip(truth.items, keep, strict=True)],
        gains=[g[k] for g, k in zip(truth.gains, keep, strict=True)],
    )


@dataclass
class Context:
    """What every scorer sees for a set of decisions: the log, their histories, and for
    each decision the time its models were fitted at (they learn from events before it)."""

    events: pd.DataFrame
    catalog: Catalog
    points: DecisionPoints
    fit_at: npt.NDArray[np.float64]
    histories: sp.csr_matrix  # each decision's history strictly before its own time
    exclude_seen: bool = True

    @classmethod
    def build(
        cls,
        events: pd.DataFrame,
        catalog: Catalog,
        points: DecisionPoints,
        start: float,
        end: float,
        refits: int,
    ) -> Context:
        """Models refitted ``refits`` times over [start, end): as a nightly retrain would,
        coarser; every decision uses the last fit at or before it."""
        bounds = start + (end - start) * np.arange(refits) / refits
        fit_at = bounds[np.searchsorted(bounds, points.ts, side="right") - 1]
        histories = histories_at(events, catalog, points.user_id, points.ts)
        return cls(events, catalog, points, fit_at, histories)

    def seen(self) -> sp.csr_matrix:
        """What may not be recommended: the history, or nothing (``--keep-seen``)."""
        if self.exclude_seen:
            return self.histories
        return sp.csr_matrix(self.histories.shape, dtype=np.float32)

    def interactions(self, before: float) -> sp.csr_matrix:
        return InteractionMatrix.from_events(self.events, self.catalog, before).matrix


def popularity_at(ctx: Context, days: float | None) -> FloatArray:
    """Weighted engagement per product in the ``days`` before each decision (None: ever)."""
    kept = ctx.events[ctx.events["type"].isin(list(INTERACTION_WEIGHTS))]
    product = ctx.catalog.index_of(kept["product_id"].astype(str))
    ok = product >= 0
    ts = kept["ts"].to_numpy(np.float64)[ok]
    weight = kept["type"].map(dict(INTERACTION_WEIGHTS)).to_numpy(np.float64)[ok]
    product = product[ok]
    order = np.argsort(ctx.points.ts, kind="stable")
    out = np.zeros((len(ctx.points), len(ctx.catalog)), dtype=np.float32)
    counts = np.zeros(len(ctx.catalog))
    added = removed = 0
    for row in order:
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


Scorer = Callable[[Context], FloatArray]


def scorer(kind: str, params: dict[str, Any], seed: int = 0) -> Scorer:
    """A function from a context to scores (decisions × products) for one peer."""
    if kind == "popularity":
        return lambda ctx: popularity_at(ctx, params.get("days"))
    if kind == "content":
        return lambda ctx: ContentIndex().fit(ctx.catalog).scores(ctx.histories)
    model: Callable[[], Any] = {
        "als": lambda: ALS(seed=seed, **params),
        "item_knn": lambda: ItemKNN(**params),
        "ease": lambda: EASE(**params),
    }[kind]

    def rolling(ctx: Context) -> FloatArray:
        out = np.zeros((len(ctx.points), len(ctx.catalog)), dtype=np.float32)
        for at in np.unique(ctx.fit_at):
            rows = np.flatnonzero(ctx.fit_at == at)
            fitted = model().fit(ctx.interactions(float(at)))
            out[rows] = fitted.scores(ctx.histories[rows])
        return out

    return rolling


GRIDS: dict[str, list[dict[str, Any]]] = {
    "popularity_recent": [{"days": d} for d in (1, 7, 30, 90, 365, 1095)],
    "als": [
        {"factors": f, "regularization": 0.05, "alpha": a, "iterations": 15}
        for f in (32, 64, 128)
        for a in (1.0, 10.0)
    ],
    "item_knn": [{"weighting": w, "k": k} for w in ("bm25", "cosine") for k in (50, 500)],
    "ease": [{"l2": lam, "max_items": 3000} for lam in (100.0, 500.0, 2000.0)],
}
KIND = {"popularity_recent": "popularity", "als": "als", "item_knn": "item_knn", "ease": "ease"}
FIXED: dict[str, tuple[str, dict[str, Any]]] = {
    "popularity_all_time": ("popularity", {"days": None}),
    "popularity_30d": ("popularity", {"days": 30}),
    "content": ("content", {}),
}


def ranked(scores: FloatArray, ctx: Context, positive_only: bool, depth: int = DEPTH) -> IntArray:
    return top_unseen(scores, ctx.seen(), depth, positive_only=positive_only)


def quality(lists: IntArray, truth: Judgements) -> dict[str, float]:
    return {"ndcg@10": ndcg_at_k(lists, truth, 10), "recall@10": recall_at_k(lists, truth, 10)}


def recall_within(lists: IntArray, truth: Judgements) -> float:
    return recall_at_k(lists, truth, lists.shape[1])


def round_robin(lists: dict[str, IntArray], quota: dict[str, int], total: int) -> IntArray:
    """Merge per-source lists: each source in turn gives its next unseen product, up to its
    quota, until ``total`` distinct products (rows padded with -1)."""
    names = [n for n in quota if n in lists]
    n_rows = next(iter(lists.values())).shape[0]
    out = np.full((n_rows, total), -1, dtype=np.int64)
    for row in range(n_rows):
        taken: dict[int, None] = {}
        cursor = dict.fromkeys(names, 0)
        used = dict.fromkeys(names, 0)
        while len(taken) < total:
            moved = False
            for name in names:
                source = lists[name][row]
                while cursor[name] < len(source) and used[name] < quota[name]:
                    product = int(source[cursor[name]])
                    cursor[name] += 1
                    if product < 0:
                        cursor[name] = len(source)
                        break
                    if product not in taken:
                        taken[product] = None
                        used[name] += 1
                        moved = True
                        break
                if len(taken) >= total:
                    break
            if not moved:
                break
        picked = list(taken)
        out[row, : len(picked)] = picked
    return out


def tune_quota(
    lists: dict[str, IntArray], truth: Judgements, total: int, step: int = 25
) -> dict[str, int]:
    """Greedy: ``step`` slots at a time to the source whose slots add the most recall."""
    quota = dict.fromkeys(lists, 0)
    for _ in range(total // step):

        def gain(name: str) -> float:
            trial = {**quota, name: quota[name] + step}
            return recall_within(round_robin(lists, trial, total), truth)

        quota[max(lists, key=gain)] += step
    return {n: q for n, q in quota.items() if q > 0}


def filled(lists: IntArray, fallback: IntArray) -> IntArray:
    """``lists`` with each row's empty tail filled from ``fallback`` (no repeats): what a
    peer serves a shopper it cannot score (a first visit) or scores few products for."""
    out = lists.copy()
    for row in range(len(out)):
        have = out[row][out[row] >= 0]
        if len(have) == out.shape[1]:
            continue
        extra = fallback[row][(fallback[row] >= 0) & ~np.isin(fallback[row], have)]
        merged = np.concatenate([have, extra])[: out.shape[1]]
        out[row, : len(merged)] = merged
    return out


def rows_of(truth: Judgements, rows: IntArray) -> Judgements:
    return Judgements(items=[truth.items[i] for i in rows], gains=[truth.gains[i] for i in rows])


def fused(
    scores: dict[str, FloatArray], ctx: Context, names: list[str], k: float = 60.0
) -> FloatArray:
    """Reciprocal-rank fusion of the named sources: Σ 1 / (k + rank) per product."""
    seen_rows, seen_cols = ctx.seen().nonzero()
    out = np.zeros_like(next(iter(scores.values())))
    for name in names:
        masked = scores[name].copy()
        masked[seen_rows, seen_cols] = -np.inf
        order = np.argsort(-masked, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(masked.shape[1])[None, :], axis=1)
        out += 1.0 / (k + ranks)
    return out


def tune_fusion(scores: dict[str, FloatArray], ctx: Context, total: int) -> list[str]:
    """Greedy forward selection of the sources whose fusion finds the most (validation)."""
    chosen: list[str] = []
    best = -1.0
    while True:
        trials = {}
        for name in scores:
            if name in chosen:
                continue
            top = top_unseen(fused(scores, ctx, [*chosen, name]), ctx.seen(), total)
            trials[name] = recall_within(top, ctx.points.truth)
        if not trials:
            return chosen
        name, recall = max(trials.items(), key=lambda kv: kv[1])
        if recall <= best:
            return chosen
        chosen.append(name)
        best = recall
