"""The inputs every shopper part needs, reduced once from all parts on the driver.

Decision points merge into the whole log's time order (so the time split and the sample
are the single-process ones), co-occurrence pairs into one log, session starts into the
training part's time scales, and hourly product sums into one table.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from models.ranking.decisions import DAY, DecisionPoints
from models.ranking.distributed.shopper_parts import PartSummary
from models.ranking.judgements import Judgements
from models.ranking.splits import Split, _carve
from models.retrieval.cooccurrence import CooccurrenceLog
from models.retrieval.time_scales import TimeScales
from shopmode.errors import DataTooSmall

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def merge_points(parts: list[DecisionPoints]) -> DecisionPoints:
    """The parts' decisions in the order ``decision_points`` gives the whole log: by time,
    ties by shopper id, then by the part's own order."""
    user_id = np.concatenate([p.user_id for p in parts]) if parts else np.zeros(0, dtype=object)
    ts = np.concatenate([p.ts for p in parts]) if parts else np.zeros(0)
    local = np.concatenate([np.arange(len(p)) for p in parts]) if parts else np.zeros(0)
    users, _ = pd.factorize(pd.Series(user_id, dtype=object).astype(str), sort=True)
    order = np.lexsort((local, users, ts))
    query = [q for p in parts for q in p.query]
    items = [i for p in parts for i in p.truth.items]
    gains = [g for p in parts for g in p.truth.gains]
    return DecisionPoints(
        user_id=user_id[order],
        ts=ts[order],
        query=[query[i] for i in order],
        truth=Judgements(items=[items[i] for i in order], gains=[gains[i] for i in order]),
    )


def merge_cooccurrence(parts: list[CooccurrenceLog]) -> CooccurrenceLog:
    """One co-occurrence log from the parts' (every pair is within one shopper)."""
    known = np.concatenate([p.known_ts for p in parts])
    order = np.argsort(known, kind="stable")
    return CooccurrenceLog(
        parts[0].n_products,
        np.concatenate([p.a for p in parts])[order],
        np.concatenate([p.b for p in parts])[order],
        np.concatenate([p.weight for p in parts])[order],
        known[order],
    )


def holdout(parts: list[PartSummary], test_days: int | None) -> Split:
    """``choose_holdout`` of the whole log from the parts' product-event spans and
    decision times (the only things it reads)."""
    first = min(p.holdout_first_ts for p in parts)
    last = max(p.holdout_last_ts for p in parts)
    if not np.isfinite(first):
        raise DataTooSmall("the event log has no product events", field="events")
    end_ts = math.ceil(last / DAY) * DAY
    decisions = np.sort(np.concatenate([p.decision_times for p in parts]))
    return _carve(np.array([first, last]), decisions, end_ts, test_days)


def time_scales(starts: list[pd.DataFrame], split_ts: float) -> TimeScales:
    """``TimeScales.from_events`` of the training part, from the parts' session starts."""
    frame = pd.concat(starts, ignore_index=True)
    frame = frame[frame["ts"] < split_ts].sort_values(["user", "ts"], kind="stable")
    if frame.empty:
        return TimeScales()
    same_user = frame["user"].to_numpy()[1:] == frame["user"].to_numpy()[:-1]
    gaps = np.diff(frame["ts"].to_numpy(dtype=np.float64))[same_user]
    return TimeScales.from_gaps(gaps[gaps > 0], sessions=len(frame))
