"""A short-lived record of each served recommendation, so later events can attribute.

Each record (``features.store.served``) holds ``{user_id, product_ids, model_version, ts}``
with a TTL (``recommendation_ttl_seconds``). An event attributes to a recommendation when
it names it, comes from the same shopper and concerns one of the products served.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from features.events.schema import Event
from features.store.runner import AsyncRunner
from features.store.served import save_served, served_records


def new_recommendation_id() -> str:
    return "rec-" + uuid.uuid4().hex[:16]


async def record_served(
    store: AsyncRunner,
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
    await store.run(save_served(recommendation_id, record, ttl_seconds))


async def count_attributed(store: AsyncRunner, events: Sequence[Event]) -> int:
    """How many of ``events`` follow from a recommendation still on record."""
    named = [e for e in events if e.recommendation_id]
    if not named:
        return 0
    ids = sorted({e.recommendation_id for e in named if e.recommendation_id})
    records = await store.run(served_records(ids))
    found = 0
    for event in named:
        record = records.get(str(event.recommendation_id))
        if record is None or record.get("user_id") != event.user_id:
            continue
        served = record.get("product_ids")
        if event.product_id is None or (isinstance(served, list) and event.product_id in served):
            found += 1
    return found
