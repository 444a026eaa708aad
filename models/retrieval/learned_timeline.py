"""The learned sources along a log: fitted at a few checkpoints, used point-in-time.

Serving uses what the last ``shopmode train`` fitted; replay does the same with at most
``MAX_FITS`` fits along the training part of the log (the last at the validation slice),
one at the split for the held-out part, and the same spacing on as a periodic retrain
would: a decision uses the last fit *at or before* it, and a fit learns only from events
strictly before its own time, so nothing a decision could not have known reaches it.

The window popularity is cheap to count, so it is refreshed more often than the kNN fits:
at up to ``POPULAR_CHECKPOINTS`` checkpoints along the log (daily on a short log), each from
the events strictly before it, as a daily ``shopmode train`` keeps the served list fresh.
On MovieLens a single fit at the split left the popularity of a 796-day holdout up to two
years stale (bench/notes/learned-sources.md).

``tune_window`` picks the popularity window on a validation slice (among multiples of the
log's median gap between a shopper's sessions) by how many of the slice's engaged products
the window's top ``depth`` at each decision's checkpoint would have found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.catalog import Catalog
from features.definitions import DAY
from features.state import UserState
from models.retrieval.candidates import ShopperSignals
from models.retrieval.collaborative import ItemKNN
from models.retrieval.content import ContentIndex
from models.retrieval.interactions import InteractionLog
from models.retrieval.learned import (
    DEFAULT_WINDOW_DAYS,
    HISTORY_HALF_LIFE,
    KNN_K,
    KNN_WIDTH,
    WINDOW_MULTIPLES,
    LearnedFit,
    ShopperHistory,
    fit_learned,
    learned_scores,
    neighbour_sum,
    window_popularity,
)
from models.retrieval.quota import CandidateQuota
from models.retrieval.time_scales import TimeScales

FloatArray = npt.NDArray[np.float64]
MAX_FITS = 4
POPULAR_CHECKPOINTS = 128
KNN_GRID = (50, 100, 500)  # the research's winners: 50 on MovieLens, 500 on the world
SESSION_GAP_SECONDS = 30 * 60.0


def median_session_gap_days(events: pd.DataFrame) -> float:
    """Median days between the starts of a shopper's consecutive sessions (30-min gaps)."""
    engaged = events[events["product_id"].notna()].sort_values(["user_id", "ts"], kind="stable")
    ts = engaged["ts"].to_numpy(np.float64)
    users = engaged["user_id"].astype(str).to_numpy()
    if len(ts) < 2:
        return 1.0
    same = users[1:] == users[:-1]
    gap = np.diff(ts)
    starts = np.concatenate([[True], ~same | (gap > SESSION_GAP_SECONDS)])
    start_ts, start_user = ts[starts], users[starts]
    between = np.diff(start_ts)[start_user[1:] == start_user[:-1]]
    return float(np.median(between)) / DAY if len(between) else 1.0


def popular_checkpoints(first: float, last: float) -> FloatArray:
    """Day boundaries from ``first`` to ``last``: daily, or span / ``POPULAR_CHECKPOINTS``."""
    step = max(np.ceil((last - first) / DAY / POPULAR_CHECKPOINTS), 1.0) * DAY
    start = np.floor(first / DAY) * DAY + DAY
    return np.arange(start, last + step, step)[: POPULAR_CHECKPOINTS + 1]


def checkpoint_of(times: FloatArray, ts: float, default: float) -> float:
    """The last of ``times`` at or before ``ts`` (``default`` when none is)."""
    i = int(np.searchsorted(times, ts, side="right")) - 1
    return float(times[i]) if i >= 0 else default


def tune_window(
    log: InteractionLog,
    at: float,
    engaged: Sequence[tuple[float, npt.NDArray[np.int64]]],
    gap_days: float,
    depth: int = 60,
    checkpoints: FloatArray | None = None,
) -> tuple[float, dict[float, float]]:
    """The window (days, multiples of ``gap_days``) whose popularity, fitted at ``at``
    (or at each decision's last ``checkpoints`` from ``at`` on), finds most of ``engaged``
    (each a decision's time and its engaged products) within its top ``depth``; with the
    found share per window tried."""
    gap = gap_days
    tried: dict[float, float] = {}
    relevant = sum(len(items) for _, items in engaged)
    times = np.zeros(0) if checkpoints is None else checkpoints[checkpoints >= at]
    for multiple in WINDOW_MULTIPLES:
        days = round(max(multiple * gap, 1.0), 1)
        tops: dict[float, npt.NDArray[np.int64]] = {}
        found = 0
        for ts, items in engaged:
            when = checkpoint_of(times, ts, at)
            if when not in tops:
                tops[when] = window_popularity(log, when, days)[0][:depth]
            found += int(np.isin(items, tops[when]).sum())
        tried[days] = found / max(relevant, 1)
    best = max(tried, key=lambda d: (tried[d], -d)) if tried else DEFAULT_WINDOW_DAYS
    return best, tried


@dataclass(frozen=True)
class LearnedTimeline:
    """Fits at ``times`` (sorted); ``fit_for(ts)`` is the last one at or before ``ts``."""

    fits: tuple[LearnedFit, ...]
    log: InteractionLog
    content: ContentIndex
    window_days: float
    k: int
    quota: CandidateQuota | None = None
    half_life: float = HISTORY_HALF_LIFE  # of the history's weights (``ShopperHistory``)
    # The window popularity refreshed at these times (sorted; empty: the fits' own).
    popular_at: tuple[float, ...] = ()
    populars: tuple[tuple[npt.NDArray[np.int64], FloatArray], ...] = ()

    @classmethod
    def build(
        cls,
        events: pd.DataFrame,
        catalog: Catalog,
        start: float,
        end: float,
        last: float,
        window_days: float = DEFAULT_WINDOW_DAYS,
        k: int = KNN_K,
        fits: int = MAX_FITS,
    ) -> LearnedTimeline:
        """``fits`` fits evenly over [start, end), the same spacing on up to ``last``."""
        step = max((end - start) / fits, DAY)
        times = np.arange(start, max(last, start) + step, step)[: fits * 3]
        log = InteractionLog.from_events(events, catalog)
        return cls.at_times(log, catalog, times.tolist(), window_days, k)

    @classmethod
    def at_times(
        cls,
        log: InteractionLog,
        catalog: Catalog,
        times: Sequence[float],
        window_days: float = DEFAULT_WINDOW_DAYS,
        k: int = KNN_K,
    ) -> LearnedTimeline:
        """One fit at each of ``times`` (sorted), from the events strictly before it."""
        return cls(
            fits=tuple(fit_learned(log, float(t), window_days, k) for t in times),
            log=log,
            content=ContentIndex().fit(catalog),
            window_days=window_days,
            k=k,
        )

    def with_k(self, k: int) -> LearnedTimeline:
        """The same fit times, window and quotas, item-kNN refitted with ``k``."""
        fits = tuple(fit_learned(self.log, f.at, self.window_days, k) for f in self.fits)
        return replace(self, fits=fits, k=k)

    def with_popular_checkpoints(self, times: Sequence[float]) -> LearnedTimeline:
        """The window popularity also refreshed at ``times`` (sorted)."""
        populars = tuple(window_popularity(self.log, float(t), self.window_days) for t in times)
        return replace(self, popular_at=tuple(float(t) for t in times), populars=populars)

    def popular_for(self, ts: float, fit: LearnedFit) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The freshest window popularity at ``ts``: a checkpoint's or ``fit``'s."""
        i = int(np.searchsorted(self.popular_at, ts, side="right")) - 1
        return self.populars[i] if i >= 0 and self.popular_at[i] > fit.at else fit.popular

    def fit_for(self, ts: float) -> LearnedFit | None:
        times = [f.at for f in self.fits]
        i = int(np.searchsorted(times, ts, side="right")) - 1
        return self.fits[i] if i >= 0 else None

    def signals(
        self, signals: ShopperSignals, state: UserState, catalog: Catalog
    ) -> ShopperSignals:
        """``signals`` with the learned sources scored as of ``state.at``."""
        fit = self.fit_for(state.at)
        if fit is None:
            return signals
        history = ShopperHistory.of(state, catalog, self.half_life)
        popular = self.popular_for(state.at, fit)
        scores = learned_scores(
            history, fit.knn_of(history.items), popular, self.content, self.quota
        )
        return replace(signals, learned=scores)


def _product_span(events: pd.DataFrame, default: float) -> tuple[float, float]:
    engaged_ts = events.loc[events["product_id"].notna(), "ts"].to_numpy(np.float64)
    if not len(engaged_ts):
        return default, default
    return float(engaged_ts.min()), float(engaged_ts.max())


def validation_start(events: pd.DataFrame, split_ts: float, share: float = 0.1) -> float:
    """The start of the validation slice: the last ``share`` of the product-event span
    before ``split_ts``."""
    start, _ = _product_span(events, split_ts)
    return split_ts - share * (split_ts - start)


def for_training(
    events: pd.DataFrame,
    catalog: Catalog,
    decision_ts: FloatArray,
    decision_items: Sequence[npt.NDArray[np.int64]],
    split_ts: float,
    validation: float,
    scales: TimeScales | None = None,
    span: tuple[float, float] | None = None,
    k: int = KNN_K,
) -> tuple[LearnedTimeline, dict[float, float]]:
    """The timeline a training run replays, its popularity window tuned on the validation
    slice [``validation``, ``split_ts``) (training decisions only: the held-out part is
    never looked at) among multiples of the log's median session gap
    (``scales``'s, else measured here), the history's half-life ``scales``'s recent one;
    with the found share per window tried. ``span``: the first and last product event's
    times, when ``events`` holds only the interactions (a Dask driver's). ``k`` 0: the
    fits hold no item-kNN yet (``with_k`` fits it once K is tuned: no fit thrown away)."""
    start, last = span if span is not None else _product_span(events, split_ts)
    rows = np.flatnonzero((decision_ts >= validation) & (decision_ts < split_ts))
    engaged = [(float(decision_ts[r]), decision_items[int(r)]) for r in rows]
    log = InteractionLog.from_events(events, catalog)
    gap = scales.median_gap if scales is not None else None
    gap_days = gap / DAY if gap else median_session_gap_days(events[events["ts"] < validation])
    checkpoints = popular_checkpoints(start, last)
    window, tried = tune_window(log, validation, engaged, gap_days, checkpoints=checkpoints)
    # Fits evenly along the training part, the last at the validation slice's start (its
    # decisions, which tune the quotas, see a fit as fresh as the holdout's), then one at
    # the split for the holdout (what serving has after a train there), the same spacing on.
    step = max((validation - start) / (MAX_FITS - 1), DAY)
    times = [start + step * i for i in range(1, MAX_FITS)]
    times += [t for t in np.arange(split_ts, last + 1.0, step).tolist() if t > times[-1]]
    timeline = LearnedTimeline.at_times(log, catalog, times[: MAX_FITS * 3], window, k)
    timeline = timeline.with_popular_checkpoints(checkpoints.tolist())
    if scales is not None:
        timeline = replace(timeline, half_life=scales.recent_half_life)
    return timeline, tried


def tune_k(
    log: InteractionLog,
    at: float,
    slice_: Sequence[tuple[ShopperHistory, npt.NDArray[np.int64]]],
    depth: int = 50,
) -> tuple[int, dict[int, float]]:
    """The item-kNN neighbourhood size (among ``KNN_GRID``) whose fit at ``at`` finds the
    most of each validation decision's products (``slice_``: history, products) within
    its top ``depth``; with the found share per size tried."""
    matrix = log.matrix_before(at)
    relevant = sum(len(items) for _, items in slice_)
    tried: dict[int, float] = {}
    if not matrix.nnz or not relevant:
        return KNN_K, tried
    n = log.n_products
    for k in KNN_GRID:
        index, score = ItemKNN(k=k).fit(matrix).neighbours(KNN_WIDTH)
        fit = LearnedFit(
            at, index, np.asarray(score, np.float64), popular=(index[:0, 0], np.zeros(0))
        )
        found = 0
        for history, items in slice_:
            scores = neighbour_sum(history, fit.knn_of(history.items), n)
            top = np.argsort(-scores, kind="stable")[:depth]
            found += int(np.isin(items, top[scores[top] > 0]).sum())
        tried[k] = found / relevant
    return max(tried, key=lambda k: (tried[k], -k)), tried
