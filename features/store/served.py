"""Served recommendations, kept a while so later events can attribute to them.

``keys.served_recommendation`` holds JSON ``{user_id, product_ids, model_version, ts}``
with a TTL; one key per recommendation, each in its own cluster slot (so reads are a
pipeline of GETs, never one MGET).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from features.store import keys
from features.store.calls import Flow, command


def save_served(recommendation_id: str, record: Mapping[str, Any], ttl_seconds: int) -> Flow[None]:
    key = keys.served_recommendation(recommendation_id)
    yield [command("SET", key, orjson.dumps(dict(record)), "EX", ttl_seconds)]


def served_records(recommendation_ids: Sequence[str]) -> Flow[dict[str, dict[str, Any]]]:
    """The records still kept, by recommendation id (expired or unknown ids left out)."""
    raws = yield [
        command("GET", keys.served_recommendation(rec_id)) for rec_id in recommendation_ids
    ]
    return {
        rec_id: orjson.loads(raw)
        for rec_id, raw in zip(recommendation_ids, raws, strict=True)
        if raw is not None
    }
