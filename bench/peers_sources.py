"""The peers experiment's parts: the log, its sessions and split, retrieval unions.

Used by ``bench.peers_experiment``; research code. The peers themselves (the context of a
stretch of decisions, popularity over a window, ALS, item-kNN, EASE, their grids and the
first-visit fill) are the production ones, ``models.evaluation.peer_scorers`` and
``models.evaluation.peers``, which ``shopmode evaluate`` runs; only the content scorer,
which ``evaluate`` does not rank with, is added here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.catalog import Catalog
from features.events import rules as event_rules
from features.events.frame import validate_frame
from features.events.rules import EVENT_FIELDS
from features.ingest import interest_events, read_events
from models.evaluation.metrics import ndcg_at_k, recall_at_k
from models.evaluation.peer_scorers import DEPTH, PeerContext, Scorer
from models.evaluation.peer_scorers import scorer as peer_scorer
from models.evaluation.peers import KIND as PEER_KIND
from models.ranking.decisions import DAY, DecisionPoints, decision_points
from models.ranking.judgements import Judgements
from models.retrieval.content import ContentIndex
from models.retrieval.interactions import top_unseen

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


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


Context = PeerContext


def scorer(kind: str, params: dict[str, Any], seed: int = 0) -> Scorer:
    """A production peer's scorer, or the content one (TF-IDF over the catalog)."""
    if kind == "content":
        return lambda ctx: ContentIndex().fit(ctx.catalog).scores(ctx.histories)
    return peer_scorer(kind, params, seed)


KIND = {**PEER_KIND}
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
