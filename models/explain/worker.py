"""A worker of the explanation queue: claim a job, write its text, settle it.

The same loop runs inside each API process (the default) and in separate
``shopmode explain-worker`` processes; any number of them share one queue in Redis. A
job's text goes through the ``Explainer`` (cache first, then the backend, the grounding
check and the judge) and lands in the explanation cache; the queue then announces the
outcome. A worker that dies mid-job leaves its lease to run out, and another one takes
the job over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable

from models.explain.explainer import Explainer
from models.explain.queue import ExplanationQueue, Job, Outcome
from shopmode.errors import StoreUnavailable

log = logging.getLogger("shopmode.explain")

_WRITTEN = frozenset({"llm", "best_of", "cache"})


def outcome_of(source: str) -> Outcome:
    """A job's outcome from the source of the explanation the Explainer settled on."""
    if source in _WRITTEN:
        return "ready"
    if source == "fallback_rejected":
        return "rejected"
    return "error"  # a timeout or a backend failure: worth another attempt


class ExplainWorker:
    """Works ``queue`` with ``explainer`` on ``concurrency`` jobs at a time.

    ``explainer_of`` returns the explainer to use now (the service swaps in a new
    grounding vocabulary when the catalog changes). ``budget_s`` bounds one job; keep it
    below the queue's lease so a slow job is not taken over while it still runs.
    ``counts`` tallies outcomes (``ready``, ``rejected``, ``error``, ``retry``, ``gone``,
    ``redis_error``).
    """

    def __init__(
        self,
        queue: ExplanationQueue,
        explainer_of: Callable[[], Explainer],
        *,
        budget_s: float = 20.0,
        concurrency: int = 1,
        idle_s: float = 0.25,
    ) -> None:
        self.queue = queue
        self.explainer_of = explainer_of
        self.budget_s = budget_s
        self.concurrency = concurrency
        self.idle_s = idle_s
        self.counts: Counter[str] = Counter()
        self.wake = asyncio.Event()
        self._left: int | None = None

    async def run(self, stop: asyncio.Event, max_jobs: int | None = None) -> None:
        """Work until ``stop`` is set (or, given ``max_jobs``, that many jobs are settled:
        an attempt that failed and went back in line does not count)."""
        self._left = max_jobs
        await asyncio.gather(*(self._loop(stop) for _ in range(self.concurrency)))

    async def work_one(self) -> str | None:
        """Claim and work one job: ``settled``, ``retry`` or ``gone``; None when none waited."""
        job = await self.queue.claim()
        if job is None:
            return None
        outcome = await self._explain(job)
        result = await self.queue.settle(job, outcome)
        self.counts[outcome if result == "settled" else result] += 1
        return result

    async def _explain(self, job: Job) -> Outcome:
        explainer = self.explainer_of()
        cache_errors = explainer.cache.errors if explainer.cache is not None else 0
        try:
            shown = await explainer.explain([job.evidence], job.mode, self.budget_s)
        except Exception:  # a job that breaks the explainer must not stop the worker
            log.exception("explanation job %s failed", job.id)
            return "error"
        explanation = shown[0]
        if explainer.cache is not None and explainer.cache.errors > cache_errors:
            return "error"  # written but not stored: nobody could read it, so try again
        return "error" if explanation is None else outcome_of(explanation.source)

    async def _loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set() and (self._left is None or self._left > 0):
            try:
                result = await self.work_one()
            except StoreUnavailable as exc:
                self.counts["redis_error"] += 1
                log.warning("explanation queue unavailable (%s); retrying", exc)
                result = None
            if result is not None:
                if result != "retry" and self._left is not None:
                    self._left -= 1
                continue
            # Idle: an enqueue in this process wakes us at once; other processes' jobs
            # (and ``stop``) are seen by the next poll.
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.idle_s)
