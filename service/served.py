"""A short-lived record of each served recommendation, so later events can attribute.

``shopmode:v1:{r:<id>}:served`` holds JSON ``{user_id, product_ids, model_version, ts}``
with a TTL (``recommendation_ttl_seconds``). An event attributes to a recommendation when
it names it, comes from the same shopper and concerns one of the products served.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import orjson

from features.events.schema import Event
from features.store import keys
from service.redis_link import AsyncRedis


def new_recommendation_id() -> str:
    return "rec-" + uuid.uuid4().hex[:16]


async def record_served(
    redis: AsyncRedis,
    recommendation_id: str,
    user_id: str,
    product_ids: Sequence[str],
    model_version: str | None,
    ttl_seconds: int,
) -> None:
    record = {
        "user_id": user_id,
        "product_ids": list(product_ids),
        "model_version": model_version,
        "ts": time.time(),
    }
    await redis.set(
        keys.served_recommendation(recommendation_id), orjson.dumps(record), ex=ttl_seconds
    )


async def count_attributed(redis: AsyncRedis, events: Sequence[Event]) -> int:
    """How many of ``events`` follow from a recommendation still on record."""
    named = [e for e in events if e.recommendation_id]
    if not named:
        return 0
    ids = sorted({e.recommendation_id for e in named if e.recommendation_id})
    # One key per id, in different cluster slots: a pipeline of GETs, not one MGET.
    pipe = redis.pipeline(transaction=False)
    for rec_id in ids:
        pipe.get(keys.served_recommendation(rec_id))
    raws = await pipe.execute()
    records: dict[str, dict[str, object]] = {
        rec_id: orjson.loads(raw) for rec_id, raw in zip(ids, raws, strict=True) if raw is not None
    }
    found = 0
    for event in named:
        record = records.get(str(event.recommendation_id))
        if record is None or record.get("user_id") != event.user_id:
            continue
        served = record.get("product_ids")
        if event.product_id is None or (isinstance(served, list) and event.product_id in served):
            found += 1
    return found
