"""The learned sources on a Dask cluster, fitted and tuned as ``fit_learned_sources`` does.

Each part sends its interactions (shopper, product, time, type: what the item-kNN and
windowed-popularity fits read) and its engaged sessions (start, first engagement: what the
validation slice's rule counts). The driver carves the slice, fits the timeline once on
the concatenated interactions and scatters it; the slice's sampled decisions are
replayed on the workers that own their shoppers, and the driver tunes K and the quotas on
what they send back, in the slice's order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from features.catalog import Catalog
from models.ranking.decisions import DECIDED_BEFORE, GAIN, DecisionPoints, _sessioned
from models.ranking.source_tuning import SliceInputs, slice_rows, tune_on_slice
from models.ranking.splits import Split, _carve
from models.retrieval.interactions import INTERACTION_WEIGHTS
from models.retrieval.learned_timeline import LearnedTimeline, for_training
from models.retrieval.time_scales import TimeScales
from shopmode.errors import DataTooSmall

INTERACTION_COLUMNS = ["user_id", "product_id", "ts", "type"]


def interactions(events: pd.DataFrame) -> pd.DataFrame:
    """The part's weighted product events, only the columns the learned fits read."""
    kept = events["product_id"].notna() & events["type"].isin(list(INTERACTION_WEIGHTS))
    frame = events.loc[kept, INTERACTION_COLUMNS].reset_index(drop=True)
    frame["type"] = frame["type"].astype(str)
    return frame


def engaged_sessions(events: pd.DataFrame) -> pd.DataFrame:
    """Each session with product engagement: ``start`` and ``engaged`` (its first
    engagement). ``decision_times`` of the events before a cut are the starts of the
    sessions engaged before it (a cut does not move a session's start)."""
    frame = _sessioned(events)
    engaged = frame["type"].isin(list(GAIN)) & frame["product_id"].notna()
    start = frame.groupby("session", sort=False)["ts"].min()
    first = frame[engaged].groupby("session", sort=False)["ts"].min()
    return pd.DataFrame(
        {
            "start": start.loc[first.index].to_numpy(np.float64),
            "engaged": first.to_numpy(np.float64),
        }
    )


def validation_of(
    sessions: list[pd.DataFrame],
    product_first: float,
    holdout_first: float,
    split: Split,
) -> float:
    """Where the validation slice starts: ``validation_split``'s rule on the whole log,
    else (too few sessions to carve one) ``validation_start``'s last 10% of the span."""
    cut = split.start_ts - 1e-3
    whole = pd.concat(sessions, ignore_index=True)
    starts = whole.loc[whole["engaged"] < cut, "start"].to_numpy(np.float64)
    decisions = np.sort(starts) - DECIDED_BEFORE
    try:
        if not holdout_first < cut:
            raise DataTooSmall("no product events before the held-out days", field="events")
        return _carve(np.array([holdout_first]), decisions, split.start_ts, None).start_ts
    except DataTooSmall:
        first = product_first if np.isfinite(product_first) else split.start_ts
        return split.start_ts - 0.1 * (split.start_ts - first)


def fit_timeline(
    frames: list[pd.DataFrame],
    catalog: Catalog,
    points: DecisionPoints,
    split: Split,
    validation: float,
    scales: TimeScales,
    span: tuple[float, float],
) -> tuple[LearnedTimeline, dict[str, Any]]:
    """``for_training`` on the parts' interactions, with the whole log's product span."""
    events = pd.concat(frames, ignore_index=True)
    timeline, window_found = for_training(
        events,
        catalog,
        points.ts,
        points.truth.items,
        split.start_ts,
        validation,
        scales,
        span=span if np.isfinite(span[0]) else None,
    )
    return timeline, {"window_validation_found": {f"{d:g}": v for d, v in window_found.items()}}


def tune_timeline(
    timeline: LearnedTimeline,
    catalog: Catalog,
    train: DecisionPoints,
    validation: float,
    replay_slice: Callable[[DecisionPoints], Iterable[SliceInputs]],
) -> tuple[LearnedTimeline, dict[str, Any]]:
    """``tune_quotas`` with the slice replayed by ``replay_slice(points)`` (the parts')."""
    rows = slice_rows(train, validation)
    if len(rows) == 0:
        return timeline, {}
    points = train.subset(rows)
    seen = sorted(replay_slice(points), key=lambda inputs: inputs.row)
    return tune_on_slice(timeline, catalog, points, seen, validation)
