"""What runs on a worker for one shopper part: the offline engine over the part's events,
the part's contribution to the global inputs, and its rows of the training set.

The driver gathers each part's ``PartSummary``; the part's engine is built on a worker
for the summary and again for the rows, never shipped.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.catalog import Catalog
from features.folds import log_sum
from features.offline import OfflineFeatureEngine
from features.state import N_SLOTS, ProductFeatures
from models.ranking.decisions import DecisionPoints, decision_points, decision_times
from models.ranking.distributed.learned_parts import (
    INTERACTION_COLUMNS,
    engaged_sessions,
    interactions,
)
from models.ranking.distributed.partitions import read_part
from models.ranking.features import RankingFeatures
from models.ranking.fingerprint import event_hashes
from models.ranking.judgements import Judgements
from models.ranking.replay import HOUR, Replay, snapshot_seconds
from models.ranking.source_tuning import SliceInputs
from models.ranking.splits import _product_times
from models.ranking.training_set import TrainingSet, build_training_set
from models.retrieval.cooccurrence import CooccurrenceLog, sessions_of
from models.retrieval.learned_timeline import LearnedTimeline
from models.retrieval.text_match import QueryIndex
from models.retrieval.time_scales import TimeScales

IntArray = npt.NDArray[np.int64]


def product_hours(engine: OfflineFeatureEngine) -> pd.DataFrame:
    """The engine's product contributions summed per (hour, product, slot).

    Columns ``start`` (the hour's first second), ``position``, ``slot``, ``exponent``.
    A snapshot just before a mark (replay's marks are whole hours) is the sum of every
    earlier hour: these sums from all parts, summed again, are the global snapshots.
    """
    c = engine.contributions_.products
    ts = engine.events_["ts"].to_numpy(np.float64)[c["row"].to_numpy()]
    frame = pd.DataFrame(
        {
            "start": np.floor(ts / HOUR) * HOUR,
            "position": engine.catalog.index_of(c["product_id"].to_numpy(dtype=object)),
            "slot": c["slot"].to_numpy(np.int64),
            "exponent": c["exponent"].to_numpy(np.float64),
        }
    )
    return frame[frame["position"] >= 0].reset_index(drop=True)


def sum_product_hours(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Hourly product sums from several parts as one table, sorted by hour."""
    merged = pd.concat(frames, ignore_index=True)
    summed = log_sum(merged, ["start", "position", "slot"])
    return summed.sort_values("start", kind="stable").reset_index(drop=True)


class ShopperEngine(OfflineFeatureEngine):
    """The offline engine over one part's shoppers; product features, which need every
    shopper, come from the global hourly sums (``hours``) once they are known."""

    hours: pd.DataFrame | None = None

    def with_hours(self, hours: pd.DataFrame) -> ShopperEngine:
        view = copy.copy(self)
        view.hours = hours
        return view

    def product_features_at(self, times: np.ndarray) -> Iterator[ProductFeatures]:
        """Product features just before each mark in ``times`` (whole hours: what
        ``Replay`` asks)."""
        if self.hours is None:
            yield from super().product_features_at(times)
            return
        start = self.hours["start"].to_numpy(np.float64)
        positions = self.hours["position"].to_numpy(np.int64)
        slots = self.hours["slot"].to_numpy(np.int64)
        exponents = self.hours["exponent"].to_numpy(np.float64)
        log_sums = np.full((len(self.catalog), N_SLOTS), -np.inf)
        done = 0
        for at in np.asarray(times, dtype=np.float64):
            stop = int(np.searchsorted(start, at, side="right"))
            if stop > done:
                np.logaddexp2.at(
                    log_sums, (positions[done:stop], slots[done:stop]), exponents[done:stop]
                )
                done = stop
            yield ProductFeatures(
                at=float(at), positions=np.arange(len(self.catalog)), log_sums=log_sums.copy()
            )


@dataclass(frozen=True)
class PartSummary:
    """What the driver needs from a part to compute the global inputs."""

    part: int
    events: int
    first_ts: float
    last_ts: float
    hashes: npt.NDArray[np.uint64]
    points: DecisionPoints
    cooccurrence: CooccurrenceLog
    product_hours: pd.DataFrame
    session_starts: pd.DataFrame  # user, ts: each product session's start
    product_first_ts: float
    product_last_ts: float
    decision_times: npt.NDArray[np.float64]  # what ``choose_holdout`` counts
    holdout_first_ts: float  # product events as ``choose_holdout`` spans them
    holdout_last_ts: float
    interactions: pd.DataFrame  # what the learned sources fit on
    engaged_sessions: pd.DataFrame  # start, engaged: what the validation slice counts


def empty_points() -> DecisionPoints:
    return DecisionPoints(
        user_id=np.zeros(0, dtype=object),
        ts=np.zeros(0),
        query=[],
        truth=Judgements(items=[], gains=[]),
    )


def session_starts(events: pd.DataFrame) -> pd.DataFrame:
    """(user, ts) of each shopper's product sessions, as ``TimeScales.from_events`` finds
    them (a session's start does not depend on events after it, so the driver can cut
    these at the split)."""
    engaged = events[events["product_id"].notna()]
    engaged = engaged.sort_values(["user_id", "ts"], kind="stable")
    frame = pd.DataFrame(
        {
            "user": engaged["user_id"].to_numpy(),
            "session": sessions_of(engaged),
            "ts": engaged["ts"],
        }
    )
    starts = frame.groupby(["user", "session"], sort=False)["ts"].min().reset_index()
    return starts[["user", "ts"]]


def no_pairs(n_products: int) -> CooccurrenceLog:
    nothing = np.zeros(0)
    return CooccurrenceLog(
        n_products, nothing.astype(np.int64), nothing.astype(np.int64), nothing, nothing
    )


def summarise_part(root: Path, part: int, catalog: Catalog) -> PartSummary:
    """A worker task: one part's events replayed and summarised (the engine is dropped:
    a worker holds one part at a time, so its memory follows the part's size)."""
    raw = read_part(root, part)
    if raw.empty:
        return PartSummary(
            part=part,
            events=0,
            first_ts=np.inf,
            last_ts=-np.inf,
            hashes=np.zeros(0, dtype=np.uint64),
            points=empty_points(),
            cooccurrence=no_pairs(len(catalog)),
            product_hours=pd.DataFrame(columns=["start", "position", "slot", "exponent"]),
            session_starts=pd.DataFrame({"user": [], "ts": []}),
            product_first_ts=np.inf,
            product_last_ts=-np.inf,
            decision_times=np.zeros(0),
            holdout_first_ts=np.inf,
            holdout_last_ts=-np.inf,
            interactions=pd.DataFrame(columns=INTERACTION_COLUMNS),
            engaged_sessions=pd.DataFrame({"start": [], "engaged": []}),
        )
    engine = OfflineFeatureEngine(raw, catalog)
    events = engine.events_
    product_ts = events.loc[events["product_id"].notna(), "ts"].to_numpy(np.float64)
    holdout_ts = _product_times(events)
    return PartSummary(
        part=part,
        events=len(raw),
        first_ts=float(raw["ts"].min()),
        last_ts=float(raw["ts"].max()),
        hashes=event_hashes(raw),
        points=decision_points(engine.events_, catalog),
        cooccurrence=CooccurrenceLog.from_events(engine.events_, catalog),
        product_hours=product_hours(engine),
        session_starts=session_starts(engine.events_),
        product_first_ts=float(product_ts.min()) if len(product_ts) else np.inf,
        product_last_ts=float(product_ts.max()) if len(product_ts) else -np.inf,
        decision_times=decision_times(events),
        holdout_first_ts=float(holdout_ts.min()) if len(holdout_ts) else np.inf,
        holdout_last_ts=float(holdout_ts.max()) if len(holdout_ts) else -np.inf,
        interactions=interactions(events),
        engaged_sessions=engaged_sessions(events),
    )


@dataclass(frozen=True)
class LogWide:
    """What a part's replay needs from the whole log, scattered once to every worker."""

    hours: pd.DataFrame
    cooccurrence: CooccurrenceLog
    query_index: QueryIndex
    scales: TimeScales
    first_ts: float  # the span of product activity
    last_ts: float
    learned: LearnedTimeline | None = None


def part_replay(engine: ShopperEngine, catalog: Catalog, whole: LogWide) -> Replay:
    """``Replay`` over one part with the whole log's cadence: its snapshot and checkpoint
    marks follow the span of the whole log's product activity, not the part's."""
    replay = Replay(
        engine.with_hours(whole.hours),
        catalog,
        whole.cooccurrence,
        whole.query_index,
        scales=whole.scales,
        learned=whole.learned,
    )
    replay.first_ts, replay.last_ts = whole.first_ts, whole.last_ts
    replay.snapshot_seconds = snapshot_seconds(whole.first_ts, whole.last_ts)
    return replay


def part_rows(
    root: Path,
    part: int,
    catalog: Catalog,
    points: DecisionPoints,
    ids: IntArray,
    whole: LogWide,
    negatives: int,
    seed: int,
) -> TrainingSet:
    """A worker task: the training rows of one part's sampled decisions (``ids``: their
    numbers in the whole sample), by the single-process ``build_training_set`` over the
    part's engine (built again here rather than kept since the summary: one part's
    engine in memory at a time)."""
    replay = part_replay(ShopperEngine(read_part(root, part), catalog), catalog, whole)
    return build_training_set(
        replay, points, RankingFeatures(catalog), negatives=negatives, seed=seed, ids=ids
    )


def part_slice(
    root: Path,
    part: int,
    catalog: Catalog,
    points: DecisionPoints,
    ids: IntArray,
    whole: LogWide,
) -> list[SliceInputs]:
    """A worker task: one part's validation decisions replayed for quota tuning (``ids``:
    their numbers in the slice's sample)."""
    replay = part_replay(ShopperEngine(read_part(root, part), catalog), catalog, whole)
    return [SliceInputs.of(inputs, row=int(ids[inputs.row])) for inputs in replay(points)]
