"""World generation speed: events per second and peak memory.

    python -m bench.bench_generate [--quick]

Generates worlds of growing size, each in a fresh process (so peak RSS belongs to that
world alone), and reports events/s with and without impressions, peak memory and the
size of the files. The baseline in the same run is the cost of only writing the same
event log to Parquet: the simulation's overhead over plain I/O is the figure to watch.
Prints a table and JSON; writes bench/results/generate.json
(generate-quick.json with --quick). Asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.output import report

TARGET_EVENTS_PER_S = 100_000
# (label, users, products, days): the last full size is about a million events.
FULL = [("default", 10_000, 2_000, 28), ("1M events", 14_000, 3_000, 28)]
QUICK = [("quick-small", 1_000, 300, 14), ("quick", 3_000, 800, 28)]


def _measure(size: tuple[str, int, int, int]) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from world.config import WorldConfig
    from world.generate import generate_world

    label, users, products, days = size
    with tempfile.TemporaryDirectory(prefix="bench-world-") as tmp:
        out = Path(tmp) / "world"
        began = time.perf_counter()
        summary = generate_world(
            WorldConfig(users=users, products=products, days=days, seed=1), out
        )
        seconds = time.perf_counter() - began
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        files_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
        events = pq.read_table(out / "events.parquet")
        began = time.perf_counter()
        pq.write_table(events, Path(tmp) / "copy.parquet", row_group_size=256 * 1024)
        write_only = time.perf_counter() - began
    impressions = summary.events_by_type.get("impression", 0)
    return {
        "label": label,
        "users": users,
        "products": products,
        "days": days,
        "events": summary.events,
        "impressions": impressions,
        "purchases": summary.events_by_type.get("purchase", 0),
        "seconds": round(seconds, 3),
        "events_per_s": round(summary.events / seconds),
        "non_impression_events_per_s": round((summary.events - impressions) / seconds),
        "write_only_seconds": round(write_only, 3),
        "peak_rss_mb": round(peak_mb, 1),
        "files_mb": round(files_mb, 1),
    }


def run(quick: bool) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    rows = []
    for size in QUICK if quick else FULL:
        with context.Pool(1) as pool:
            rows.append(pool.apply(_measure, (size,)))
    return {"target_events_per_s": TARGET_EVENTS_PER_S, "quick": quick, "runs": rows}


def _table(result: dict[str, Any]) -> str:
    header = (
        f"{'world':<12}{'events':>11}{'non-impr.':>11}{'seconds':>9}{'events/s':>11}"
        f"{'non-impr./s':>13}{'write-only s':>14}{'peak MB':>9}{'files MB':>10}"
    )
    lines = [header, "-" * len(header)]
    for r in result["runs"]:
        lines.append(
            f"{r['label']:<12}{r['events']:>11,}{r['events'] - r['impressions']:>11,}"
            f"{r['seconds']:>9.2f}{r['events_per_s']:>11,}{r['non_impression_events_per_s']:>13,}"
            f"{r['write_only_seconds']:>14.2f}{r['peak_rss_mb']:>9.0f}{r['files_mb']:>10.1f}"
        )
    lines.append(f"target: {result['target_events_per_s']:,} events/s (all events)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small worlds, a few seconds")
    args = parser.parse_args()
    result = run(args.quick)
    report("generate", result, _table(result), quick=args.quick)


if __name__ == "__main__":
    main()
