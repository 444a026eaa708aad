"""Training time against log size, on both shapes of log: synthetic worlds and a real one.

    python -m bench.bench_train_scaling [--quick] [--baseline /work/main] [--skip-movielens]

Shapes: generated worlds (2,000 products, 28 days; 3,500 / 7,000 / 15,000 shoppers, about
0.25 / 0.5 / 1.1 M events, seed 5, the 1.1 M one is ``bench_train``'s) and the MovieLens
sample (``bench.movielens``: 671 shoppers over 21 years) restricted to 25 / 50 / 100% of its
shoppers (a seeded draw), held out as ``--test-days 365``. Data is written once (not
timed); each training runs in a fresh process: read the log, prepare (feature engine,
decisions, co-occurrence pairs), build the point-in-time training set, fit. Per-stage
seconds come from the model metadata (``*_seconds`` metrics), with the load average.

``--baseline DIR`` trains the same worlds with another checkout's code (e.g. main's at
/work/main) in the same run; ``--baseline-movielens`` also the smallest MovieLens subset
(code before the checkpointed replay takes many minutes there). Prints JSON and a table; writes
bench/results/train_scaling.json. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent
WORLD_SHOPPERS = (3_500, 7_000, 15_000)
QUICK_SHOPPERS = (1_000, 2_000)
SHOPPER_SHARES = (0.25, 0.5, 1.0)
QUICK_SHARES = (0.25, 0.5)
MOVIELENS_TEST_DAYS = 365
WORLD_TEST_DAYS = 7


def _worker(data: Path, test_days: int) -> dict[str, Any]:
    """Train once on ``data`` with whatever code is importable; per-stage seconds."""
    import pandas as pd

    from features.catalog import Catalog
    from features.ingest import interest_events, read_events
    from models.ranking.training import EventLog, TrainConfig, prepare, train_ranker

    started = time.perf_counter()
    events = read_events(data / "events.parquet")
    users = data / "users.parquet"
    if users.exists():
        events = pd.concat([interest_events(pd.read_parquet(users)), events], ignore_index=True)
    log = EventLog(events=events, catalog=Catalog.read(data / "catalog.parquet"), data_dir=data)
    read_seconds = time.perf_counter() - started
    prepared = prepare(log, test_days=test_days)
    trained = train_ranker(prepared, TrainConfig())
    total = time.perf_counter() - started
    metrics = trained.metadata["metrics"]
    product_ts = events.loc[events["product_id"].notna(), "ts"]
    stages = {"read": read_seconds}
    for name in ("feature_engine", "decisions_and_cooccurrence", "build", "fit"):
        stages[name] = float(metrics.get(f"{name}_seconds", float("nan")))
    return {
        "events": len(events),
        "shoppers": int(events["user_id"].nunique()),
        "products": len(log.catalog),
        "span_days": float(product_ts.max() - product_ts.min()) / 86_400.0,
        "train_decisions": int(metrics["train_decisions"]),
        "seconds": {k: round(v, 2) for k, v in stages.items()},
        "total_seconds": round(total, 2),
        "cpu_seconds": round(time.process_time(), 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "time_scales": trained.metadata.get("time_scales"),
    }


def _run(data: Path, test_days: int, code: Path) -> dict[str, Any]:
    """``_worker`` in a fresh process with ``code``'s packages first on the path."""
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    load_before = os.getloadavg()[0]
    out = subprocess.run(
        [sys.executable, str(HERE), "--worker", str(data), "--test-days", str(test_days)],
        cwd=tempfile.gettempdir(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1:] or ["failed"]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["load_average_before"] = round(load_before, 2)
    return result


def _worlds(root: Path, shoppers: tuple[int, ...]) -> list[tuple[str, Path]]:
    from world.config import WorldConfig
    from world.generate import generate_world

    out = []
    for n in shoppers:
        path = root / f"world-{n}"
        if not (path / "events.parquet").exists():
            generate_world(WorldConfig(seed=5, users=n, products=2_000, days=28), path)
        out.append((f"world {n:,} shoppers", path))
    return out


def _movielens(root: Path, shares: tuple[float, ...]) -> list[tuple[str, Path]]:
    import numpy as np
    import pandas as pd

    from bench.movielens import convert

    whole = root / "movielens"
    if not (whole / "events.parquet").exists():
        convert(whole)
    events = pd.read_parquet(whole / "events.parquet")
    users = np.sort(events["user_id"].unique())
    out = []
    for share in shares:
        path = root / f"movielens-{round(share * 100)}"
        if not (path / "events.parquet").exists():
            path.mkdir(parents=True, exist_ok=True)
            rng = np.random.default_rng(0)
            chosen = rng.choice(users, size=max(1, round(share * len(users))), replace=False)
            events[events["user_id"].isin(chosen)].to_parquet(path / "events.parquet")
            (path / "catalog.parquet").write_bytes((whole / "catalog.parquet").read_bytes())
        out.append((f"MovieLens {round(share * 100)}% shoppers", path))
    return out


def run(
    quick: bool,
    baseline: Path | None,
    data_dir: Path,
    movielens: bool,
    baseline_movielens: bool = False,
) -> dict[str, Any]:
    worlds = _worlds(data_dir, QUICK_SHOPPERS if quick else WORLD_SHOPPERS)
    real = _movielens(data_dir, QUICK_SHARES if quick else SHOPPER_SHARES) if movielens else []
    rows: list[dict[str, Any]] = []
    for kind, cases, test_days in (
        ("world", worlds, WORLD_TEST_DAYS),
        ("movielens", real, MOVIELENS_TEST_DAYS),
    ):
        for i, (name, path) in enumerate(cases):
            row: dict[str, Any] = {"shape": kind, "log": name, "test_days": test_days}
            row["this"] = _run(path, test_days, REPO)
            if baseline is not None and (kind == "world" or (baseline_movielens and i == 0)):
                row["baseline"] = _run(path, test_days, baseline)
            rows.append(row)
            print(f"{name}: {json.dumps(row)}", file=sys.stderr, flush=True)
    return {
        "quick": quick,
        "baseline_code": str(baseline) if baseline else None,
        "cores": os.cpu_count(),
        "load_average_1m_end": round(os.getloadavg()[0], 2),
        "targets": {"movielens_whole_seconds": 30.0, "world_1.1M_seconds": 24.5},
        "runs": rows,
    }


def _cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return ""
    if "error" in result:
        return "error"
    s = result["seconds"]
    return (
        f"{result['total_seconds']:6.1f} s, CPU {result['cpu_seconds']:.1f} s "
        f"(engine {s['feature_engine']:.1f}, prep "
        f"{s['decisions_and_cooccurrence']:.1f}, build {s['build']:.1f}, fit {s['fit']:.1f}; "
        f"load {result['load_average_1m']:.1f})"
    )


def _table(result: dict[str, Any]) -> str:
    lines = [
        f"{'log':<26}{'events':>10}{'days':>7}  this code / baseline",
        "-" * 110,
    ]
    for row in result["runs"]:
        this = row["this"]
        events = f"{this.get('events', 0):,}"
        days = f"{this.get('span_days', 0):.0f}"
        lines.append(f"{row['log']:<26}{events:>10}{days:>7}  {_cell(this)}")
        if "baseline" in row:
            lines.append(f"{'  baseline':<43}  {_cell(row['baseline'])}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small worlds, two subsets")
    parser.add_argument("--baseline", type=Path, help="another checkout to time beside")
    parser.add_argument("--data", type=Path, help="keep generated data here (reused)")
    parser.add_argument("--skip-movielens", action="store_true")
    parser.add_argument("--baseline-movielens", action="store_true")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--test-days", type=int, default=WORLD_TEST_DAYS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(_worker(args.worker, args.test_days)))
        return
    from bench.output import report

    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        data = args.data or Path(tmp)
        result = run(
            args.quick, args.baseline, data, not args.skip_movielens, args.baseline_movielens
        )
    report("train_scaling", result, _table(result), quick=args.quick)


if __name__ == "__main__":
    main()
