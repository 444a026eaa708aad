"""Follows the queue's ``done`` stream for this API process and wakes what waits on a job.

One blocking ``XREAD`` per process (on its own connection, which may block longer than the
service's short Redis timeout), however many pages stream: each waiter registers the jobs
it waits for and is woken when any of them settles. An entry missed while Redis was away
is not lost: the follower resumes from the last id it saw, and every waiter re-reads the
cache and queue when it wakes or times out anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from models.explain.queue import ExplanationQueue
from shopmode.errors import StoreUnavailable

log = logging.getLogger("shopmode.service")


@dataclass
class _Waiter:
    wanted: frozenset[str]
    settled: set[str] = field(default_factory=set)
    event: asyncio.Event = field(default_factory=asyncio.Event)


class ExplanationFeed:
    """``wait(job_ids, timeout)`` returns the jobs among them that settled meanwhile."""

    def __init__(self, queue: ExplanationQueue, block_ms: int = 1000) -> None:
        self.queue = queue
        self.block_ms = block_ms
        self._waiters: dict[str, set[int]] = defaultdict(set)
        self._by_id: dict[int, _Waiter] = {}
        self.errors = 0

    async def run(self, stop: asyncio.Event) -> None:
        last: str | None = None
        while not stop.is_set():
            try:
                if last is None:
                    last = await self.queue.last_settled_id()
                last, settled = await self.queue.settled_since(last, self.block_ms)
            except StoreUnavailable as exc:
                self.errors += 1
                log.debug("explanation feed paused: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                continue
            self.announce(job for job, _ in settled)

    def announce(self, jobs: Iterable[str]) -> None:
        """Wake everyone waiting for one of ``jobs``."""
        for job in jobs:
            for key in self._waiters.get(job, ()):
                waiter = self._by_id[key]
                waiter.settled.add(job)
                waiter.event.set()

    async def wait(self, job_ids: Iterable[str], timeout: float) -> set[str]:
        waiter = _Waiter(frozenset(job_ids))
        key = id(waiter)
        self._by_id[key] = waiter
        for job in waiter.wanted:
            self._waiters[job].add(key)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.event.wait(), max(0.0, timeout))
        finally:
            for job in waiter.wanted:
                keys = self._waiters.get(job)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._waiters[job]
            del self._by_id[key]
        return waiter.settled
