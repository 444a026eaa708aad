"""Run every benchmark in ``bench/`` and write one report.

    python -m bench.run [--quick] [--only bench_intake,bench_soak]

Each ``bench/bench_*.py`` module exposes ``run(quick: bool) -> dict``. The runner calls
each one in its own interpreter (a benchmark that crashes, hangs or leaves environment
variables behind cannot spoil the others), records the error of one that fails and goes
on, then writes ``bench/results/latest.json`` and ``bench/results/latest.md`` (see
``bench.report``). Asserts nothing: speed is reported, never tested.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench.report import write_report

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
# Cheap first, so a quick run shows most figures even when a late one overruns.
ORDER = [
    "bench_generate",
    "bench_feature_store",
    "bench_intake",
    "bench_scoring",
    "bench_service",
    "bench_llm_http",
    "bench_llm",
    "bench_train",
    "bench_soak",
]
TIMEOUT_S = {"quick": 900, "full": 3600}
# Too long for a quick run (a 10-million-event world, trained twice; MovieLens and the
# default world through ingest, train and evaluate with peers).
FULL_ONLY = {"bench_dask", "bench_quality"}


def discover() -> list[str]:
    """Every ``bench_*`` module in this directory, in ``ORDER`` first, then by name."""
    found = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    return [m for m in ORDER if m in found] + [m for m in found if m not in ORDER]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_one(name: str, quick: bool, out: Path) -> None:
    """In the child interpreter: import ``bench.<name>``, call ``run(quick)``, write JSON."""
    import importlib

    started = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        runner = getattr(module, "run", None)
        if runner is None:
            raise RuntimeError(f"bench/{name}.py has no run(quick: bool) -> dict")
        result = {"ok": True, "result": runner(quick)}
    except BaseException as exc:  # any failure is recorded, never raised to the runner
        result = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc()[-4000:],
        }
    result["seconds"] = round(time.perf_counter() - started, 1)
    out.write_text(json.dumps(result, default=str))


def _spawn(name: str, quick: bool, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "bench.run", "--child", name, "--out", str(out)]
        if quick:
            command.append("--quick")
        started = time.perf_counter()
        try:
            # The child's own prints go to this process's stderr: stdout stays for JSON.
            done = subprocess.run(command, stdout=sys.stderr, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {
                "ok": False,
                "error": f"timed out after {timeout:.0f} s",
                "seconds": round(time.perf_counter() - started, 1),
            }
        if not out.exists():
            return {
                "ok": False,
                "error": f"exited with code {done.returncode} and no result",
                "seconds": round(time.perf_counter() - started, 1),
            }
        loaded: dict[str, Any] = json.loads(out.read_text())
        return loaded


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs")
    parser.add_argument("--only", default="", help="comma-separated module names")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other benchmarks of the last report (re-run only --only ones)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_one(args.child, args.quick, Path(args.out))
        return
    modules = discover()
    if args.quick:
        modules = [m for m in modules if m not in FULL_ONLY]
    if args.only:
        wanted = [m.strip() for m in args.only.split(",") if m.strip()]
        modules = [m for m in modules if m in wanted]
    timeout = TIMEOUT_S["quick" if args.quick else "full"]
    command = "make bench-quick" if args.quick else "make bench"
    if args.only:
        command = "python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv)
    report: dict[str, Any] = {
        "command": command,
        "quick": args.quick,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "benchmarks": {},
    }
    previous = RESULTS_DIR / "latest.json"
    if args.merge and previous.exists():
        kept = json.loads(previous.read_text())
        kept["command"] = f"{kept['command']}; then {command}"
        kept.pop("headlines", None)
        report = kept
    for name in modules:
        print(f"== {name} ({'quick' if args.quick else 'full'})", file=sys.stderr, flush=True)
        outcome = _spawn(name, args.quick, timeout)
        outcome["command"] = command
        outcome["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        report["benchmarks"][name] = outcome
        status = "ok" if outcome["ok"] else f"FAILED: {outcome['error']}"
        print(f"== {name}: {status} in {outcome['seconds']} s", file=sys.stderr, flush=True)
    report["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    markdown = write_report(report, RESULTS_DIR)
    print(markdown)


if __name__ == "__main__":
    main()
