"""The learned sources for a training run, and their tuning on the validation slice (the
last part of the training decisions, carved by ``models.ranking.splits.validation_split``;
never the holdout): ``fit_learned_sources`` fits them along the log (the popularity
window chosen on the slice), then replays a sample of the slice's decisions once to
choose item-kNN's K (``models.retrieval.learned_timeline.tune_k``) and the candidate
quotas (``models.retrieval.quota_tuning.tune_quota``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog
from features.state import UserState
from models.ranking.decisions import DecisionPoints
from models.ranking.replay import DecisionInputs, Replay
from models.ranking.splits import Split, validation_split
from models.retrieval.candidates import RetrievalSnapshot, ShopperSignals
from models.retrieval.learned import KNN_K, ShopperHistory
from models.retrieval.learned_timeline import (
    LearnedTimeline,
    for_training,
    tune_k,
    validation_start,
)
from models.retrieval.quota_tuning import SliceDecision, repeat_share, tune_quota
from shopmode.errors import DataTooSmall

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
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
        k=0,  # K is tuned on the slice first: item-kNN fitted once, with it
    )
    tuned = tune_quotas(replay, train, validation)
    if replay.learned.k == 0:  # no slice to tune K on
        replay.learned = replay.learned.with_k(KNN_K)
    return {**tuned, "window_validation_found": {f"{d:g}": v for d, v in window_found.items()}}


@dataclass(frozen=True)
class SliceInputs:
    """What quota tuning reads of a replayed validation decision (``row``: its number in
    the slice's sample), small enough to send from a Dask worker."""

    row: int
    state: UserState
    signals: ShopperSignals  # without the learned sources
    snapshot: RetrievalSnapshot
    neighbours: dict[int, tuple[IntArray, FloatArray]]
    query_scores: FloatArray | None

    @classmethod
    def of(cls, inputs: DecisionInputs, row: int | None = None) -> SliceInputs:
        return cls(
            row=inputs.row if row is None else row,
            state=inputs.state,
            signals=replace(inputs.signals, learned=None),
            snapshot=inputs.snapshot,
            neighbours=inputs.neighbour_map(),
            query_scores=inputs.query_scores,
        )


def slice_rows(
    train: DecisionPoints,
    validation_start: float,
    limit: int = VALIDATION_DECISIONS,
    seed: int = 0,
) -> IntArray:
    """The training decisions in the validation slice that tune the quotas (a sample)."""
    rows = np.flatnonzero(train.ts >= validation_start)
    if len(rows) > limit:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))
    return rows.astype(np.int64)


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
    rows = slice_rows(train, validation_start, limit, seed)
    if len(rows) == 0:
        return {}
    points = train.subset(rows)
    seen = [SliceInputs.of(inputs) for inputs in replay(points)]
    replay.learned, tuned = tune_on_slice(
        replay.learned, replay.catalog, points, seen, validation_start
    )
    return tuned


def tune_on_slice(
    timeline: LearnedTimeline,
    catalog: Catalog,
    points: DecisionPoints,
    seen: Sequence[SliceInputs],
    validation_start: float,
) -> tuple[LearnedTimeline, dict[str, Any]]:
    """``timeline`` with item-kNN's K and the quotas that do best on the replayed slice
    (``seen``, in ``points``' order); what was found, for the model's metadata."""
    half_life = timeline.half_life
    histories = [ShopperHistory.of(inputs.state, catalog, half_life) for inputs in seen]
    k, k_found = tune_k(
        timeline.log,
        validation_start,
        [(h, points.truth.items[i.row]) for h, i in zip(histories, seen, strict=True)],
    )
    if k != timeline.k:
        timeline = timeline.with_k(k)
    decisions = slice_decisions(timeline, catalog, points, seen)
    best, tried = tune_quota(decisions)
    return replace(timeline, quota=best.quota), {
        "knn_validation_found": {str(size): share for size, share in k_found.items()},
        "candidate_quota": asdict(best.quota),
        "validation_decisions": len(decisions),
        "validation_purchase_recall": best.purchase_recall,
        "validation_recall": best.recall,
        "validation_mean_candidates": best.mean_candidates,
        "validation_repeat_share": repeat_share(decisions),
        "quota_tuned_without_seen": best.seen_excluded,
        "quota_trials": len(tried),
    }


def slice_decisions(
    timeline: LearnedTimeline,
    catalog: Catalog,
    points: DecisionPoints,
    seen: Sequence[SliceInputs],
) -> list[SliceDecision]:
    """What quota tuning reads of each replayed slice decision, with ``timeline``'s
    learned sources."""
    return [
        SliceDecision(
            signals=timeline.signals(inputs.signals, inputs.state, catalog),
            snapshot=inputs.snapshot,
            neighbours=inputs.neighbours,
            query_scores=inputs.query_scores,
            items=points.truth.items[inputs.row],
            gains=points.truth.gains[inputs.row],
            seen=timeline.log.products_before(str(points.user_id[inputs.row]), inputs.state.at),
        )
        for inputs in seen
    ]
