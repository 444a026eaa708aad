"""The floor a recommendation is measured against (``bench.bench_service``), served by
uvicorn in its own process: what any answer costs that reads a shopper's candidates from
Redis and sends a body of the same size, with none of the ranking."""

from __future__ import annotations

import json
import os
from typing import Any

from starlette.requests import Request  # resolved by FastAPI from the floor's signature

FLOOR_PRODUCTS = 500


def floor_app() -> Any:
    """The floor: read the JSON request, one ``MGET`` of ``FLOOR_PRODUCTS`` products'
    packed feature vectors from ``BENCH_REDIS_URL``, a constant body of
    ``BENCH_BODY_BYTES`` bytes back."""
    from contextlib import asynccontextmanager

    import redis.asyncio
    from fastapi import FastAPI
    from starlette.responses import Response

    from features.store import keys
    from features.store.catalog import load_catalog
    from features.store.runner import AsyncRunner

    size = int(os.environ.get("BENCH_BODY_BYTES", "2000"))
    body = json.dumps({"items": "x" * max(0, size - 13)}).encode()
    client = redis.asyncio.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    product_keys: list[str] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        catalog = await AsyncRunner(client).run(load_catalog(), offload=True)
        ids = catalog.product_ids[:FLOOR_PRODUCTS]
        product_keys.extend(keys.product_stats(str(p)) for p in ids)
        yield
        await client.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/recommendations")
    async def floor(request: Request) -> Response:
        await request.json()
        await client.mget(product_keys)
        return Response(body, media_type="application/json")

    return app
