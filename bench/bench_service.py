"""Service latency and throughput: /v1/recommendations against a trivial endpoint.

    python -m bench.bench_service [--quick]

One uvicorn worker serves the real app (a generated world ingested into a throwaway
Redis, a trained model) as a separate process; a second process sends load over
keep-alive HTTP/1.1 connections at a fixed concurrency. In the same run the floor is
measured the same way: a FastAPI endpoint that reads the request, does one ``MGET`` of
500 products' feature vectors from the same Redis and returns a body of the same size as
a recommendation; the ratio of the two is the figure to watch, not absolute numbers (the
machine is shared). The rank stage (feature matrix, compiled trees, reasons of the 10
shown) is also timed in this process for 500 candidates per shopper. Prints a table and
JSON; writes bench/results/service.json. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import httpx

from bench.rank_stage import rank_stage, scoring_floor
from bench.servers import uvicorn_server
from service.edge.auth import hash_api_key
from service.runtime.embedded_redis import EmbeddedRedis, free_port

RESULTS = Path(__file__).resolve().parent / "results" / "service.json"
BENCH_KEY = "sm_bench_key"
TARGETS = {
    "rank_500_p50_ms": 0.5,
    "template_p50_ms": 1.5,
    "template_p99_ms": 15.0,
    "template_rps_c8": 1000.0,
    "throughput_ratio": 0.5,
}


# --- the load generator (its own process) ------------------------------------------------


async def _one_connection(
    host: str,
    port: int,
    requests: list[bytes],
    stop_at: float,
    warm_until: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = random.randrange(len(requests))
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            if started >= warm_until:
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors.append(status)
    finally:
        writer.close()


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], int(spec["port"])
    requests = []
    for body in spec["bodies"]:
        payload = json.dumps(body).encode()
        requests.append(
            f"POST {spec['path']} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {BENCH_KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
    latencies: list[float] = []
    errors: list[int] = []
    now = time.perf_counter()
    warm_until = now + spec["warmup_s"]
    stop_at = warm_until + spec["duration_s"]
    await asyncio.gather(
        *(
            _one_connection(host, port, requests, stop_at, warm_until, latencies, errors)
            for _ in range(spec["concurrency"])
        )
    )
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": len(errors),
        "rps": n / spec["duration_s"],
        "p50_ms": 1000 * latencies[n // 2] if n else None,
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))] if n else None,
        "mean_ms": 1000 * statistics.fmean(latencies) if n else None,
    }


def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator in a separate process; its JSON summary."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_service", "--load", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- orchestration -----------------------------------------------------------------------


def server_stages(base: str, users: list[str]) -> dict[str, float]:
    """Mean of the answers' own ``timings_ms`` over sequential template requests: where
    the server's time goes (user state, neighbours, rank, explain, record)."""
    totals: dict[str, float] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {BENCH_KEY}"}) as http:
        for user in users:
            body = {"user_id": user, "k": 10, "explain": "template"}
            timings = http.post("/v1/recommendations", json=body).json()["timings_ms"]
            for stage, ms in timings.items():
                totals[stage] = totals.get(stage, 0.0) + ms
    return {stage: round(ms / len(users), 3) for stage, ms in totals.items()}


def _progress(message: str) -> None:
    print(message, file=sys.stderr)


def prepare_world(home: Path, redis_url: str, quick: bool) -> list[str]:
    """Generate, ingest and train into ``home``; the user ids to ask for."""
    from service.cli.demo import DemoPlan, run_pipeline
    from service.settings import get_settings

    # The pipeline's steps are the CLI commands, which read their settings from the
    # environment: point them at this run's Redis and home.
    os.environ["SHOPMODE_REDIS_URL"] = redis_url
    os.environ["SHOPMODE_HOME"] = str(home)
    get_settings.cache_clear()
    size: Literal["small", "default"] = "small" if quick else "default"
    # The steps print their reports; keep stdout for this benchmark's JSON and table.
    with contextlib.redirect_stdout(sys.stderr):
        summary = run_pipeline(get_settings(), DemoPlan(size=size, fresh=True), echo=_progress)
    return summary.user_ids[:200]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small world, short runs")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        print(json.dumps(asyncio.run(_load(json.loads(args.load)))))
        return
    duration, warmup = (3.0, 1.0) if args.quick else (10.0, 2.0)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedRedis(Path(tmp) / "redis", persist=False) as redis,
    ):
        home = Path(tmp) / "home"
        users = prepare_world(home, redis.url, args.quick)
        env = {
            "SHOPMODE_REDIS_URL": redis.url,
            "SHOPMODE_HOME": str(home),
            "SHOPMODE_API_KEYS": json.dumps(
                [{"name": "bench", "sha256": hash_api_key(BENCH_KEY), "scopes": ["recommend"]}]
            ),
            "SHOPMODE_RATE_LIMIT_PER_MINUTE": "0",
            "SHOPMODE_LLM_BACKEND": "template",
        }
        rows: dict[str, dict[str, Any]] = {}
        port = free_port()
        with uvicorn_server("service.main:create_app", env, port):
            base = f"http://127.0.0.1:{port}"
            ready = httpx.get(f"{base}/readyz").json()
            sample = httpx.post(
                f"{base}/v1/recommendations",
                json={"user_id": users[0], "k": 10, "explain": "template"},
                headers={"Authorization": f"Bearer {BENCH_KEY}"},
            )
            body_bytes = len(sample.content)
            candidates = sample.json()["candidates"]
            # First answers read the neighbour lists; later ones (the load below) find them held.
            cold_stages = server_stages(base, users[:50])
            stages = server_stages(base, users[:50])
            for explain in ("none", "template"):
                bodies = [{"user_id": u, "k": 10, "explain": explain} for u in users]
                for concurrency in (1, 8):
                    spec = {
                        "host": "127.0.0.1",
                        "port": port,
                        "path": "/v1/recommendations",
                        "bodies": bodies,
                        "concurrency": concurrency,
                        "duration_s": duration,
                        "warmup_s": warmup,
                    }
                    rows[f"recommend explain={explain} c={concurrency}"] = run_load(spec)
        floor_port = free_port()
        floor_env = {"BENCH_BODY_BYTES": str(body_bytes), "BENCH_REDIS_URL": redis.url}
        with uvicorn_server("bench.floor:floor_app", floor_env, floor_port):
            for concurrency in (1, 8):
                spec = {
                    "host": "127.0.0.1",
                    "port": floor_port,
                    "path": "/v1/recommendations",
                    "bodies": [{"user_id": u} for u in users],
                    "concurrency": concurrency,
                    "duration_s": duration,
                    "warmup_s": warmup,
                }
                rows[f"floor c={concurrency}"] = run_load(spec)
        version = str(ready.get("model_version"))
        rank = rank_stage(redis.url, home, version, users)
        floor = scoring_floor(home, version, candidates)
    template = rows["recommend explain=template c=1"]
    template_rps = rows["recommend explain=template c=8"]["rps"]
    ratio = template_rps / rows["floor c=8"]["rps"]
    summary = {
        "model_version": ready.get("model_version"),
        "response_bytes": body_bytes,
        "candidates": candidates,
        "server_stages_ms": stages,
        "server_stages_cold_ms": cold_stages,
        # Feature matrix + compiled trees + reasons for 500 candidates, one thread.
        "rank_stage_ms": rank,
        # The model's trees alone (candidates + reasons): the floor of a request's CPU.
        "scoring_floor_ms": floor,
        # Other work on the machine skews absolute figures; the ratio is the comparison.
        "load_average_1m": os.getloadavg()[0],
        "rows": rows,
        "template_p50_ms": template["p50_ms"],
        "template_p99_ms": template["p99_ms"],
        "template_rps_c8": template_rps,
        "floor_p50_ms": rows["floor c=1"]["p50_ms"],
        "latency_ratio_p50": template["p50_ms"] / rows["floor c=1"]["p50_ms"],
        "throughput_ratio": ratio,
        "targets": TARGETS,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    print()
    print(f"{'scenario':36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, row in rows.items():
        print(
            f"{name:36} {row['rps']:9.0f} {row['p50_ms'] or 0:8.2f} "
            f"{row['p99_ms'] or 0:8.2f} {row['errors']:7d}"
        )
    for label, means in (("", stages), (", first answers (lists not yet held)", cold_stages)):
        print(f"server stages{label} (mean ms): " + ", ".join(f"{k} {v}" for k, v in means.items()))
    print(
        "rank stage, 500 candidates, one thread (p50/p99 ms): "
        + ", ".join(
            f"{k} {v['p50_ms']}/{v['p99_ms']}" for k, v in rank.items() if isinstance(v, dict)
        )
    )
    print("scoring floor, one thread (ms): " + ", ".join(f"{k} {v}" for k, v in floor.items()))
    print(
        f"\nrank stage p50 {rank['rank_500']['p50_ms']:.3f} ms "
        f"(target ≤ {TARGETS['rank_500_p50_ms']}); "
        f"template p50 {template['p50_ms']:.2f} ms (target ≤ {TARGETS['template_p50_ms']}; "
        f"floor {rows['floor c=1']['p50_ms']:.2f} ms, ratio {summary['latency_ratio_p50']:.2f}), "
        f"p99 {template['p99_ms']:.2f} ms (target ≤ {TARGETS['template_p99_ms']}); "
        f"{template_rps:.0f} req/s at 8 connections (target ≥ {TARGETS['template_rps_c8']:.0f}; "
        f"{ratio:.2f}× the floor, target ≥ {TARGETS['throughput_ratio']})"
    )
    print(f"load average (1 min) at the end: {summary['load_average_1m']:.2f}")


def run(quick: bool) -> dict[str, Any]:
    """For ``bench.run``: ``main`` (quick or not), and the summary it wrote."""
    main(["--quick"] if quick else [])
    summary: dict[str, Any] = json.loads(RESULTS.read_text())
    return summary


if __name__ == "__main__":
    main()
