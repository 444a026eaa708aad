"""The feature store: bulk ingest speed, read latency for 1 shopper + 500 candidates, and
Redis memory per shopper.

    python -m bench.bench_feature_store [--quick]

A generated world (100,000 shoppers; 10,000 with --quick) is ingested into a throwaway
real Redis. Baselines measured in the same run: validation alone (the Python floor of
ingest), one pipelined HSET per event (the Redis floor), a bare PING and a bare MGET of
the same 500 product keys (the network floor of a read). Memory: INFO used_memory before
and after, per shopper with events, and MEMORY USAGE of a sample of shoppers' keys.
Prints JSON and a table; writes bench/results/feature_store.json
(feature_store-quick.json with --quick). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import redis

from bench.output import report

TARGETS = {"ingest_events_per_s": 50_000, "read_p50_ms": 2.0, "read_p99_ms": 5.0}
TARGETS |= {"bytes_per_user": 1024}
FULL = {"users": 100_000, "products": 2_000, "days": 14, "reads": 3_000}
QUICK = {"users": 10_000, "products": 1_000, "days": 7, "reads": 800}
CANDIDATES = 500


def _percentiles(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples) * 1000
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 3),
        "p99_ms": round(float(np.percentile(values, 99)), 3),
        "mean_ms": round(float(values.mean()), 3),
        "requests": len(samples),
    }


def _ingest(
    client: redis.Redis, world: Path
) -> tuple[dict[str, Any], pd.DataFrame, Any, np.ndarray]:
    from features.catalog import Catalog
    from features.events.frame import validate_frame
    from features.ingest import ingest_frame, interest_events
    from features.store.apply import StoreConfig
    from features.store.catalog import save_catalog
    from features.store.online import OnlineFeatureStore
    from features.store.runner import SyncRunner

    catalog = Catalog.read(world / "catalog.parquet")
    SyncRunner(client).run(save_catalog(catalog))
    events = pd.read_parquet(world / "events.parquet")
    interests = interest_events(pd.read_parquet(world / "users.parquet"))
    store = OnlineFeatureStore(client, catalog, StoreConfig(log_live_events=False))

    began = time.perf_counter()
    validate_frame(events)
    validate_s = time.perf_counter() - began

    used_before = int(client.info("memory")["used_memory"])
    began = time.perf_counter()
    ingest_frame(store, interests)
    report = ingest_frame(store, events)
    ingest_s = time.perf_counter() - began
    used_after = int(client.info("memory")["used_memory"])
    total = len(events) + len(interests)
    return (
        {
            "events": total,
            "accepted": report.accepted,
            "seconds": round(ingest_s, 3),
            "events_per_s": round(total / ingest_s),
            "validate_only_events_per_s": round(len(events) / validate_s),
            "used_memory_delta_bytes": used_after - used_before,
        },
        events,
        store,
        np.union1d(events["user_id"].unique(), interests["user_id"].unique()),
    )


def _redis_floor(client: redis.Redis, events: int) -> float:
    """Events/s of one pipelined HSET per event: what Redis alone allows."""
    began = time.perf_counter()
    for start in range(0, events, 10_000):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(start + 10_000, events)):
            pipe.hset(f"bench:floor:{i % 5000}", str(i), "1")
        pipe.execute()
    seconds = time.perf_counter() - began
    client.delete(*[f"bench:floor:{i}" for i in range(5000)])
    return events / seconds


def _memory(
    client: redis.Redis, events: pd.DataFrame, users: np.ndarray, delta: int
) -> dict[str, Any]:
    """Per shopper with keys (events or declared interests): INFO delta and MEMORY USAGE."""
    from features.store import keys

    rng = np.random.default_rng(0)
    sample = rng.choice(users, size=min(500, len(users)), replace=False)
    usage = []
    for user in sample:
        usage.append(sum(int(client.memory_usage(k, samples=0) or 0) for k in keys.user_keys(user)))
    per_key = {
        name: round(
            float(np.mean([client.memory_usage(key(u), samples=0) or 0 for u in sample[:200]]))
        )
        for name, key in (
            ("state", keys.user_state),
            ("seen", keys.user_seen),
            ("history", keys.user_history),
        )
    }
    # Layout v3: seen and history are keys of their own only past their inline size.
    keys_per_user = float(
        np.mean([sum(client.exists(key) for key in keys.user_keys(u)) for u in sample])
    )
    encodings: dict[str, int] = {}
    for user in sample[:200]:
        encoding = client.object("encoding", keys.user_state(user))
        name = encoding.decode() if isinstance(encoding, bytes) else str(encoding)
        encodings[name] = encodings.get(name, 0) + 1
    server = client.info("server")
    products = events["product_id"].dropna().unique()
    product_bytes = [client.memory_usage(keys.product_stats(p), samples=0) or 0 for p in products]
    return {
        "shoppers_with_keys": len(users),
        "bytes_per_user": round(delta / len(users)),
        "memory_usage_per_user_p50": round(float(np.percentile(usage, 50))),
        "memory_usage_per_user_p95": round(float(np.percentile(usage, 95))),
        "memory_usage_by_key_mean": per_key,
        "keys_per_user_mean": round(keys_per_user, 3),
        "state_encodings": encodings,
        "redis": f"{server['redis_version']} ({client.info('memory').get('mem_allocator')})",
        "bytes_per_product": round(float(np.mean(product_bytes))),
        "events_per_user": round(len(events) / events["user_id"].nunique(), 1),
    }


def _reads(client: redis.Redis, store: Any, events: pd.DataFrame, reads: int) -> dict[str, Any]:
    from features.store import keys
    from features.vector import feature_matrix

    catalog = store.catalog
    rng = np.random.default_rng(1)
    users = events["user_id"].unique()
    at = float(events["ts"].max())
    read, matrix, ping, mget = [], [], [], []
    for _ in range(reads):
        user = str(rng.choice(users))
        candidates = catalog.product_ids[rng.choice(len(catalog), CANDIDATES, replace=False)]
        began = time.perf_counter()
        state, products = store.features_for(user, candidates, at)
        read.append(time.perf_counter() - began)
        began = time.perf_counter()
        feature_matrix(state, products.positions, products, catalog, at)
        matrix.append(time.perf_counter() - began)
        began = time.perf_counter()
        client.ping()
        ping.append(time.perf_counter() - began)
        began = time.perf_counter()
        client.mget([keys.product_stats(p) for p in candidates])
        mget.append(time.perf_counter() - began)
    return {
        "read": _percentiles(read),
        "feature_matrix": _percentiles(matrix),
        "baseline_ping": _percentiles(ping),
        "baseline_mget_500": _percentiles(mget),
    }


def run(quick: bool) -> dict[str, Any]:
    from service.runtime.embedded_redis import EmbeddedRedis
    from world.config import WorldConfig
    from world.generate import generate_world

    size = QUICK if quick else FULL
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        world = Path(tmp) / "world"
        generate_world(
            WorldConfig(users=size["users"], products=size["products"], days=size["days"], seed=3),
            world,
        )
        with EmbeddedRedis(Path(tmp) / "redis", persist=False) as server:
            client = redis.Redis.from_url(server.url)
            try:
                ingest, events, store, users = _ingest(client, world)
                delta = ingest.pop("used_memory_delta_bytes")
                memory = _memory(client, events, users, delta)
                reads = _reads(client, store, events, size["reads"])
                ingest["redis_floor_events_per_s"] = round(_redis_floor(client, 200_000))
            finally:
                client.close()
    return {
        "quick": quick,
        # Other work on the machine skews every figure; the baselines above share the skew.
        "load_average_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "world": size,
        "targets": TARGETS,
        "ingest": ingest,
        "memory": memory,
        **reads,
    }


def _table(result: dict[str, Any]) -> str:
    ingest, memory, read = result["ingest"], result["memory"], result["read"]
    rows = [
        ("bulk ingest", f"{ingest['events_per_s']:,} events/s", "≥ 50,000 events/s"),
        ("  validation alone", f"{ingest['validate_only_events_per_s']:,} events/s", ""),
        ("  Redis floor (1 HSET/event)", f"{ingest['redis_floor_events_per_s']:,} events/s", ""),
        ("read 1 user + 500, p50", f"{read['p50_ms']:.2f} ms", "≤ 2 ms"),
        ("read 1 user + 500, p99", f"{read['p99_ms']:.2f} ms", "≤ 5 ms"),
        ("  bare PING p50", f"{result['baseline_ping']['p50_ms']:.3f} ms", ""),
        ("  bare MGET of 500 p50", f"{result['baseline_mget_500']['p50_ms']:.2f} ms", ""),
        ("  feature_matrix p50", f"{result['feature_matrix']['p50_ms']:.2f} ms", ""),
        ("memory per shopper (INFO)", f"{memory['bytes_per_user']:,} B", "≤ 1,024 B"),
        ("  MEMORY USAGE p50 / p95", f"{memory['memory_usage_per_user_p50']:,} / "
         f"{memory['memory_usage_per_user_p95']:,} B", ""),
        ("  events per shopper with events", f"{memory['events_per_user']}", ""),
        ("  MEMORY USAGE mean: state / seen / history", " / ".join(
            f"{memory['memory_usage_by_key_mean'][k]:,}" for k in ("state", "seen", "history")
        ) + " B", ""),
        ("  keys per shopper (mean)", f"{memory['keys_per_user_mean']}", ""),
        ("  Redis (allocator)", memory["redis"], ""),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{'figure':<{width}}{'measured':>22}   target", "-" * (width + 40)]
    lines += [f"{name:<{width}}{value:>22}   {target}" for name, value, target in rows]
    load = result["load_average_1m"]
    lines.append(f"load average (1 min) before / after: {load['before']} / {load['after']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 shoppers, fewer reads")
    args = parser.parse_args()
    result = run(args.quick)
    report("feature_store", result, _table(result), quick=args.quick)


if __name__ == "__main__":
    main()
