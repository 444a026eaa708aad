"""The explanation job queue on a real Redis, standalone and cluster: order, dedup, bounds,
leases that outlive a dead worker, outcomes announced on the done stream."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis
import redis.cluster
from cluster import async_twin

from features.store.runner import AsyncRunner
from models.evidence import Evidence, Reason
from models.explain.queue import ExplanationQueue, Request, job_id

Store = redis.Redis | redis.cluster.RedisCluster
T = TypeVar("T")
NOW = 1_800_000_000.0


def pack(n: int) -> Evidence:
    return Evidence(
        product_id=f"p{n}",
        title=f"Cedarwood Dome Tent {n}",
        brand="Cedarwood",
        category="Tents",
        price=100.0 + n,
        reasons=[Reason(code="followed_brand", facts={"brand": "Cedarwood"})],
    )


def with_queue(
    store: Store, work: Callable[[ExplanationQueue], Awaitable[T]], **options: float
) -> T:
    async def go() -> T:
        client = async_twin(store)
        try:
            queue = ExplanationQueue(AsyncRunner(client), "local-test", **options)  # type: ignore[arg-type]
            return await work(queue)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_jobs_come_out_by_rank_and_age_and_once_each(store_client: Store) -> None:
    async def work(queue: ExplanationQueue) -> list[str]:
        page = [Request(pack(i), "llm", rank=i) for i in range(3)]
        assert await queue.enqueue(page, now=NOW) == [True] * 3
        # A page asked for 1.2 s later: its items take their place among the first page's
        # (1 s per rank), and asking again for a waiting item keeps one job.
        later = [Request(pack(2), "llm", rank=0), Request(pack(9), "llm", rank=1)]
        assert await queue.enqueue(later, now=NOW + 1.2) == [True, True]
        order = []
        while (job := await queue.claim(now=NOW + 20)) is not None:
            order.append(job.evidence.product_id)
            assert job.attempts == 1
            assert job.mode == "llm"
        assert await queue.depth() == (0, 4)
        return order

    # p2 moved up to the later page's rank 0 (1.2 s) from its own rank 2 (2.0 s).
    assert with_queue(store_client, work) == ["p0", "p1", "p2", "p9"]


def test_a_full_queue_drops_the_least_urgent_job_and_says_so(store_client: Store) -> None:
    async def work(queue: ExplanationQueue) -> None:
        assert await queue.enqueue([Request(pack(i), "llm", rank=i) for i in range(3)], now=NOW)
        last = await queue.last_settled_id()
        # Less urgent than everything waiting: refused, nothing else changes.
        assert await queue.enqueue([Request(pack(5), "llm", rank=9)], now=NOW) == [False]
        # More urgent than the worst waiting job: that one makes way.
        assert await queue.enqueue([Request(pack(6), "llm", rank=0)], now=NOW - 5) == [True]
        dropped = job_id("llm", pack(2).fingerprint())
        states = await queue.states([dropped, job_id("llm", pack(5).fingerprint())])
        assert states == ["dropped", "unknown"]
        _, announced = await queue.settled_since(last, block_ms=100)
        assert announced == [(dropped, "dropped")]
        order = [
            job.evidence.product_id for job in [await queue.claim(now=NOW) for _ in range(3)] if job
        ]
        assert order == ["p6", "p0", "p1"]

    with_queue(store_client, work, max_jobs=3)


def test_a_dead_workers_job_is_taken_over_then_given_up(store_client: Store) -> None:
    async def work(queue: ExplanationQueue) -> None:
        request = Request(pack(1), "best_of")
        await queue.enqueue([request], now=NOW)
        first = await queue.claim(now=NOW)
        assert first is not None
        assert first.attempts == 1
        # The worker dies: no settle. Within the lease nobody else gets the job...
        assert await queue.claim(now=NOW + 5) is None
        assert await queue.states([request.id]) == ["leased"]
        # ...after it, the next claim does, as a second attempt.
        second = await queue.claim(now=NOW + 11)
        assert second is not None
        assert second.id == first.id
        assert second.attempts == 2
        assert second.evidence == pack(1)
        last = await queue.last_settled_id()
        # That worker dies too: with every attempt spent the job settles as an error.
        assert await queue.claim(now=NOW + 30) is None
        assert await queue.states([request.id]) == ["error"]
        _, announced = await queue.settled_since(last, block_ms=100)
        assert announced == [(request.id, "error")]

    with_queue(store_client, work, lease_s=10, max_attempts=2)


def test_outcomes_are_settled_retried_and_forgotten(store_client: Store) -> None:
    async def work(queue: ExplanationQueue) -> None:
        a, b, c = (Request(pack(i), "llm", rank=i) for i in range(3))
        await queue.enqueue([a, b, c], now=NOW)
        last = await queue.last_settled_id()
        job_a, job_b, job_c = [await queue.claim(now=NOW) for _ in range(3)]
        assert job_a is not None
        assert job_b is not None
        assert job_c is not None
        assert await queue.settle(job_a, "ready", now=NOW) == "settled"
        assert await queue.settle(job_b, "rejected", now=NOW) == "settled"
        assert await queue.settle(job_c, "error", now=NOW) == "retry"  # attempts left
        assert await queue.settle(job_a, "ready", now=NOW) == "gone"  # settled already
        assert await queue.states([a.id, b.id, c.id]) == ["ready", "rejected", "pending"]
        _, announced = await queue.settled_since(last, block_ms=100)
        assert announced == [(a.id, "ready"), (b.id, "rejected")]
        # Outcomes are kept for the retention, then forgotten by a later claim.
        await queue.claim(now=NOW + 1000)
        assert await queue.states([a.id, b.id]) == ["unknown", "unknown"]

    with_queue(store_client, work, retention_s=900)
