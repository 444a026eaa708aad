"""The learned sources for a training run, and their tuning on the validation slice (the
last part of the training decisions, carved by ``models.ranking.splits.validation_split``;
never the holdout): ``fit_learned_sources`` fits them along the log (the popularity
window chosen on the slice), then replays a sample of the slice's decisions once to
choose item-kNN's K (``models.retrieval.learned_timeline.tune_k``) and the candidate
quotas (``models.retrieval.quota_tuning.tune_quota``)."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import numpy as np

from models.ranking.decisions import DecisionPoints
from models.ranking.replay import Replay
from models.ranking.splits import Split, validation_split
from models.retrieval.learned import ShopperHistory
from models.retrieval.learned_timeline import for_training, tune_k, validation_start
from models.retrieval.quota_tuning import SliceDecision, tune_quota
from shopmode.errors import DataTooSmall

VALIDATION_DECISIONS = 200


def fit_learned_sources(
    replay: Replay, points: DecisionPoints, train: DecisionPoints, split: Split
) -> dict[str, Any]:
    """Give ``replay`` the learned sources fitted along the log before ``split`` (window
    chosen on the validation slice), then tune K and the quotas on that slice; what was
    chosen, for the model's params."""
    events = replay.engine.events_
    try:
        validation = validation_split(events, split).start_ts
    except DataTooSmall:  # too few sessions to carve one by the rule: the last 10% of time
        validation = validation_start(events, split.start_ts)
    replay.learned, window_found = for_training(
        events,
        replay.catalog,
        points.ts,
        points.truth.items,
        split.start_ts,
        validation,
        replay.scales,
    )
    tuned = tune_quotas(replay, train, validation)
    return {**tuned, "window_validation_found": {f"{d:g}": v for d, v in window_found.items()}}


def tune_quotas(
    replay: Replay,
    train: DecisionPoints,
    validation_start: float,
    limit: int = VALIDATION_DECISIONS,
    seed: int = 0,
) -> dict[str, Any]:
    """Set ``replay.learned``'s quotas to the best on the slice; what was found, for the
    model's metadata."""
    if replay.learned is None:
        return {}
    rows = np.flatnonzero(train.ts >= validation_start)
    if len(rows) > limit:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))
    if len(rows) == 0:
        return {}
    points = train.subset(rows)
    seen = list(replay(points))
    catalog = replay.catalog
    half_life = replay.learned.half_life
    histories = [ShopperHistory.of(inputs.state, catalog, half_life) for inputs in seen]
    k, k_found = tune_k(
        replay.learned.log,
        validation_start,
        [(h, points.truth.items[i.row]) for h, i in zip(histories, seen, strict=True)],
    )
    if k != replay.learned.k:
        replay.learned = replay.learned.with_k(k)
    timeline = replay.learned
    decisions = [
        SliceDecision(
            signals=timeline.signals(replace(inputs.signals, learned=None), inputs.state, catalog),
            snapshot=inputs.snapshot,
            neighbours=inputs.neighbour_map(),
            query_scores=inputs.query_scores,
            items=points.truth.items[inputs.row],
            gains=points.truth.gains[inputs.row],
        )
        for inputs in seen
    ]
    best, tried = tune_quota(decisions)
    replay.learned = replace(timeline, quota=best.quota)
    return {
        "knn_validation_found": {str(size): share for size, share in k_found.items()},
        "candidate_quota": asdict(best.quota),
        "validation_decisions": len(decisions),
        "validation_purchase_recall": best.purchase_recall,
        "validation_recall": best.recall,
        "validation_mean_candidates": best.mean_candidates,
        "quota_trials": len(tried),
    }
