"""Soak: minutes of steady mixed load on one uvicorn worker; memory growth and errors.

    python -m bench.bench_soak [--quick]

A small world is generated, ingested and trained (as ``shopmode demo`` does) into a
throwaway Redis; one uvicorn worker serves it. A separate process sends a fixed-rate
schedule: four in five requests ask for recommendations (explain=template, the world's
shoppers in turn), one in five posts a batch of 10 new events. This process samples the
worker's resident memory (``/proc/<pid>/status``) every second. Reported: RSS at the end
of the warm-up and at the end, growth in percent, error count (any non-2xx or transport
error), latencies. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.bench_intake import BENCH_KEY, service_env
from bench.servers import uvicorn_server

RATE_PER_S = 15
EVENTS_PER_BATCH = 10


def _progress(message: str) -> None:
    print(message, file=sys.stderr)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


# --- the load generator (its own process) ------------------------------------------------


async def load(spec: dict[str, Any]) -> dict[str, Any]:
    base, users = spec["base"], spec["users"]
    rate, duration = spec["rate"], spec["duration_s"]
    headers = {"Authorization": f"Bearer {BENCH_KEY}"}
    rng = random.Random(5)
    statuses: dict[str, int] = {}
    latencies: dict[str, list[float]] = {"recommend": [], "events": []}
    pending: set[asyncio.Task[None]] = set()
    late = 0

    async def one(client: httpx.AsyncClient, i: int) -> None:
        user = users[i % len(users)]
        kind = "events" if i % 5 == 4 else "recommend"
        started = time.perf_counter()
        try:
            if kind == "recommend":
                answer = await client.post(
                    f"{base}/v1/recommendations",
                    json={"user_id": user, "k": 10, "explain": "template"},
                    headers=headers,
                )
            else:
                batch = [
                    {"event_id": f"soak-{i}-{j}", "user_id": user, "type": "view"}
                    | {"product_id": rng.choice(spec["products"]), "ts": time.time()}
                    for j in range(EVENTS_PER_BATCH)
                ]
                answer = await client.post(f"{base}/v1/events", json=batch, headers=headers)
            code = str(answer.status_code)
        except httpx.HTTPError as exc:
            code = type(exc).__name__
        latencies[kind].append(time.perf_counter() - started)
        statuses[code] = statuses.get(code, 0) + 1

    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        began = time.perf_counter()
        total = int(rate * duration)
        for i in range(total):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(pending) >= 64:  # the server is behind: skip rather than pile up
                late += 1
                continue
            task = asyncio.create_task(one(client, i))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
    summary: dict[str, Any] = {"statuses": statuses, "skipped_late": late}
    for kind, values in latencies.items():
        values.sort()
        n = len(values)
        summary[f"{kind}_p50_ms"] = round(1000 * values[n // 2], 2) if n else None
        summary[f"{kind}_p99_ms"] = (
            round(1000 * values[min(n - 1, int(n * 0.99))], 2) if n else None
        )
    return summary


# --- Redis cost per request (for sizing) --------------------------------------------------


def _redis_counters(client: Any) -> tuple[int, float]:
    """Commands executed (PING and INFO left out) and CPU seconds used by Redis so far."""
    stats = client.info("commandstats")
    calls = sum(
        int(v["calls"]) for k, v in stats.items() if k not in ("cmdstat_ping", "cmdstat_info")
    )
    cpu = client.info("cpu")
    return calls, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def redis_cost(
    base: str, redis_url: str, shoppers: list[str], products: list[str]
) -> dict[str, Any]:
    """Redis commands and Redis CPU per recommendation and per event, one request at a time."""
    import redis

    client = redis.Redis.from_url(redis_url)
    headers = {"Authorization": f"Bearer {BENCH_KEY}"}
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=30.0) as http:
        n = 200
        calls, cpu = _redis_counters(client)
        for i in range(n):
            body = {"user_id": shoppers[i % len(shoppers)], "k": 10, "explain": "template"}
            http.post("/v1/recommendations", json=body).raise_for_status()
        calls2, cpu2 = _redis_counters(client)
        out["commands_per_recommendation"] = round((calls2 - calls) / n, 1)
        out["redis_cpu_ms_per_recommendation"] = round(1000 * (cpu2 - cpu) / n, 3)
        batches, size = 40, 10
        for i in range(batches):
            batch = [
                {"event_id": f"cost-{i}-{j}", "user_id": shoppers[(i * size + j) % len(shoppers)]}
                | {"type": "view", "product_id": products[(i * 7 + j) % len(products)]}
                | {"ts": time.time()}
                for j in range(size)
            ]
            http.post("/v1/events", json=batch).raise_for_status()
        calls3, cpu3 = _redis_counters(client)
        events = batches * size
        out["commands_per_event_in_batches_of_10"] = round((calls3 - calls2) / events, 2)
        out["redis_cpu_ms_per_event"] = round(1000 * (cpu3 - cpu2) / events, 3)
    client.close()
    return out


# --- orchestration -----------------------------------------------------------------------


def run(quick: bool) -> dict[str, Any]:
    """Soak one worker and report its memory before and after."""
    import os

    import pyarrow.parquet as pq

    from features.store.connect import sync_store
    from service.cli.demo import DemoPlan, generate_step, ingest_step, train_step
    from service.runtime.embedded_redis import EmbeddedRedis, free_port
    from service.settings import get_settings

    duration = 45.0 if quick else 180.0
    warmup = 10.0 if quick else 30.0
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedRedis(Path(tmp) / "redis", persist=False) as server,
    ):
        home = Path(tmp) / "home"
        # The demo's steps are the CLI commands: they read settings from the environment.
        os.environ["SHOPMODE_REDIS_URL"] = server.url
        os.environ["SHOPMODE_HOME"] = str(home)
        get_settings.cache_clear()
        settings, plan = get_settings(), DemoPlan(size="small", fresh=True)
        trained: bool | str = True
        with sync_store(server.url) as store:
            generate_step(settings, plan, echo=_progress)
            ingest_step(settings, store, plan, echo=_progress)
            try:
                train_step(settings, store, plan, echo=_progress)
            except Exception as exc:  # the soak is about the server: heuristic ranking will do
                trained = f"not trained ({type(exc).__name__}: {exc}); heuristic ranking"
                _progress(trained)
        world = settings.data_dir / "world"
        users = pq.read_table(world / "events.parquet", columns=["user_id"]).column("user_id")
        shoppers = list(dict.fromkeys(str(u) for u in users.to_pylist()[-5000:]))[:500]
        products = pq.read_table(world / "catalog.parquet", columns=["product_id"])
        env = service_env(server.url, home, ["recommend", "events:write"])
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        product_ids = [str(p) for p in products.column("product_id").to_pylist()]
        spec: dict[str, Any] = {
            "base": base,
            "users": shoppers,
            "products": product_ids,
            "rate": RATE_PER_S,
            "duration_s": duration,
        }
        samples: list[tuple[float, float]] = []
        with uvicorn_server("service.main:create_app", env, port) as process:
            cost = redis_cost(base, server.url, shoppers, product_ids)
            began = time.monotonic()
            loader = subprocess.Popen(
                [sys.executable, "-m", "bench.bench_soak", "--load", json.dumps(spec)],
                stdout=subprocess.PIPE,
                text=True,
            )
            while loader.poll() is None:
                samples.append((time.monotonic() - began, rss_mb(process.pid)))
                time.sleep(1.0)
            out, _ = loader.communicate()
            samples.append((time.monotonic() - began, rss_mb(process.pid)))
            if loader.returncode != 0:
                raise RuntimeError(f"the soak load generator exited with {loader.returncode}")
    traffic: dict[str, Any] = json.loads(out)
    after_warmup = next(rss for t, rss in samples if t >= warmup)
    end = samples[-1][1]
    statuses: dict[str, int] = traffic["statuses"]
    errors = sum(n for code, n in statuses.items() if not code.startswith("2"))
    return {
        "duration_s": duration,
        "warmup_s": warmup,
        "rate_per_s": RATE_PER_S,
        "trained_model": trained,
        "requests": sum(statuses.values()),
        "errors": errors,
        "rss_after_warmup_mb": round(after_warmup, 1),
        "rss_end_mb": round(end, 1),
        "rss_max_mb": round(max(rss for _, rss in samples), 1),
        "redis_cost": cost,
        "rss_growth_pct": round(100 * (end - after_warmup) / after_warmup, 2),
        "traffic": traffic,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="45 s instead of 3 minutes")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        print(json.dumps(asyncio.run(load(json.loads(args.load)))))
        return
    result = run(args.quick)
    print(json.dumps(result, indent=2))
    print(
        f"\nsoak {result['duration_s']:.0f} s at {result['rate_per_s']} req/s: "
        f"RSS {result['rss_after_warmup_mb']} MB after warm-up → {result['rss_end_mb']} MB "
        f"({result['rss_growth_pct']:+.1f}%), {result['errors']} errors "
        f"of {result['requests']} requests"
    )


if __name__ == "__main__":
    main()
