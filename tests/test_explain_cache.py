"""Generated explanations (and grounding rejections) cached in a real Redis, standalone and
cluster, and a Redis that is down."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import redis
import redis.asyncio as aioredis
import redis.cluster
from cluster import async_twin
from evidence_support import tent
from live_server import live_settings

from features.store.keys import explanation as cache_key
from features.store.runner import AsyncRunner
from models.evidence import Evidence, Explanation
from models.explain import (
    CachedOutcome,
    Explainer,
    ExplanationCache,
    GroundingCheck,
    Hang,
    ScriptedBackend,
    TemplateWriter,
    Vocabulary,
)
from models.explain.cache import decode, encode_text
from service.runtime.explaining import explainer_for
from shopmode.errors import LLMUnavailable

GOOD = "You follow Cedarwood, and this tent is trending in Tents."
INVENTED = "Cedarwood tents ship free and are 50% off."
Store = redis.Redis | redis.cluster.RedisCluster


def stored(store: Store, key: str) -> CachedOutcome | None:
    value = store.get(key)
    return decode(value.decode() if isinstance(value, bytes) else value)


def run(
    store: Store,
    backend: ScriptedBackend,
    items: list[Evidence],
    budget_s: float = 5.0,
    check: GroundingCheck | None = None,
) -> list[Explanation | None]:
    async def go() -> list[Explanation | None]:
        client = async_twin(store)
        # Connected first, as the service's client is by its start-up probe: a cluster
        # client's first command also discovers the nodes, which can take longer than the
        # cache's 50 ms on a busy machine (a miss then, by design, not what is tested here).
        await client.ping()
        explainer = Explainer(
            backend,
            check or GroundingCheck(),
            cache=ExplanationCache(AsyncRunner(client), 3600),
        )
        try:
            return await explainer.explain(items, mode="llm", budget_s=budget_s)
        finally:
            explainer.close()
            await client.aclose()

    return asyncio.run(go())


def test_generated_texts_are_served_from_redis_the_second_time(store_client: Store) -> None:
    tents = [tent(price=100.0 + i) for i in range(6)]
    backend = ScriptedBackend(default=GOOD)
    first = run(store_client, backend, tents)
    second = run(store_client, backend, tents)
    assert first == [Explanation(text=GOOD, source="llm", grounded=True)] * 6
    assert second == [Explanation(text=GOOD, source="cache", grounded=True)] * 6
    assert len(backend.history) == 6
    keys = [cache_key("scripted", "llm", t.fingerprint()) for t in tents]
    assert keys[0].startswith("shopmode:v1:explain:scripted:llm:")
    assert [(stored(store_client, key) or CachedOutcome()).text for key in keys] == [GOOD] * 6
    assert all(0 < store_client.ttl(key) <= 3600 for key in keys)
    if isinstance(store_client, redis.cluster.RedisCluster):
        # the page's keys live on more than one node: a single-node pipeline would fail
        nodes = {store_client.get_node_from_key(key).name for key in keys}
        assert len(nodes) > 1


def test_a_rejected_item_is_not_sent_to_the_backend_again(store_client: Store) -> None:
    tries = len(Explainer(ScriptedBackend()).tries("llm"))
    # rejected, and every other try too (the rescue tries included)
    backend = ScriptedBackend([INVENTED] * tries, default=GOOD)
    [first] = run(store_client, backend, [tent()])
    [second] = run(store_client, backend, [tent()])
    template = Explanation(
        text=TemplateWriter().write(tent()), source="fallback_rejected", grounded=True
    )
    assert first == template
    assert second == template  # not the backend's GOOD default: it was never asked
    assert len(backend.history) == tries
    key = cache_key("scripted", "llm", tent().fingerprint())
    found = stored(store_client, key)
    assert found is not None
    assert found.rejected
    assert found.rejected_tries == tries
    assert found.text is None
    assert 0 < store_client.ttl(key) <= 3600


def test_timeouts_and_backend_errors_are_asked_again(store_client: Store) -> None:
    hanging = ScriptedBackend(default=GOOD, delay_s=60.0)
    try:
        [late] = run(store_client, hanging, [tent()], budget_s=0.2)
    finally:
        hanging.release()
    failing = ScriptedBackend()
    failing.enqueue(LLMUnavailable("connection refused"))
    [failed] = run(store_client, failing, [tent(price=199.0)])
    assert late
    assert late.source == "fallback_timeout"
    assert failed
    assert failed.source == "fallback_error"
    assert store_client.exists(cache_key("scripted", "llm", tent().fingerprint())) == 0
    assert store_client.exists(cache_key("scripted", "llm", tent(price=199.0).fingerprint())) == 0

    recovered = ScriptedBackend(default=GOOD)
    again = run(store_client, recovered, [tent(), tent(price=199.0)])
    assert again == [Explanation(text=GOOD, source="llm", grounded=True)] * 2
    assert len(recovered.history) == 2


def test_new_evidence_is_a_new_key(redis_url: str, redis_client: redis.Redis) -> None:
    backend = ScriptedBackend(default=GOOD)
    run(redis_client, backend, [tent()])
    [changed] = run(redis_client, backend, [tent(price=199.0)])
    assert changed
    assert changed.source == "llm"
    assert len(backend.history) == 2


def test_a_cached_text_that_no_longer_passes_the_check_is_not_served(
    redis_url: str, redis_client: redis.Redis
) -> None:
    key = cache_key("scripted", "llm", tent().fingerprint())
    redis_client.set(key, encode_text("Free tents for all!", "another check"))
    backend = ScriptedBackend([GOOD])
    [shown] = run(redis_client, backend, [tent()])
    assert shown == Explanation(text=GOOD, source="llm", grounded=True)


def test_redis_down_falls_through_to_generation() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    backend = ScriptedBackend([GOOD])

    async def go() -> tuple[list[Explanation | None], int]:
        client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
        explainer = Explainer(
            backend, GroundingCheck(), cache=ExplanationCache(AsyncRunner(client))
        )
        shown = await explainer.explain([tent()], mode="llm", budget_s=5.0)
        await client.aclose()
        return shown, explainer.counts["cache_error"]

    shown, errors = asyncio.run(go())
    assert shown == [Explanation(text=GOOD, source="llm", grounded=True)]
    assert errors == 2  # the read and the write both failed, neither failed the request


def test_the_service_caches_explanations_on_a_cluster_too(
    store_client: Store, tmp_path: Path
) -> None:
    settings = live_settings("redis://unused", tmp_path, explanation_cache_ttl_s=120)

    async def go() -> tuple[Explainer, list[Explanation | None]]:
        client = async_twin(store_client)
        explainer = explainer_for(
            settings, ScriptedBackend([GOOD]), AsyncRunner(client), "scripted"
        )
        try:
            return explainer, await explainer.explain([tent()], mode="llm", budget_s=5.0)
        finally:
            explainer.close()
            await client.aclose()

    explainer, shown = asyncio.run(go())
    assert shown == [Explanation(text=GOOD, source="llm", grounded=True)]
    assert explainer.cache is not None
    key = cache_key("scripted", "llm", tent().fingerprint())
    assert stored(store_client, key) == CachedOutcome(text=GOOD, checked_by=explainer.check.version)
    assert 0 < store_client.ttl(key) <= 120


def test_a_cached_text_is_checked_again_only_by_another_check(
    redis_url: str, redis_client: redis.Redis
) -> None:
    key = cache_key("scripted", "llm", tent().fingerprint())
    run(redis_client, ScriptedBackend([GOOD]), [tent()])
    # stored with the version of the check that passed it
    assert stored(redis_client, key) == CachedOutcome(
        text=GOOD, checked_by=GroundingCheck().version
    )
    # the same check (rules, settings, vocabulary): the stored verdict stands, the text is
    # not checked again (a text it would refuse, stored as passed by it, is served)
    redis_client.set(key, encode_text("Free tents for all!", GroundingCheck().version))
    [trusted] = run(redis_client, ScriptedBackend(), [tent()])
    assert trusted == Explanation(text="Free tents for all!", source="cache", grounded=True)
    # another check (here another catalog's vocabulary) checks it before showing it
    other = GroundingCheck(Vocabulary(brands=["Cedarwood", "Northpeak"]))
    assert other.version != GroundingCheck().version
    backend = ScriptedBackend([GOOD])
    [checked] = run(redis_client, backend, [tent()], check=other)
    assert checked == Explanation(text=GOOD, source="llm", grounded=True)
    assert stored(redis_client, key) == CachedOutcome(text=GOOD, checked_by=other.version)


def test_a_check_version_follows_rules_settings_and_vocabulary() -> None:
    def vocabulary() -> Vocabulary:
        return Vocabulary(brands=["Cedarwood"], categories=["Tents"], titles=["Dome Tent"])

    assert GroundingCheck(vocabulary()).version == GroundingCheck(vocabulary()).version
    assert GroundingCheck(vocabulary()).version != GroundingCheck().version
    assert (
        GroundingCheck(vocabulary(), require_personal=True).version
        != GroundingCheck(vocabulary()).version
    )
    assert GroundingCheck(max_words=20).version != GroundingCheck().version


def test_a_plan_cut_short_by_time_goes_on_where_it_stopped(store_client: Store) -> None:
    """A job whose time runs out after some rejected tries is no rejection: it settles as a
    timeout, the tries made are stored, and the next job asks only for the tries after
    them, until the plan ends in a text or a rejection of every try (not asked again)."""
    tries = Explainer(ScriptedBackend()).tries("llm")
    key = cache_key("scripted", "llm", tent().fingerprint())
    # Two rejected texts, then the third try hangs past the budget.
    cut = ScriptedBackend([INVENTED, INVENTED, Hang(60.0)])
    try:
        [late] = run(store_client, cut, [tent()], budget_s=3.0)
    finally:
        cut.release()
    assert late
    assert late.source == "fallback_timeout"
    partial = stored(store_client, key)
    assert partial is not None
    assert (partial.rejected_tries, partial.rejected) == (2, False)

    rest = ScriptedBackend([INVENTED] * (len(tries) - 2))
    [settled] = run(store_client, rest, [tent()])
    # the first two tries were not asked again: the rest of the plan, in order
    assert [(o.temperature, o.seed) for _, o in rest.history] == [
        (t.temperature, t.seed) for t in tries[2:]
    ]
    assert settled == Explanation(
        text=TemplateWriter().write(tent()), source="fallback_rejected", grounded=True
    )
    final = stored(store_client, key)
    assert final is not None
    assert (final.rejected_tries, final.rejected) == (len(tries), True)

    never = ScriptedBackend(default=GOOD)
    [again] = run(store_client, never, [tent()])
    assert again == settled
    assert never.history == []


def test_a_rejection_by_another_check_is_asked_again(
    redis_url: str, redis_client: redis.Redis
) -> None:
    tries = len(Explainer(ScriptedBackend()).tries("llm"))
    run(redis_client, ScriptedBackend([INVENTED] * tries), [tent()])
    other = GroundingCheck(Vocabulary(brands=["Cedarwood", "Northpeak"]))
    backend = ScriptedBackend([GOOD])
    [shown] = run(redis_client, backend, [tent()], check=other)
    assert shown == Explanation(text=GOOD, source="llm", grounded=True)
    assert len(backend.history) == 1
