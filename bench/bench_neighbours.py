"""Co-occurrence neighbours for every training decision day: today's rebuild vs the timeline.

    python -m bench.bench_neighbours --data DIR [--sample-days 150] [--max-checkpoints 128]

Times, over the distinct days of the log's engaged sessions (what ``Replay`` walks):
``CooccurrenceLog.as_of(day)`` (today: all pairs so far into a sparse matrix, then a Python
loop over every product; timed on ``--sample-days`` evenly spaced days and scaled to all
of them, since a day's cost grows with the pairs known), ``NeighbourTimeline`` with daily
checkpoints (``--daily``; the same neighbours) and with at most ``--max-checkpoints``; checks
on 20 of the sampled days that daily checkpoints give today's neighbours.
Prints JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.peers_sources import allow_old_events, load, sessions
from models.retrieval.cooccurrence import CooccurrenceLog
from models.retrieval.neighbour_timeline import DAY, NeighbourTimeline


def _asked_per_day(events: Any, catalog: Any, days: np.ndarray) -> list[list[int]]:
    """A stand-in for the products replay asks neighbours of on each day (the decisions'
    recent items): every product engaged that day, at most 2,000."""
    engaged = events[events["type"].isin(["view", "click", "add_to_cart", "purchase"])]
    position = catalog.index_of(engaged["product_id"].astype(str))
    day = np.floor(engaged["ts"].to_numpy(np.float64) / DAY) * DAY
    by_day = pd.Series(position).groupby(day).apply(lambda p: sorted(set(p[p >= 0].tolist())))
    return [list(by_day.get(d, []))[:2000] for d in days]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--sample-days", type=int, default=150)
    parser.add_argument("--max-checkpoints", type=int, default=128)
    parser.add_argument(
        "--daily", action="store_true", help="Also time daily checkpoints (slow on long logs)."
    )
    args = parser.parse_args(argv)
    allow_old_events()
    events, catalog = load(args.data)
    began = time.perf_counter()
    log = CooccurrenceLog.from_events(events, catalog)
    pairs_seconds = time.perf_counter() - began
    points = sessions(events, catalog, "gap")
    days = np.unique(np.floor(points.ts / DAY) * DAY)
    sample = days[np.linspace(0, len(days) - 1, min(args.sample_days, len(days))).astype(int)]
    began = time.perf_counter()
    for day in sample:
        log.as_of(float(day))
    today_per_day = (time.perf_counter() - began) / len(sample)
    print(json.dumps({"today_seconds_per_day": today_per_day}), file=sys.stderr, flush=True)
    first, last = float(points.ts.min()), float(points.ts.max())
    asked = _asked_per_day(events, catalog, days)
    result = {
        "data": str(args.data),
        "events": len(events),
        "products": len(catalog),
        "pairs": len(log.a),
        "decision_days": len(days),
        "pairs_seconds": pairs_seconds,
        "today_seconds_per_day": today_per_day,
        "today_seconds_all_days_estimated": today_per_day * len(days),
    }
    runs = [("timeline_capped", args.max_checkpoints)]
    if args.daily:
        runs.append(("timeline_daily", 10**9))
    for name, cap in runs:
        timeline = NeighbourTimeline(log, first, last, max_checkpoints=cap)
        began = time.perf_counter()
        for day, recent in zip(days, asked, strict=True):
            rows = timeline.as_of(float(day))
            for product in recent:
                rows.of(product)
        result[f"{name}_seconds"] = time.perf_counter() - began
        result[f"{name}_rebuilds"] = timeline.rebuilds
        print(json.dumps({name: result[f"{name}_seconds"]}), file=sys.stderr, flush=True)
    check = NeighbourTimeline(log, first, last, max_checkpoints=10**9)
    same = all(
        np.array_equal(check.as_of(float(d)).table().index, log.as_of(float(d)).index)
        for d in sample[:20]
    )
    result["timeline_daily_equals_today_on_20_days"] = same
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
