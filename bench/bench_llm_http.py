"""explain=llm through HTTP: a cold page of recommendations, then the same page cached.

    python -m bench.bench_llm_http [--quick]

A small world is generated, ingested and trained into a throwaway Redis (as
``bench.bench_service`` does); one uvicorn worker serves it with the embedded SmolLM2
model (``SHOPMODE_LLM_BACKEND=local``, the default 1.5 s budget). For each of N shoppers,
one request at a time: explain=template (the baseline), explain=llm (cold: nothing cached)
and explain=llm again (the explanations now come from the Redis cache when the evidence
is unchanged). Reported: latency p50/p99 of each pass and who wrote the explanations.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.bench_intake import BENCH_KEY, service_env
from bench.servers import uvicorn_server


def _pass(http: httpx.Client, users: list[str], explain: str) -> dict[str, Any]:
    latencies: list[float] = []
    sources: Counter[str] = Counter()
    errors = 0
    for user in users:
        started = time.perf_counter()
        answer = http.post(
            "/v1/recommendations", json={"user_id": user, "k": 5, "explain": explain}
        )
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 200:
            errors += 1
            continue
        sources.update(item["explanation"]["source"] for item in answer.json()["items"])
    values = np.asarray(latencies) * 1000
    return {
        "requests": len(users),
        "errors": errors,
        "p50_ms": round(float(np.percentile(values, 50)), 1),
        "p99_ms": round(float(np.percentile(values, 99)), 1),
        "sources": dict(sources.most_common()),
    }


def run(quick: bool) -> dict[str, Any]:
    """Template, cold LLM and cached LLM pages for the same shoppers."""
    from bench.bench_service import prepare_world
    from service.embedded_redis import EmbeddedRedis, free_port

    shoppers = 8 if quick else 24
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedRedis(Path(tmp) / "redis", persist=False) as redis,
    ):
        home = Path(tmp) / "home"
        users = prepare_world(home, redis.url, True)[:shoppers]
        env = service_env(redis.url, home, ["recommend"]) | {"SHOPMODE_LLM_BACKEND": "local"}
        port = free_port()
        with uvicorn_server("service.main:create_app", env, port):
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {BENCH_KEY}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60.0) as http:
                backend = http.get("/readyz").json().get("explanations")
                _pass(http, users[:2], "template")  # warm the worker
                template = _pass(http, users, "template")
                cold = _pass(http, users, "llm")
                cached = _pass(http, users, "llm")
    return {
        "backend": backend,
        "shoppers": len(users),
        "k": 5,
        "template": template,
        "llm_cold": cold,
        "llm_cached": cached,
        "llm_cold_p50_ms": cold["p50_ms"],
        "llm_cached_p50_ms": cached["p50_ms"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 shoppers instead of 24")
    args = parser.parse_args(argv)
    result = run(args.quick)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
