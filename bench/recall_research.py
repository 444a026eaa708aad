"""Research for issue #10: what raises the recall of held-out purchases among <= 200
candidates, and how far any method here gets (bench/notes/learned-sources.md).

Run after ``shopmode ingest`` and ``shopmode train`` under the same ``SHOPMODE_HOME``:

    python -m bench.recall_research validation   # tune on the validation slice only
    python -m bench.recall_research holdout      # the shipped retrieval and the peers' bound

``validation``: the decisions of the validation slice (the training part's last 10%,
carved as ``shopmode train`` carves it; the holdout is not read), seen products excluded
before the cut or not; the shipped sources' quotas and extra ranked lists (peer models
refitted 4 times along the slice, window popularity at several lengths, popularity within
the shopper's whole-history categories, "popular among shoppers like you") are given
slots greedily, 25 at a time, while the mean candidate count stays within 200.

``holdout``: the shipped retrieval (seen excluded before the cut, as ``shopmode evaluate
--exclude-seen`` and a request with ``exclude_seen`` do) against each peer's top 200
(tuned on validation by NDCG@10, as ``evaluate`` tunes them) and their union.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
import numpy.typing as npt

import models.evaluation.peer_scorers as peer_scorers
from bench.recall_lists import extra_lists
from models.evaluation.peers import PeerSettings, peers_for
from models.evaluation.scoring import unseen_mask
from models.ranking.decisions import DecisionPoints
from models.ranking.registry import load_current
from models.ranking.splits import validation_split
from models.ranking.training import Prepared, prepare, sample
from models.retrieval.candidates import candidates_for
from models.retrieval.interactions import histories_at
from models.retrieval.quota import CandidateQuota
from models.retrieval.quota_tuning import TUNED
from service.cli.common import settings, store_runner
from service.cli.evaluate import log_of

IntArray = npt.NDArray[np.int64]
BUDGET = 200
STEP = 25
STEPS = tuple(range(0, BUDGET + 1, STEP))
PURCHASE = 3.0


def load() -> Prepared:
    config = settings()
    with store_runner(config) as store:
        model = load_current(store, config.models_dir)
        log = log_of(store, config, model, None)
    prepared = prepare(log, model.metadata.test_days)
    prepared.replay.scales = model.scales
    return prepared


def recall(lists: list[IntArray], points: DecisionPoints) -> dict[str, float]:
    found = bought = found_all = relevant = size = 0
    for got, items, gains in zip(lists, points.truth.items, points.truth.gains, strict=True):
        hit = np.isin(items, got)
        buy = gains >= PURCHASE
        found += int((hit & buy).sum())
        bought += int(buy.sum())
        found_all += int(hit.sum())
        relevant += len(items)
        size += len(got)
    return {
        "purchase_recall": found / max(bought, 1),
        "recall": found_all / max(relevant, 1),
        "mean_candidates": size / max(len(lists), 1),
    }


def shipped_sets(
    prepared: Prepared, points: DecisionPoints, exclude_seen: bool
) -> tuple[dict[str, list[list[IntArray]]], list[IntArray], CandidateQuota]:
    """Per tuned source and per step, the products that source alone proposes at each
    decision; the rest of the shipped sources' union (fixed quotas); the shipped quota."""
    events = prepared.engine.events_
    catalog = prepared.log.catalog
    histories = histories_at(events, catalog, points.user_id, points.ts)
    learned = prepared.replay.learned
    shipped = learned.quota if learned is not None and learned.quota else CandidateQuota()
    zero = replace(shipped, **dict.fromkeys(TUNED, 0))
    per: dict[str, list[list[IntArray]]] = {name: [] for name in TUNED}
    base: list[IntArray] = []
    for inputs in prepared.replay(points):
        row = inputs.row
        seen = histories.indices[histories.indptr[row] : histories.indptr[row + 1]]
        allowed = unseen_mask(seen, len(catalog)) if exclude_seen and len(seen) else None
        signals = inputs.signals
        if signals.learned is not None:
            signals = replace(signals, learned=replace(signals.learned, quota=None))
        nb = inputs.neighbour_map()
        snap, query = inputs.snapshot, inputs.query_scores

        def got(quota: CandidateQuota) -> IntArray:
            return candidates_for(
                signals,  # noqa: B023 (called inside this iteration only)
                snap,  # noqa: B023
                nb,  # noqa: B023
                query,  # noqa: B023
                quota,
                allowed,  # noqa: B023
                with_features=False,
            ).products

        base.append(got(zero))
        for name in TUNED:
            per[name].append([got(replace(zero, **{name: q})) for q in STEPS])
    return per, base, shipped


def union_of(
    quota: dict[str, int],
    per: dict[str, list[list[IntArray]]],
    base: list[IntArray],
    extras: dict[str, IntArray],
) -> list[IntArray]:
    out = []
    for d in range(len(base)):
        parts = [base[d]]
        for name, q in quota.items():
            if q == 0:
                continue
            if name in per:
                parts.append(per[name][d][STEPS.index(q)])
            else:
                row = extras[name][d][:q]
                parts.append(row[row >= 0])
        out.append(np.unique(np.concatenate(parts)))
    return out


def greedy(
    names: list[str],
    start: dict[str, int],
    per: dict[str, list[list[IntArray]]],
    base: list[IntArray],
    extras: dict[str, IntArray],
    points: DecisionPoints,
) -> tuple[dict[str, int], dict[str, float]]:
    quota = dict(start)
    best = recall(union_of(quota, per, base, extras), points)
    while True:
        trials = []
        for name in names:
            if quota.get(name, 0) + STEP > BUDGET:
                continue
            q = {**quota, name: quota.get(name, 0) + STEP}
            got = recall(union_of(q, per, base, extras), points)
            if got["mean_candidates"] <= BUDGET:
                trials.append((got["purchase_recall"], got["recall"], q, got))
        if not trials:
            return quota, best
        top = max(trials, key=lambda t: (t[0], t[1]))
        if (top[0], top[1]) <= (best["purchase_recall"], best["recall"]):
            return quota, best
        quota, best = top[2], top[3]


def validation(args: argparse.Namespace) -> dict[str, object]:
    prepared = load()
    events = prepared.engine.events_
    carved = validation_split(events, prepared.split)
    train = prepared.train
    rows = np.flatnonzero((train.ts >= carved.start_ts) & (train.ts < carved.end_ts))
    points = sample(train.subset(rows), args.limit, 0)
    print(f"validation slice: {len(points)} decisions from {carved.start_ts:.0f}", flush=True)
    report: dict[str, object] = {"decisions": len(points)}
    t0 = time.perf_counter()
    extras = extra_lists(prepared, points, carved.start_ts, prepared.split_ts)
    print(f"extras {time.perf_counter() - t0:.0f} s", flush=True)
    report["extra_alone"] = {
        name: recall([r[r >= 0] for r in lists], points) for name, lists in extras.items()
    }
    ext = list(extras)
    for exclude in (False, True):
        t0 = time.perf_counter()
        per, base, shipped = shipped_sets(prepared, points, exclude)
        key = "seen_excluded" if exclude else "seen_kept"
        shipped_q = {name: getattr(shipped, name) for name in TUNED}
        shipped_q = {n: min(STEPS, key=lambda s: abs(s - q)) for n, q in shipped_q.items()}
        part: dict[str, object] = {
            "shipped_quota": shipped_q,
            "shipped": recall(union_of(shipped_q, per, base, {}), points),
        }
        q, r = greedy(list(TUNED), {}, per, base, {}, points)
        part["retuned"] = {"quota": q, **r}
        q, r = greedy([*TUNED, *ext], {}, per, base, extras, points)
        part["with_extras"] = {"quota": q, **r}
        report[key] = part
        print(key, json.dumps(part), f"{time.perf_counter() - t0:.0f} s", flush=True)
    return report


def holdout(args: argparse.Namespace) -> dict[str, object]:
    prepared = load()
    points = sample(prepared.test, 5000, 0)
    per, base, shipped = shipped_sets(prepared, points, True)
    shipped_q = {name: getattr(shipped, name) for name in TUNED}
    shipped_q = {n: min(STEPS, key=lambda s: abs(s - q)) for n, q in shipped_q.items()}
    ours = union_of(shipped_q, per, base, {})
    report: dict[str, object] = {"decisions": len(points), "shipped": recall(ours, points)}
    peer_scorers.DEPTH = BUDGET  # each peer's top 200 instead of its top 50
    found = peers_for(prepared, points, PeerSettings(exclude_seen=True))
    lists = {name: [r[r >= 0] for r in matrix] for name, matrix in found.lists.items()}
    report["peers"] = {name: recall(rows, points) for name, rows in lists.items()}
    union = [np.unique(np.concatenate(parts)) for parts in zip(*lists.values(), strict=True)]
    report["peers_union"] = recall(union, points)
    both = [np.unique(np.concatenate([a, b])) for a, b in zip(union, ours, strict=True)]
    report["peers_union_and_shipped"] = recall(both, points)
    first = np.array([len(r) == 0 for r in histories_rows(prepared, points)])
    bought = np.array([int((g >= PURCHASE).sum()) for g in points.truth.gains])
    report["first_visits"] = {
        "sessions": int(first.sum()),
        "purchases": int(bought[first].sum()),
        "all_purchases": int(bought.sum()),
    }
    return report


def histories_rows(prepared: Prepared, points: DecisionPoints) -> list[IntArray]:
    h = histories_at(prepared.engine.events_, prepared.log.catalog, points.user_id, points.ts)
    return [h.indices[h.indptr[i] : h.indptr[i + 1]] for i in range(len(points))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("validation", "holdout"))
    parser.add_argument("--limit", type=int, default=2000, help="validation decisions at most")
    parser.add_argument("--out", default=None, help="write the JSON report here too")
    args = parser.parse_args()
    report = validation(args) if args.part == "validation" else holdout(args)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
