"""Decision points: the moments a recommendation could have been shown, and what followed.

One decision point per session that engaged with at least one product: at the session's
first event (features are read strictly before it), for that shopper, with the request
text when the session opened with a search. Its label is what the shopper did in that
session, graded per product: purchase 3 > add to cart 2 > click or view 1.

The time split is by day boundaries (chosen in ``models.ranking.splits``): train on
decisions before ``split_ts``, evaluate on those after; never random.
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
DECIDED_BEFORE = 1e-3  # seconds before a session's first event


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


def _sessioned(events: pd.DataFrame) -> pd.DataFrame:
    """The columns decisions need, sorted by (user_id, ts), with a ``session`` number:
    the logged ``session_id`` where there is one, else a 30-minute inactivity gap."""
    frame = events[["user_id", "type", "ts"]].copy()
    for optional in ("product_id", "query", "session_id"):  # a raw file may lack them
        if optional in events.columns:
            frame[optional] = events[optional]
        elif optional != "session_id":
            frame[optional] = None
    frame = frame.sort_values(["user_id", "ts"], kind="stable").reset_index(drop=True)
    frame["session"] = sessions_of(frame)
    return frame


def decision_times(events: pd.DataFrame) -> FloatArray:
    """When each session with product engagement would have been decided (sorted): the
    instants ``decision_points`` gives, counted without a catalog (to choose a split)."""
    if events.empty:
        return np.empty(0, dtype=np.float64)
    frame = _sessioned(events)
    start = frame.groupby("session", sort=False)["ts"].min()
    engaged = frame["type"].isin(list(GAIN)) & frame["product_id"].notna()
    sessions = np.unique(frame.loc[engaged, "session"].to_numpy(np.int64))
    return np.sort(start.loc[sessions.tolist()].to_numpy(np.float64)) - DECIDED_BEFORE


def decision_points(events: pd.DataFrame, catalog: Catalog) -> DecisionPoints:
    """Every session with product engagement, as a decision point with graded labels."""
    frame = _sessioned(events)
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
        ts=meta["ts"].to_numpy(np.float64) - DECIDED_BEFORE,
        query=queries,
        truth=Judgements(items=items, gains=grades),
    )


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
                f"(need {MIN_DECISIONS}) among the catalog's products: hold out other days "
                "with --test-days, or import a larger log",
                field="events",
            )
    return points.subset(before), points.subset(after)
