"""The training set built by worker processes on this machine (``shopmode train --jobs``).

The sampled decisions are split by shopper into one part per worker, shoppers dealt
largest first to the part with the fewest decisions so far. A shopper's decisions stay in
one part; each part replays the product snapshots of its decisions' times (~2 s of CPU
per part on MovieLens), so more parts would cost more than they balance. Each worker,
forked from the process that replayed the log (the replay and the decisions are
inherited, never pickled), builds its part's rows with the same ``build_training_set``
and the same decision ids, and the parts are gathered back into decision order
(``concat_sets``). A decision's rows depend only on the decision (its own point-in-time
inputs and its own generator, seeded by its id), so the result is the single-process
training set row for row. One job, or a platform without ``fork``, is the
single-process build.
"""

from __future__ import annotations

import gc
import heapq
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.ranking.decisions import DecisionPoints
from models.ranking.features import RankingFeatures
from models.ranking.replay import Replay
from models.ranking.training_set import TrainingSet, build_training_set, concat_sets

IntArray = npt.NDArray[np.int64]
Progress = Callable[[int], None]

# Enough to keep the cores of a small machine busy; more processes only add replay set-up.
MAX_JOBS = 4


def default_jobs() -> int:
    """Worker processes for the build: the cores this process may run on, at most
    ``MAX_JOBS``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_JOBS))


@dataclass(frozen=True)
class _Work:
    replay: Replay
    points: DecisionPoints
    features: RankingFeatures
    negatives: int
    seed: int


# What forked workers inherit: set just before the pool forks them, cleared after.
_work: _Work | None = None


def _build_part(rows: IntArray) -> TrainingSet:
    """A worker task: the rows of the decisions ``rows`` (numbered as in the sample)."""
    work = _work
    assert work is not None, "parallel build workers must be forked from the builder"
    return build_training_set(
        work.replay,
        work.points.subset(rows),
        work.features,
        negatives=work.negatives,
        seed=work.seed,
        ids=rows,
    )


def shopper_parts(points: DecisionPoints, parts: int) -> list[IntArray]:
    """The decisions (rows of ``points``, in order) of each of at most ``parts`` parts:
    shoppers with the most decisions first, each to the part with the fewest so far."""
    shoppers, owner, counts = np.unique(
        points.user_id.astype(str), return_inverse=True, return_counts=True
    )
    load = [(0, p) for p in range(parts)]
    part_of = np.zeros(len(shoppers), dtype=np.int64)
    for shopper in np.argsort(-counts, kind="stable").tolist():
        total, p = heapq.heappop(load)
        part_of[shopper] = p
        heapq.heappush(load, (total + int(counts[shopper]), p))
    split = [np.flatnonzero(part_of[owner] == p).astype(np.int64) for p in range(parts)]
    return [rows for rows in split if len(rows)]


def build_in_processes(
    replay: Replay,
    points: DecisionPoints,
    features: RankingFeatures,
    negatives: int,
    seed: int,
    jobs: int,
    progress: Progress | None = None,
) -> TrainingSet:
    """``build_training_set`` over ``points`` in ``jobs`` forked processes (one: here)."""
    if jobs <= 1 or len(points) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return build_training_set(
            replay, points, features, negatives=negatives, seed=seed, progress=progress
        )
    global _work
    parts = shopper_parts(points, jobs)
    _work = _Work(replay, points, features, negatives, seed)
    # The workers share the parent's pages until they write them; a garbage collection
    # in a worker would write into every tracked object's header (copying the page), so
    # what exists now is left out of collections.
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(jobs, len(parts)), mp_context=context) as pool:
            futures = {pool.submit(_build_part, rows): len(rows) for rows in parts}
            built = []
            for future in as_completed(futures):
                built.append(future.result())
                if progress is not None:
                    progress(futures[future])
    finally:
        _work = None
        gc.unfreeze()
    return concat_sets(built)
