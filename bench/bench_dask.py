"""Training on a 10-million-event world: the training set built on a 2-worker Dask
``LocalCluster`` against the single-process path, each under a stated memory budget.

    python -m bench.bench_dask [--users 145000] [--days 28] [--limit-gib 8] [--parts 16]

Timed: generating the world (``shopmode generate``'s code), then what ``shopmode train
--dask local`` does up to the fitted model (the log split into shopper parts by the
workers, replayed per part, the global inputs reduced once, the training set built per
part, gathered and fitted), then what ``shopmode train`` does in one process (read,
engine, replay, fit). Memory: the peak RSS of each Dask worker process and of the driver
(sampled every 0.5 s), and of the single process, which is killed when it passes the
budget (``--limit-gib``, the whole machine's share for training; each Dask worker gets
half of it as its distributed ``memory_limit``). Full runs only (``python -m bench.run``
skips it with ``--quick``); prints JSON and a table; writes bench/results/dask.json.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from bench.output import report

SIZE = {"users": 145_000, "products": 2_000, "days": 28}
LIMIT_GIB = 8.0
PARTS = 16
GIB = 1024**3


def _rss() -> int:
    return int(psutil.Process().memory_info().rss)


class Peaks:
    """Peak RSS of the Dask workers (by address) and of this process, sampled in a thread."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.workers: dict[str, int] = {}
        self.driver = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            self.driver = max(self.driver, _rss())
            try:
                found = self.client.run(_rss)
            except Exception:  # a worker restarting: keep the peaks seen so far
                continue
            for address, rss in found.items():
                self.workers[address] = max(self.workers.get(address, 0), int(rss))

    def __enter__(self) -> Peaks:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _dask(world: Path, work: Path, limit_gib: float, parts: int) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    from features.catalog import Catalog
    from features.ingest import read_interest_events
    from models.ranking.distributed.driver import DaskLog, train_on_dask
    from models.ranking.training import TrainConfig

    started = time.perf_counter()
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: never the 8787 another cluster holds
            silence_logs=logging.ERROR,
            memory_limit=f"{limit_gib / 2:.2f}GiB",
        ) as cluster,
        Client(cluster) as client,
    ):
        cluster_seconds = time.perf_counter() - started
        log = DaskLog(
            catalog=Catalog.read(world / "catalog.parquet"),
            events_path=world / "events.parquet",
            declared=read_interest_events(world / "users.parquet"),
        )
        with Peaks(client) as peaks:
            began = time.perf_counter()
            built = train_on_dask(client, log, TrainConfig(), work, parts)
            seconds = time.perf_counter() - began
    metrics = built.model.metadata["metrics"]
    return {
        "wall_seconds": round(seconds, 1),
        "cluster_start_seconds": round(cluster_seconds, 1),
        "stages_seconds": {
            k.removesuffix("_seconds"): round(v, 1)
            for k, v in metrics.items()
            if k.endswith("_seconds")
        },
        "worker_peak_rss_gib": sorted(round(v / GIB, 2) for v in peaks.workers.values()),
        "driver_peak_rss_gib": round(peaks.driver / GIB, 2),
        "worker_memory_limit_gib": round(limit_gib / 2, 2),
        "parts": parts,
        "rows": int(metrics["train_rows"]),
        "decisions": int(metrics["train_decisions"]),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _single_child(world: Path, stage_file: Path) -> None:
    """In a child process: ``shopmode train``'s path in one process, stages written down."""
    import pandas as pd

    from features.catalog import Catalog
    from features.ingest import interest_events, read_events
    from models.ranking.training import EventLog, TrainConfig, prepare, train_ranker

    def stage(name: str) -> None:
        stage_file.write_text(name)

    stage("read")
    events = read_events(world / "events.parquet")
    declared = interest_events(pd.read_parquet(world / "users.parquet"))
    log = EventLog(
        pd.concat([declared, events], ignore_index=True), Catalog.read(world / "catalog.parquet")
    )
    del events
    stage("engine, decisions, co-occurrence")
    prepared = prepare(log)
    stage("training set and fit")
    trained = train_ranker(prepared, TrainConfig())
    stage("done")
    print(
        json.dumps({"rows": len(trained.training), "decisions": trained.training.recall.decisions})
    )


def _single(world: Path, limit_gib: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        stage_file = Path(tmp) / "stage"
        command = [sys.executable, "-m", "bench.bench_dask", "--single", str(world)]
        command += ["--stage-file", str(stage_file)]
        began = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        process = psutil.Process(child.pid)
        peak, killed = 0, False
        while child.poll() is None:
            try:
                peak = max(peak, process.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            if peak > limit_gib * GIB:
                child.kill()
                killed = True
                break
            time.sleep(0.5)
        out, _ = child.communicate()
        seconds = time.perf_counter() - began
        stage = stage_file.read_text() if stage_file.exists() else "start"
    result: dict[str, Any] = {
        "wall_seconds": round(seconds, 1),
        "peak_rss_gib": round(peak / GIB, 2),
        "memory_limit_gib": limit_gib,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    if killed:
        result["outcome"] = f"over the {limit_gib:g} GiB budget during: {stage}; killed"
    elif child.returncode != 0:
        result["outcome"] = f"failed (exit {child.returncode}) during: {stage}"
    else:
        result["outcome"] = "finished"
        result.update(json.loads(out.strip().splitlines()[-1]))
    return result


def run(
    quick: bool = False,
    *,
    size: dict[str, int] | None = None,
    limit_gib: float = LIMIT_GIB,
    parts: int = PARTS,
    single: bool = True,
) -> dict[str, Any]:
    from world.config import WorldConfig
    from world.generate import generate_world

    size = size or SIZE
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        world = Path(tmp) / "world"
        began = time.perf_counter()
        summary = generate_world(WorldConfig(seed=5, **size), world)
        generate_seconds = time.perf_counter() - began
        print(f"generated {summary.events:,} events in {generate_seconds:.1f} s", file=sys.stderr)
        dask = _dask(world, Path(tmp) / "dask", limit_gib, parts)
        print(json.dumps({"dask_local_cluster": dask}), file=sys.stderr, flush=True)
        alone = _single(world, limit_gib) if single else {"outcome": "not run (--skip-single)"}
    return {
        "world": {**size, "events": summary.events, "generate_seconds": round(generate_seconds, 1)},
        "cores": os.cpu_count(),
        "dask_local_cluster": dask,
        "single_process": alone,
    }


def _table(result: dict[str, Any]) -> str:
    world, dask, single = result["world"], result["dask_local_cluster"], result["single_process"]
    rows = [
        ("events in the world", f"{world['events']:,}"),
        (
            "generate (users × days)",
            f"{world['generate_seconds']:.1f} s ({world['users']:,} × {world['days']})",
        ),
        ("Dask, 2 workers × 1 thread: training set + fit", f"{dask['wall_seconds']:.1f} s"),
        *((f"  {k}", f"{v:.1f} s") for k, v in dask["stages_seconds"].items()),
        ("  peak RSS per worker", " / ".join(f"{g:.2f} GiB" for g in dask["worker_peak_rss_gib"])),
        ("  worker memory_limit", f"{dask['worker_memory_limit_gib']:.2f} GiB"),
        ("  peak RSS of the driver", f"{dask['driver_peak_rss_gib']:.2f} GiB"),
        ("  load (1 min) after", f"{dask['load_average_1m']:.1f}"),
    ]
    if "wall_seconds" in single:
        rows += [
            ("single process: read → fit", f"{single['wall_seconds']:.1f} s ({single['outcome']})"),
            (
                "  peak RSS",
                f"{single['peak_rss_gib']:.2f} GiB (budget {single['memory_limit_gib']:g})",
            ),
            ("  load (1 min) after", f"{single['load_average_1m']:.1f}"),
        ]
    else:
        rows.append(("single process", single["outcome"]))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=SIZE["users"])
    parser.add_argument("--products", type=int, default=SIZE["products"])
    parser.add_argument("--days", type=int, default=SIZE["days"])
    parser.add_argument("--limit-gib", type=float, default=LIMIT_GIB)
    parser.add_argument("--parts", type=int, default=PARTS)
    parser.add_argument("--skip-single", action="store_true", help="only the Dask run")
    parser.add_argument("--single", help=argparse.SUPPRESS)
    parser.add_argument("--stage-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        _single_child(Path(args.single), Path(args.stage_file))
        return
    size = {"users": args.users, "products": args.products, "days": args.days}
    result = run(size=size, limit_gib=args.limit_gib, parts=args.parts, single=not args.skip_single)
    result["command"] = "python -m bench.bench_dask " + " ".join(sys.argv[1:])
    report("dask", result, _table(result), quick=False)


if __name__ == "__main__":
    main()
