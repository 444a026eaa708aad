"""Training with the point-in-time training set built on a Dask cluster.

The driver (the ``shopmode train`` process) never holds the event log when it is
Parquet: workers split it into shopper parts, replay each part, and send back only what
the global inputs need and, at the end, their training rows. The sampled training set
(at most ``max_train_decisions`` decisions × (positives + ``negatives``) rows, ~20 MB at
the defaults) is gathered and fitted on the driver by the same ``fit_ranker`` as the
single-process path: the sample, not the log, bounds its size, so a distributed
booster would only add network rounds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from distributed import Client, Future, as_completed

from features.catalog import Catalog
from models.ranking.decisions import DecisionPoints, split_decisions
from models.ranking.distributed.cluster import worker_count
from models.ranking.distributed.global_inputs import (
    holdout,
    merge_cooccurrence,
    merge_points,
    time_scales,
)
from models.ranking.distributed.learned_parts import fit_timeline, tune_timeline, validation_of
from models.ranking.distributed.partitions import (
    chunks_of,
    shopper_part,
    split_file_chunk,
    write_chunk,
)
from models.ranking.distributed.shopper_parts import (
    LogWide,
    PartSummary,
    part_rows,
    part_slice,
    sum_product_hours,
    summarise_part,
)
from models.ranking.fingerprint import fingerprint_of
from models.ranking.source_tuning import SliceInputs
from models.ranking.splits import Split
from models.ranking.training import (
    EventLog,
    Stage,
    TrainConfig,
    TrainedModel,
    check_rows,
    model_from_rows,
    sample,
)
from models.ranking.training_set import concat_sets
from models.retrieval.cooccurrence import CooccurrenceLog
from models.retrieval.learned_timeline import LearnedTimeline
from models.retrieval.text_match import QueryIndex
from models.retrieval.time_scales import TimeScales


@dataclass(frozen=True)
class DaskLog:
    """A log for the cluster: a Parquet file the workers read (``events_path``) or a frame
    the driver already holds (``frame``: CSV, JSON Lines, the store's log), with the
    users file's declared interests (``declared``) ahead of it, as ``read_log`` puts them."""

    catalog: Catalog
    events_path: Path | None = None
    frame: pd.DataFrame | None = None
    declared: pd.DataFrame | None = None
    data_dir: Path | None = None
    events_source: str | None = None
    catalog_source: str | None = None


@dataclass(frozen=True)
class DaskTrained:
    model: TrainedModel
    cooccurrence: CooccurrenceLog
    scales: TimeScales
    learned: LearnedTimeline | None
    train_decisions: int
    test_decisions: int


@contextmanager
def _timed(seconds: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    seconds[name] = time.perf_counter() - start


def _wait_all(futures: list[Future[Any]], advance: Callable[[int], None] | None) -> list[Any]:
    for _ in as_completed(futures):
        if advance is not None:
            advance(1)
    return list(futures[0].client.gather(futures)) if futures else []


def partition_log(client: Client, log: DaskLog, root: Path, parts: int) -> int:
    """The log written under ``root`` as ``parts`` shopper parts; the number of chunks."""
    chunk = 0
    if log.declared is not None and len(log.declared):
        write_chunk(log.declared, root, chunk, parts)
        chunk += 1
    if log.frame is not None:
        write_chunk(log.frame, root, chunk, parts)
        return chunk + 1
    if log.events_path is None:
        raise ValueError("a DaskLog needs events_path or frame")
    futures = [
        client.submit(split_file_chunk, log.events_path, groups, root, chunk + i, parts, pure=False)
        for i, groups in enumerate(chunks_of(log.events_path))
    ]
    client.gather(futures)
    return chunk + len(futures)


def learned_sources(
    client: Client,
    root: Path,
    log: DaskLog,
    summaries: list[PartSummary],
    whole: LogWide,
    split: Split,
    points: DecisionPoints,
    train: DecisionPoints,
) -> tuple[LearnedTimeline, dict[str, Any]]:
    """``fit_learned_sources`` from the parts: the timeline fitted on the driver from their
    interactions, K and the quotas tuned on the slice replayed by the shoppers' parts."""
    parts = len(summaries)
    product_first = min(s.product_first_ts for s in summaries)
    validation = validation_of(
        [s.engaged_sessions for s in summaries],
        product_first,
        min(s.holdout_first_ts for s in summaries),
        split,
    )
    timeline, window = fit_timeline(
        [s.interactions for s in summaries],
        log.catalog,
        points,
        split,
        validation,
        whole.scales,
        (product_first, max(s.product_last_ts for s in summaries)),
    )
    catalog = client.scatter(log.catalog, broadcast=True)
    scattered = client.scatter(whole, broadcast=True)

    def replay_slice(sliced: DecisionPoints) -> list[SliceInputs]:
        tasks = _submit_by_part(client, part_slice, sliced, parts, root, catalog, scattered)
        return [inputs for part in client.gather(tasks) for inputs in part]

    timeline, tuned = tune_timeline(timeline, log.catalog, train, validation, replay_slice)
    return timeline, {**tuned, **window}


def train_on_dask(
    client: Client,
    log: DaskLog,
    config: TrainConfig,
    work_dir: Path,
    parts: int,
    progress: Stage | None = None,
) -> DaskTrained:
    """Train as ``train_ranker`` does, the training set built by ``client``'s workers."""
    seconds: dict[str, float] = {}
    root = work_dir / "shopper-parts"
    with _timed(seconds, "dask_partition"):
        partition_log(client, log, root, parts)
    with _timed(seconds, "dask_scan"):
        catalog = client.scatter(log.catalog, broadcast=True)
        advance = progress("replaying shopper parts", parts) if progress else None
        summaries = _wait_all(
            [client.submit(summarise_part, root, p, catalog, pure=False) for p in range(parts)],
            advance,
        )
    with _timed(seconds, "dask_global"):
        split = holdout(summaries, config.test_days)
        split_ts = split.start_ts
        points = merge_points([s.points for s in summaries])
        train, test = split_decisions(points, split_ts)
        sampled = sample(train, config.max_train_decisions, config.seed)
        cooccurrence = merge_cooccurrence([s.cooccurrence for s in summaries])
        scales = time_scales([s.session_starts for s in summaries], split_ts)
        product_first = min(s.product_first_ts for s in summaries)
        product_last = max(s.product_last_ts for s in summaries)
        whole = LogWide(
            hours=sum_product_hours([s.product_hours for s in summaries]),
            cooccurrence=cooccurrence,
            query_index=QueryIndex(log.catalog),
            scales=scales,
            first_ts=product_first if np.isfinite(product_first) else 0.0,
            last_ts=product_last if np.isfinite(product_last) else 0.0,
        )
        data_fingerprint = fingerprint_of([s.hashes for s in summaries])
    with _timed(seconds, "dask_learned_sources"):
        learned, tuned = learned_sources(client, root, log, summaries, whole, split, points, train)
        del summaries, points
        whole = replace(whole, learned=learned)
        scattered = client.scatter(whole, broadcast=True)
    with _timed(seconds, "dask_build"):
        tasks = _submit_by_part(
            client,
            part_rows,
            sampled,
            parts,
            root,
            catalog,
            scattered,
            config.negatives,
            config.seed,
        )
        advance = progress("building training set", len(tasks)) if progress else None
        training = concat_sets(_wait_all(tasks, advance))
        check_rows(training)
    del tasks, scattered, catalog, whole
    source = EventLog(
        events=pd.DataFrame(),
        catalog=log.catalog,
        data_dir=log.data_dir,
        events_source=log.events_source,
        catalog_source=log.catalog_source,
    )
    model = model_from_rows(
        training,
        config,
        log=source,
        split=split,
        seconds=seconds,
        data_fingerprint=data_fingerprint,
        scales=scales,
        learned=learned,
        tuned=tuned,
        progress=progress,
    )
    # Where the rows were built (the fit is always on the driver).
    model.metadata["metrics"]["dask_workers"] = float(worker_count(client))
    model.metadata["metrics"]["dask_parts"] = float(parts)
    return DaskTrained(
        model=model,
        cooccurrence=cooccurrence,
        scales=scales,
        learned=learned,
        train_decisions=len(train),
        test_decisions=len(test),
    )


def _submit_by_part(
    client: Client,
    task: Callable[..., Any],
    points: DecisionPoints,
    parts: int,
    root: Any,
    catalog: Any,
    scattered: Any,
    *extra: Any,
) -> list[Any]:
    """One ``task(root, part, catalog, its decisions, their rows, scattered, *extra)`` per
    shopper part that owns any of ``points``."""
    owner = shopper_part(pd.Series(points.user_id, dtype=object), parts)
    tasks = []
    for p in range(parts):
        rows = np.flatnonzero(owner == p).astype(np.int64)
        if len(rows):
            tasks.append(
                client.submit(
                    task, root, p, catalog, points.subset(rows), rows, scattered, *extra, pure=False
                )
            )
    return tasks
