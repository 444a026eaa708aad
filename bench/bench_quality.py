"""Recommendation quality on a real log and on the synthetic world, as the README reports it.

    python -m bench.bench_quality [--quick] [--skip-movielens] [--skip-world]

Each log goes through the documented path, every step a real ``shopmode`` command in its
own process, with a throwaway ``SHOPMODE_HOME`` whose embedded Redis this benchmark starts
and keeps up (the commands find it there, as they would a server left by ``shopmode
serve``; its CPU is not the commands'):

- **MovieLens** (``bench.movielens``: 671 shoppers, 151,572 events over 21 years):
  ``shopmode ingest --catalog ML/catalog.parquet --events ML/events.parquet``, then
  ``shopmode train`` and ``shopmode evaluate --exclude-seen --json`` with no other options
  (a shopper rates a movie once);
- **the default world** (``shopmode generate --out W``: 10,000 shoppers, 2,000 products,
  28 days): ``shopmode ingest --catalog … --users … --events …``, ``shopmode train``,
  ``shopmode evaluate --json`` (seen products kept, as in the README).

Recorded for both (``bench.quality``): rows rejected at import, the holdout the log chose,
NDCG@10 / Recall@10 / Recall@50 of the ranker, the baselines and every peer, the ranker's
ratio to the best peer and to all-time popularity, gap_closed (world: it needs the
oracle), purchase recall and candidates per session on the holdout, and each command's
wall and CPU seconds (``getrusage`` of the child) with the 1-minute load average before and
after; training's own stage seconds from the model's metadata. ``targets`` flags issue
#10's targets met / not met.

Full only (``bench.run.FULL_ONLY``): the two logs take 15-30 minutes on 2 cores (evaluation
tunes and refits five peers). ``--quick`` runs a small world (1,000 shoppers) and no
MovieLens, to check the pipeline; its figures are not the issue's.
Prints JSON and a table; writes bench/results/quality.json (quality-quick.json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.quality import Step, log_figures, summary, targets

SMALL_WORLD = ("--users", "1000", "--products", "500", "--days", "21")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def shopmode() -> list[str]:
    """The ``shopmode`` command of this interpreter's environment (its console script)."""
    script = Path(sys.executable).parent / "shopmode"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from service.cli import main; main()"]


def cli(args: list[str], home: Path) -> Step:
    """``shopmode ARGS`` in a child process with ``SHOPMODE_HOME=home``: output, wall and
    CPU seconds (user + system of the child, from ``getrusage``), load before and after."""
    env = {**ONE_THREAD, **os.environ, "SHOPMODE_HOME": str(home)}
    for name in ("REDIS_URL", "SHOPMODE_REDIS_URL", "SHOPMODE_DASK_ADDRESS"):
        env.pop(name, None)  # the embedded server under `home`; training in one process
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*shopmode(), *args], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    step = Step(
        ["shopmode", *args], done.returncode, done.stdout, done.stderr, wall, cpu,
        load_before, os.getloadavg()[0],
    )  # fmt: skip
    print(f"  {' '.join(step.command)}: exit {done.returncode}, {wall:.1f} s wall, "
          f"{cpu:.1f} s CPU, load {step.load_after:.1f}", file=sys.stderr, flush=True)  # fmt: skip
    return step


@contextmanager
def embedded_home(root: Path) -> Iterator[Path]:
    """A fresh ``SHOPMODE_HOME`` with its embedded Redis running until the block ends."""
    from service.runtime.embedded_redis import EmbeddedRedis

    home = root / "home"
    home.mkdir(parents=True)
    with EmbeddedRedis(home / "redis"):
        yield home


def _metadata(home: Path, evaluate: Step) -> dict[str, Any] | None:
    from bench.quality import last_json_line

    if evaluate.returncode != 0:
        return None
    version = last_json_line(evaluate.stdout)["model"]
    loaded: dict[str, Any] = json.loads((home / "models" / version / "metadata.json").read_text())
    return loaded


def pipeline(home: Path, ingest_args: list[str], exclude_seen: bool) -> dict[str, Any]:
    """Ingest, ``train`` and ``evaluate --json`` (``--exclude-seen``) into one log's figures."""
    ingest = cli(["ingest", *ingest_args], home)
    train = cli(["train"], home)
    evaluate = cli(["evaluate", "--json", *(["--exclude-seen"] if exclude_seen else [])], home)
    figures = log_figures(ingest, train, evaluate, _metadata(home, evaluate))
    figures["commands"] = [" ".join(s.command) for s in (ingest, train, evaluate)]
    return figures


def movielens(root: Path) -> dict[str, Any]:
    """The MovieLens sample, converted, imported, trained on, evaluated seen excluded."""
    from bench.movielens import convert

    data = root / "ML"
    counts = convert(data)
    with embedded_home(root / "ml") as home:
        files = [
            "--catalog",
            str(data / "catalog.parquet"),
            "--events",
            str(data / "events.parquet"),
        ]
        figures = pipeline(home, files, exclude_seen=True)
    return {"log": counts, **figures}


def world(root: Path, generate_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """A generated world (the default one without arguments), imported with its shoppers."""
    data = root / "W"
    with embedded_home(root / "world") as home:
        generated = cli(["generate", "--out", str(data), *generate_args], home)
        if generated.returncode != 0:
            raise RuntimeError(f"shopmode generate failed: {generated.stderr.strip()[-500:]}")
        files = [
            *("--catalog", str(data / "catalog.parquet")),
            *("--users", str(data / "users.parquet")),
            *("--events", str(data / "events.parquet")),
        ]
        figures = pipeline(home, files, exclude_seen=False)
    summary = generated.stdout.strip().splitlines()[0] if generated.stdout.strip() else ""
    command = " ".join(["shopmode generate", *generate_args])
    return {"log": {"generate": command, "summary": summary}, **figures}


def run(quick: bool, *, with_movielens: bool = True, with_world: bool = True) -> dict[str, Any]:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        root = Path(tmp)
        real = movielens(root) if with_movielens and not quick else None
        synthetic = world(root, SMALL_WORLD if quick else ()) if with_world else None
    flags = targets(real, None if quick else synthetic)
    return {
        "quick": quick,
        "started_at": started,
        "cores": os.cpu_count(),
        "load_average_1m_end": round(os.getloadavg()[0], 2),
        "movielens": real,
        "world": synthetic,
        # A quick run's small world is not the default world: nothing to flag.
        "targets": flags,
        "targets_summary": summary(flags),
    }


def _table(result: dict[str, Any]) -> str:
    lines = []
    for name in ("movielens", "world"):
        figures = result.get(name)
        if not figures or "systems" not in figures:
            continue
        hold = figures["holdout"]
        lines.append(
            f"{name}: held out {hold['days']} days from {hold['from']}, {hold['sessions']:,} "
            f"sessions; rejected {figures['rows_rejected']:,}; train {figures['train']['wall_s']}"
            f" s wall, {figures['train']['cpu_s']} s CPU; evaluate {figures['evaluate']['wall_s']}"
            f" s wall, {figures['evaluate']['cpu_s']} s CPU"
        )
        rows = {**figures["systems"], **{f"peer: {n}": p for n, p in figures["peers"].items()}}
        for system, m in rows.items():
            lines.append(
                f"  {system:<28} {m.get('ndcg@10', 0):.4f} {m.get('recall@10', 0):.3f} "
                f"{m.get('recall@50', 0):.3f}"
            )
    for key, flag in result["targets"].items():
        lines.append(f"{key:<34} {flag['value']!s:>10} (target {flag['target']}): {flag['met']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small world, no MovieLens")
    parser.add_argument("--skip-movielens", action="store_true")
    parser.add_argument("--skip-world", action="store_true")
    args = parser.parse_args()
    from bench.output import report

    result = run(args.quick, with_movielens=not args.skip_movielens, with_world=not args.skip_world)
    report("quality", result, _table(result), quick=args.quick)


if __name__ == "__main__":
    main()
