"""Today's retrieval and ranker on the experiment's split (``--today`` of peers_experiment).

The same code as ``shopmode train`` + ``shopmode evaluate`` (``prepare`` is bypassed only
to put the split where the experiment puts it), except that co-occurrence comes from
``NeighbourTimeline`` with at most 128 checkpoints (daily on a log of under 128 days,
where it equals today's; coarser on a longer one): the proposed, linear-cost replay.
Reported: retrieval recall per source (as is, and with the shopper's already-seen
products removed), and NDCG@10 of the ranker and today's baselines on the holdout.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from bench.peers_sources import Context, Split, purchases_only, recall_within
from features.catalog import Catalog
from features.offline import OfflineFeatureEngine
from models.evaluation.evaluate import evaluate_estimator
from models.ranking.decisions import decision_points, split_decisions
from models.ranking.features import REASON_GROUPS, RankingFeatures, group_columns
from models.ranking.replay import Replay
from models.ranking.splits import Split as HeldOut
from models.ranking.training import (
    EventLog,
    Prepared,
    TrainConfig,
    population_baseline,
    train_ranker,
)
from models.retrieval.candidates import SOURCES, candidates_for
from models.retrieval.cooccurrence import CooccurrenceLog
from models.retrieval.text_match import QueryIndex


def today_on_split(
    events: pd.DataFrame, catalog: Catalog, split: Split, test_ctx: Context
) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    engine = OfflineFeatureEngine(events, catalog)
    points = decision_points(engine.events_, catalog)
    train, test = split_decisions(points, split.test)
    log = CooccurrenceLog.from_events(engine.events_, catalog)
    replay = Replay(engine, catalog, log, QueryIndex(catalog))
    prepared = Prepared(
        log=EventLog(events=events, catalog=catalog),
        engine=engine,
        split=HeldOut(
            start_ts=split.test,
            end_ts=float(events["ts"].max()),
            days=round((float(events["ts"].max()) - split.test) / 86_400),
            sessions=len(test),
            chosen=True,
        ),
        train=train,
        test=test,
        replay=replay,
        features=RankingFeatures(catalog),
        cooccurrence=log,
    )
    seconds["prepare"] = time.perf_counter() - began
    began = time.perf_counter()
    trained = train_ranker(prepared, TrainConfig())
    seconds["train"] = time.perf_counter() - began
    began = time.perf_counter()
    evaluation = evaluate_estimator(
        prepared,
        trained.estimator,
        group_columns(
            list(trained.metadata["feature_names"]), {k: list(v) for k, v in REASON_GROUPS.items()}
        ),
        population_baseline(trained.training),
        max_decisions=len(test),
    )
    seconds["evaluate"] = time.perf_counter() - began
    retrieval = _recall_by_source(prepared, test_ctx)
    return {
        "seconds": seconds,
        "train_metrics": dict(trained.metadata["metrics"]),
        "ndcg@10": {n: s.metrics["ndcg@10"] for n, s in evaluation.systems.items()},
        "retrieval": retrieval,
    }


def _recall_by_source(prepared: Prepared, test_ctx: Context) -> dict[str, Any]:
    """Recall of held-out items and purchases per source, raw and with seen removed."""
    points = test_ctx.points
    seen = test_ctx.histories
    n = len(points)
    lists: dict[str, list[np.ndarray]] = {
        f"{s}{x}": [] for s in (*SOURCES, "all") for x in ("", "_unseen")
    }
    sizes = []
    for inputs in prepared.replay(points):
        found = candidates_for(
            inputs.signals, inputs.snapshot, inputs.neighbour_map(), inputs.query_scores
        )
        history = set(seen[inputs.row].indices.tolist())
        fresh = np.array([p not in history for p in found.products.tolist()], dtype=bool)
        sizes.append(len(found))
        for col, name in enumerate((*SOURCES, "all")):
            on = found.sources[:, col] if name != "all" else np.ones(len(found), dtype=bool)
            lists[name].append(found.products[on])
            lists[f"{name}_unseen"].append(found.products[on & fresh])
    truth, bought = points.truth, purchases_only(points.truth)
    out: dict[str, Any] = {"mean_candidates": float(np.mean(sizes)) if sizes else 0.0}
    for name, rows in lists.items():
        width = max((len(r) for r in rows), default=1) or 1
        matrix = np.full((n, width), -1, dtype=np.int64)
        for i, r in enumerate(rows):
            matrix[i, : len(r)] = r
        out[name] = {
            "recall": recall_within(matrix, truth),
            "purchase_recall": recall_within(matrix, bought),
        }
    return out
