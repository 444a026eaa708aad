"""Decision points: the moments a recommendation could have been shown, and what followed.

One decision point per session that engaged with at least one product: at the session's
first event (features are read strictly before it), for that shopper, with the request
text when the session opened with a search. Its label is what the shopper did in that
session, graded per product: purchase 3 > add to cart 2 > click or view 1.

The time split is by day boundaries: train on decisions before ``split_ts``, evaluate on
those after; never random.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.catalog import Catalog
from features.events.rules import EventType
from models.ranking.judgements import Judgements
from models.retrieval.cooccurrence import sessions_of
from shopmode.errors import DataTooSmall

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

GAIN: dict[str, float] = {
    EventType.VIEW: 1.0,
    EventType.CLICK: 1.0,
    EventType.ADD_TO_CART: 2.0,
    EventType.PURCHASE: 3.0,
}
DAY = 86_400.0
MIN_DAYS = 4
MIN_DECISIONS = 50


@dataclass(frozen=True)
class DecisionPoints:
    """Parallel arrays, one entry per decision, sorted by ``ts``."""

    user_id: npt.NDArray[np.object_]
    ts: FloatArray
    query: list[str | None]
    truth: Judgements

    def __len__(self) -> int:
        return len(self.ts)

    def subset(self, rows: IntArray) -> DecisionPoints:
        return DecisionPoints(
            user_id=self.user_id[rows],
            ts=self.ts[rows],
            query=[self.query[i] for i in rows],
            truth=Judgements(
                items=[self.truth.items[i] for i in rows],
                gains=[self.truth.gains[i] for i in rows],
            ),
        )


def decision_points(events: pd.DataFrame, catalog: Catalog) -> DecisionPoints:
    """Every session with product engagement, as a decision point with graded labels."""
    frame = events[["user_id", "type", "product_id", "ts", "query"]].copy()
    if "session_id" in events.columns:
        frame["session_id"] = events["session_id"]
    frame = frame.sort_values(["user_id", "ts"], kind="stable").reset_index(drop=True)
    frame["session"] = sessions_of(frame)
    start = frame.groupby("session", sort=False).agg(
        user_id=("user_id", "first"),
        ts=("ts", "min"),
        first_type=("type", "first"),
        first_query=("query", "first"),
    )
    engaged = frame[frame["type"].isin(list(GAIN))].copy()
    engaged["product"] = catalog.index_of(engaged["product_id"].astype(str))
    engaged = engaged[engaged["product"] >= 0]
    engaged["gain"] = engaged["type"].map(GAIN).astype(np.float64)
    best = engaged.groupby(["session", "product"], sort=False)["gain"].max().reset_index()
    best = best.sort_values(["session", "product"], kind="stable")
    sessions = best["session"].to_numpy()
    bounds = np.flatnonzero(np.diff(sessions, prepend=-1, append=-1) != 0)
    products = best["product"].to_numpy(np.int64)
    gains = best["gain"].to_numpy(np.float64)
    ids = sessions[bounds[:-1]]
    meta = start.loc[ids]
    order = np.argsort(meta["ts"].to_numpy(np.float64), kind="stable")
    items = [products[bounds[i] : bounds[i + 1]] for i in order]
    grades = [gains[bounds[i] : bounds[i + 1]] for i in order]
    meta = meta.iloc[order]
    opened_with_search = (meta["first_type"] == "search").to_numpy()
    queries = [
        str(q) if s and isinstance(q, str) and q.strip() else None
        for q, s in zip(meta["first_query"].tolist(), opened_with_search, strict=True)
    ]
    return DecisionPoints(
        user_id=meta["user_id"].to_numpy(dtype=object),
        # Just before the session's first event: the session itself is never a feature.
        ts=meta["ts"].to_numpy(np.float64) - 1e-3,
        query=queries,
        truth=Judgements(items=items, gains=grades),
    )


def split_time(events: pd.DataFrame, test_days: int = 7) -> float:
    """The start of the held-out days: the log's last ``test_days`` whole days.

    Raises ``DataTooSmall`` when the log spans fewer than ``test_days`` + ``MIN_DAYS``
    days (too short to learn anything before the split).
    """
    if events.empty:
        raise DataTooSmall("the event log is empty", field="events")
    first, last = float(events["ts"].min()), float(events["ts"].max())
    span_days = (last - first) / DAY
    if test_days < 1:
        raise DataTooSmall("must be at least 1", field="test_days")
    if span_days < test_days + MIN_DAYS - 1:
        raise DataTooSmall(
            f"the event log spans {span_days:.1f} days; need at least "
            f"{test_days + MIN_DAYS - 1} to hold out {test_days} days and train on the rest",
            field="events",
        )
    end_day = np.ceil(last / DAY) * DAY
    return float(end_day - test_days * DAY)


def split_decisions(
    points: DecisionPoints, split_ts: float
) -> tuple[DecisionPoints, DecisionPoints]:
    """(train, test) by time; ``DataTooSmall`` when either side has too few decisions."""
    before = np.flatnonzero(points.ts < split_ts)
    after = np.flatnonzero(points.ts >= split_ts)
    for name, rows in (("training", before), ("held-out", after)):
        if len(rows) < MIN_DECISIONS:
            raise DataTooSmall(
                f"only {len(rows)} {name} sessions with product engagement "
                f"(need {MIN_DECISIONS}); generate or import a larger log",
                field="events",
            )
    return points.subset(before), points.subset(after)
