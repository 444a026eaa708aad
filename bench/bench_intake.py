"""HTTP event intake: events per second through ``POST /v1/events`` in batches of 100.

    python -m bench.bench_intake [--quick]

One uvicorn worker serves the real app on a throwaway Redis (a 1,000-product catalog);
a separate process posts batches of 100 new events (unique ids, 5,000 shoppers, view /
click / cart / purchase) at a fixed concurrency over keep-alive connections with async
httpx, and counts the events the service acknowledged as accepted. In the same run the
same batches go to a trivial FastAPI endpoint that only parses the JSON and counts it:
the ratio of the two is the figure to watch on a shared machine. Afterwards the live
event stream in Redis is counted, so acknowledged equals stored is checked, not assumed.
Prints JSON; asserts nothing about time.
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
import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from bench.servers import uvicorn_server

BENCH_KEY = "sm_bench_intake_key"
BATCH = 100
PRODUCTS = 1000
SHOPPERS = 5000
TYPES = ("view", "view", "view", "click", "click", "add_to_cart", "purchase")


def trivial_app() -> Any:
    """The baseline: parse the JSON body and answer how many events it held."""
    app = FastAPI()

    @app.post("/v1/events")
    async def count(request: Request) -> Response:
        rows = orjson.loads(await request.body())
        return Response(orjson.dumps({"accepted": len(rows)}), media_type="application/json")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def synthetic_catalog(products: int = PRODUCTS) -> Any:
    import pandas as pd

    from features.catalog import Catalog

    categories = ["Trail Running", "Outerwear", "Camping", "Climbing", "Cycling"]
    brands = ["Northpeak", "Ember", "Loam", "Fjellrev"]
    return Catalog.from_frame(
        pd.DataFrame(
            {
                "product_id": [f"p{i}" for i in range(products)],
                "title": [f"Item {i}" for i in range(products)],
                "category": [categories[i % len(categories)] for i in range(products)],
                "brand": [brands[i % len(brands)] for i in range(products)],
                "price": [5.0 + (i % 200) for i in range(products)],
                "discount": [0.0] * products,
            }
        )
    )


def service_env(redis_url: str, home: Path, scopes: list[str]) -> dict[str, str]:
    from service.edge.auth import hash_api_key

    keys = [{"name": "bench", "sha256": hash_api_key(BENCH_KEY), "scopes": scopes}]
    return {
        "SHOPMODE_REDIS_URL": redis_url,
        "SHOPMODE_HOME": str(home),
        "SHOPMODE_API_KEYS": json.dumps(keys),
        "SHOPMODE_RATE_LIMIT_PER_MINUTE": "0",
        "SHOPMODE_LLM_BACKEND": "template",
    }


def event_batch(tag: str, seq: int, rng: random.Random) -> list[dict[str, Any]]:
    now = time.time()
    batch = []
    for i in range(BATCH):
        kind = rng.choice(TYPES)
        event: dict[str, Any] = {
            "event_id": f"{tag}-{seq}-{i}",
            "user_id": f"u{rng.randrange(SHOPPERS)}",
            "type": kind,
            "product_id": f"p{rng.randrange(PRODUCTS)}",
            "ts": now,
        }
        if kind == "purchase":
            event |= {"price": 25.0, "quantity": 1}
        batch.append(event)
    return batch


# --- the load generator (its own process) ------------------------------------------------


async def _sender(
    client: httpx.AsyncClient,
    tag: str,
    spec: dict[str, Any],
    warm_until: float,
    stop_at: float,
    tally: dict[str, Any],
) -> None:
    rng = random.Random(tag)
    seq = 0
    headers = {"Authorization": f"Bearer {BENCH_KEY}", "Content-Type": "application/json"}
    while time.perf_counter() < stop_at:
        body = json.dumps(event_batch(tag, seq, rng)).encode()
        seq += 1
        started = time.perf_counter()
        try:
            answer = await client.post(spec["url"], content=body, headers=headers)
            status, accepted = answer.status_code, int(answer.json().get("accepted", 0))
        except (httpx.HTTPError, ValueError):
            status, accepted = 0, 0
        tally["acknowledged_total"] += accepted
        if started >= warm_until:
            tally["latencies"].append(time.perf_counter() - started)
            tally["accepted"] += accepted
            if status != 200:
                tally["errors"] += 1


async def load(spec: dict[str, Any]) -> dict[str, Any]:
    tally: dict[str, Any] = {"latencies": [], "accepted": 0, "errors": 0, "acknowledged_total": 0}
    limits = httpx.Limits(max_connections=spec["concurrency"])
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        now = time.perf_counter()
        warm_until, stop_at = now + spec["warmup_s"], now + spec["warmup_s"] + spec["duration_s"]
        await asyncio.gather(
            *(
                _sender(client, f"{spec['tag']}{w}", spec, warm_until, stop_at, tally)
                for w in range(spec["concurrency"])
            )
        )
    latencies = sorted(tally.pop("latencies"))
    n = len(latencies)
    return tally | {
        "batches": n,
        "events_per_s": round(tally["accepted"] / spec["duration_s"]),
        "batches_per_s": round(n / spec["duration_s"], 1),
        "batch_p50_ms": round(1000 * latencies[n // 2], 2) if n else None,
        "batch_p99_ms": round(1000 * latencies[min(n - 1, int(n * 0.99))], 2) if n else None,
    }


def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_intake", "--load", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- orchestration -----------------------------------------------------------------------


def run(quick: bool) -> dict[str, Any]:
    """Measure intake against the real service and the trivial baseline."""
    import redis

    from features.store.catalog import save_catalog
    from features.store.keys import event_stream
    from features.store.runner import SyncRunner
    from service.runtime.embedded_redis import EmbeddedRedis, free_port

    duration, warmup, concurrency = (5.0, 1.0, 4) if quick else (20.0, 3.0, 4)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedRedis(Path(tmp) / "redis", persist=False) as server,
    ):
        client = redis.Redis.from_url(server.url)
        SyncRunner(client).run(save_catalog(synthetic_catalog()))
        env = service_env(server.url, Path(tmp) / "home", ["events:write"])
        port = free_port()
        spec = {
            "url": f"http://127.0.0.1:{port}/v1/events",
            "concurrency": concurrency,
            "duration_s": duration,
            "warmup_s": warmup,
            "tag": "e",
        }
        with uvicorn_server("service.main:create_app", env, port):
            service = run_load(spec)
        stored = int(client.xlen(event_stream()))
        client.close()
        trivial_port = free_port()
        with uvicorn_server("bench.bench_intake:trivial_app", {}, trivial_port):
            trivial = run_load(spec | {"url": f"http://127.0.0.1:{trivial_port}/v1/events"})
    return {
        "batch_size": BATCH,
        "concurrency": concurrency,
        "duration_s": duration,
        "events_per_s": service["events_per_s"],
        "batch_p50_ms": service["batch_p50_ms"],
        "batch_p99_ms": service["batch_p99_ms"],
        "errors": service["errors"],
        "acknowledged_total": service["acknowledged_total"],
        "stored_in_stream": stored,
        "trivial_events_per_s": trivial["events_per_s"],
        "ratio_to_trivial": round(service["events_per_s"] / max(1, trivial["events_per_s"]), 3),
        "service": service,
        "trivial": trivial,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        print(json.dumps(asyncio.run(load(json.loads(args.load)))))
        return
    result = run(args.quick)
    print(json.dumps(result, indent=2))
    print(
        f"\nintake {result['events_per_s']:,} events/s (batches of {BATCH}, "
        f"c={result['concurrency']}), batch p50 {result['batch_p50_ms']} ms / "
        f"p99 {result['batch_p99_ms']} ms; trivial {result['trivial_events_per_s']:,} events/s "
        f"(ratio {result['ratio_to_trivial']}); acknowledged {result['acknowledged_total']:,}, "
        f"stored {result['stored_in_stream']:,}"
    )


if __name__ == "__main__":
    main()
