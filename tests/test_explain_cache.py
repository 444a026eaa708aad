"""Generated explanations cached in a real Redis, and a Redis that is down."""

from __future__ import annotations

import asyncio
import socket

import redis
import redis.asyncio as aioredis

from models.evidence import Evidence, Explanation, Reason
from models.explain import Explainer, ExplanationCache, GroundingCheck, ScriptedBackend, cache_key

GOOD = "You follow Cedarwood, and this tent is trending in Tents."


def tent(price: float = 249.0) -> Evidence:
    return Evidence(
        product_id="p-tent",
        title="Cedarwood Dome Tent",
        brand="Cedarwood",
        category="Tents",
        price=price,
        reasons=[
            Reason(code="followed_brand", facts={"brand": "Cedarwood"}),
            Reason(code="trending", facts={"category": "Tents"}, weight=0.5),
        ],
    )


def run(url: str, backend: ScriptedBackend, items: list[Evidence]) -> list[Explanation | None]:
    async def go() -> list[Explanation | None]:
        client = aioredis.Redis.from_url(url)
        try:
            explainer = Explainer(backend, GroundingCheck(), cache=ExplanationCache(client, 3600))
            return await explainer.explain(items, mode="llm", budget_s=5.0)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_a_generated_text_is_served_from_redis_the_second_time(
    redis_url: str, redis_client: redis.Redis
) -> None:
    backend = ScriptedBackend([GOOD])
    [first] = run(redis_url, backend, [tent()])
    [second] = run(redis_url, backend, [tent()])
    assert first == Explanation(text=GOOD, source="llm", grounded=True)
    assert second == Explanation(text=GOOD, source="cache", grounded=True)
    assert len(backend.history) == 1
    key = cache_key("scripted", tent().fingerprint())
    assert key.startswith("shopmode:v1:explain:scripted:")
    assert redis_client.hget(key, "llm") == GOOD.encode()
    assert 0 < redis_client.ttl(key) <= 3600


def test_new_evidence_is_a_new_key(redis_url: str) -> None:
    backend = ScriptedBackend(default=GOOD)
    run(redis_url, backend, [tent()])
    [changed] = run(redis_url, backend, [tent(price=199.0)])
    assert changed
    assert changed.source == "llm"
    assert len(backend.history) == 2


def test_a_cached_text_that_no_longer_passes_the_check_is_not_served(
    redis_url: str, redis_client: redis.Redis
) -> None:
    redis_client.hset(cache_key("scripted", tent().fingerprint()), "llm", "Free tents for all!")
    backend = ScriptedBackend([GOOD])
    [shown] = run(redis_url, backend, [tent()])
    assert shown == Explanation(text=GOOD, source="llm", grounded=True)


def test_redis_down_falls_through_to_generation() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    backend = ScriptedBackend([GOOD])

    async def go() -> tuple[list[Explanation | None], int]:
        client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
        explainer = Explainer(backend, GroundingCheck(), cache=ExplanationCache(client))
        shown = await explainer.explain([tent()], mode="llm", budget_s=5.0)
        await client.aclose()
        return shown, explainer.counts["cache_error"]

    shown, errors = asyncio.run(go())
    assert shown == [Explanation(text=GOOD, source="llm", grounded=True)]
    assert errors == 2  # the read and the write both failed, neither failed the request
