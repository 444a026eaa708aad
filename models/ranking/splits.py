"""Where a log is cut into a training part and a held-out part, chosen from the log itself.

A shop's log may cover four weeks or twenty years. Holding out a fixed week fits the first
and starves the second (a handful of sessions in its last week), so by default the holdout
is the last 10% of the time span of product events, rounded out to whole UTC days, and
widened a day at a time until it holds ``MIN_DECISIONS`` engaged sessions. A given
``test_days`` (``--test-days``) overrides the choice. Sessions are counted exactly as
``decision_points`` makes them (a logged ``session_id``, else a 30-minute inactivity gap).

Every refusal says what would help: which option, or how many more sessions to import.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.events.rules import PRODUCT_EVENT_TYPES
from models.ranking.decisions import DAY, MIN_DAYS, MIN_DECISIONS, decision_times
from shopmode.errors import DataTooSmall

FloatArray = npt.NDArray[np.float64]
HOLDOUT_SHARE = 0.10


@dataclass(frozen=True)
class Split:
    """A time split: decisions at or after ``start_ts`` (and before ``end_ts``) are held out."""

    start_ts: float  # first held-out instant (whole day boundary)
    end_ts: float  # end of the log part this split was carved from
    days: int  # held-out days
    sessions: int  # engaged sessions held out
    chosen: bool  # True when derived from the log, False when --test-days gave it

    def describe(self) -> str:
        first = _date(self.start_ts)
        last = _date(self.end_ts - 1.0)
        span = "the last day" if self.days == 1 else f"the last {self.days:,} days"
        how = "" if self.chosen else " (--test-days)"
        return f"held out: {span} ({first} → {last}), {self.sessions:,} sessions{how}"


def _date(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def choose_holdout(events: pd.DataFrame, test_days: int | None = None) -> Split:
    """The held-out part of ``events``: its last ``test_days`` whole days when given, else
    the last 10% of its product events' span, widened until it holds enough sessions.

    ``DataTooSmall`` names the option (``test_days``) or the log (``events``) to change.
    """
    product_ts = _product_times(events)
    if len(product_ts) == 0:
        raise DataTooSmall("the event log has no product events", field="events")
    end_ts = math.ceil(float(product_ts.max()) / DAY) * DAY
    return _carve(product_ts, decision_times(events), end_ts, test_days)


def validation_split(events: pd.DataFrame, holdout: Split) -> Split:
    """A validation slice for tuning: the last 10% of the part before ``holdout``, carved
    by the same rule (never touching the holdout)."""
    before = events[events["ts"] < holdout.start_ts - 1e-3]
    product_ts = _product_times(before)
    if len(product_ts) == 0:
        raise DataTooSmall("no product events before the held-out days", field="events")
    return _carve(product_ts, decision_times(before), holdout.start_ts, None)


def _product_times(events: pd.DataFrame) -> FloatArray:
    if events.empty or "product_id" not in events.columns:
        return np.empty(0, dtype=np.float64)
    products = events["type"].isin([str(t) for t in PRODUCT_EVENT_TYPES])
    products &= events["product_id"].notna()
    return events.loc[products, "ts"].to_numpy(np.float64)


def _carve(
    product_ts: FloatArray, decisions: FloatArray, end_ts: float, test_days: int | None
) -> Split:
    first_day = math.floor(float(product_ts.min()) / DAY) * DAY
    span_days = max(1, round((end_ts - first_day) / DAY))

    def held_out(days: int) -> int:
        start = end_ts - days * DAY
        return int(np.count_nonzero((decisions >= start) & (decisions < end_ts)))

    def trained_on(days: int) -> int:
        return int(np.count_nonzero(decisions < end_ts - days * DAY))

    if test_days is not None:
        return _given(test_days, span_days, end_ts, held_out(test_days), trained_on(test_days))
    total = int(np.count_nonzero(decisions < end_ts))
    if total < 2 * MIN_DECISIONS:
        raise DataTooSmall(
            f"only {total:,} sessions with product engagement in the log; need "
            f"{2 * MIN_DECISIONS} ({MIN_DECISIONS} to train on, {MIN_DECISIONS} to hold out): "
            f"import at least {2 * MIN_DECISIONS - total:,} more sessions",
            field="events",
        )
    days = max(1, math.ceil(HOLDOUT_SHARE * (end_ts - float(product_ts.min())) / DAY))
    while held_out(days) < MIN_DECISIONS and days < span_days:
        days += 1
    if trained_on(days) < MIN_DECISIONS:
        raise DataTooSmall(
            f"holding out {held_out(days):,} sessions takes the last {days:,} days and leaves "
            f"only {trained_on(days):,} to train on (need {MIN_DECISIONS}): import at least "
            f"{MIN_DECISIONS - trained_on(days):,} more sessions before them",
            field="events",
        )
    return Split(end_ts - days * DAY, end_ts, days, held_out(days), chosen=True)


def _given(test_days: int, span_days: int, end_ts: float, held: int, before: int) -> Split:
    if test_days < 1:
        raise DataTooSmall("must be at least 1", field="test_days")
    activity = f"the log's activity spans {span_days:,} days"
    if span_days < test_days + MIN_DAYS - 1:
        raise DataTooSmall(
            f"{activity}; need at least {test_days + MIN_DAYS - 1} to hold out {test_days} "
            "days and train on the rest: hold out fewer days, or drop --test-days to hold out "
            "the log's last 10%",
            field="test_days",
        )
    if held < MIN_DECISIONS:
        raise DataTooSmall(
            f"only {held:,} held-out sessions in the last {test_days:,} days; {activity}: "
            f"drop --test-days to hold out its last 10%, or import at least "
            f"{MIN_DECISIONS - held:,} more sessions",
            field="test_days",
        )
    if before < MIN_DECISIONS:
        raise DataTooSmall(
            f"only {before:,} training sessions before the last {test_days:,} days; "
            f"{activity}: hold out fewer days, drop --test-days to hold out its last 10%, "
            f"or import at least {MIN_DECISIONS - before:,} more sessions",
            field="test_days",
        )
    return Split(end_ts - test_days * DAY, end_ts, test_days, held, chosen=False)
