"""The explanation job queue: bounded, prioritised, deduplicated, safe against dead workers.

One queue per LLM backend in Redis (keys ``features.store.keys.explain_queue``, one cluster
slot, so every step is one atomic script; its commands are the store's flows in
``features.store.explain_queue``, run here on a store runner).

- ``enqueue``: a job per (mode, evidence fingerprint); the same job asked for again keeps
  one entry and the better priority. Priority is the time asked plus ``RANK_DELAY_S`` per
  rank: what a shopper sees first is written first, and a page's tenth item still comes
  before the top item of a page asked for ten seconds later. At ``max_jobs`` the least
  urgent job makes way (its outcome is ``dropped``), or a new job is refused (``full``):
  nothing is lost without a word.
- ``claim``: the most urgent job, leased for ``lease_s``. A lease that runs out (the
  worker died or hung) puts the job back in line; after ``max_attempts`` its outcome is
  ``error``.
- ``settle``: ``ready`` (a text is in the explanation cache), ``rejected`` (every text
  failed the grounding check; the template stays) or ``error`` (tried again while
  attempts remain). Outcomes are kept ``retention_s`` and announced on the ``done``
  stream, which API processes follow to push texts to pages as they are written.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import orjson

from features.store import explain_queue as flows
from features.store.runner import AsyncRunner
from models.evidence import Evidence

Outcome = Literal["ready", "rejected", "error", "dropped"]
JobState = Literal["pending", "leased", "ready", "rejected", "error", "dropped", "unknown"]
RANK_DELAY_S = 1.0


def job_id(mode: str, fingerprint: str) -> str:
    return f"{mode}:{fingerprint}"


@dataclass(frozen=True)
class Job:
    id: str
    mode: str
    evidence: Evidence
    attempts: int


@dataclass(frozen=True)
class Request:
    """What a page asks for: one explanation of ``evidence`` in ``mode``, at ``rank``."""

    evidence: Evidence
    mode: str
    rank: int = 0

    @property
    def id(self) -> str:
        return job_id(self.mode, self.evidence.fingerprint())


class ExplanationQueue:
    """A backend's queue of explanation jobs in Redis (standalone or cluster). Redis
    failures raise ``StoreUnavailable`` (the runner's word for them)."""

    def __init__(
        self,
        runner: AsyncRunner,
        backend_id: str,
        *,
        max_jobs: int = 500,
        lease_s: float = 30.0,
        max_attempts: int = 3,
        retention_s: float = 900.0,
        done_maxlen: int = 10_000,
    ) -> None:
        self.runner = runner
        self.backend_id = backend_id
        self.max_jobs = max_jobs
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.retention_s = retention_s
        self.done_maxlen = done_maxlen

    async def enqueue(self, requests: Sequence[Request], now: float | None = None) -> list[bool]:
        """Queue each request (True) or refuse it because the queue is full (False)."""
        if not requests:
            return []
        now = time.time() if now is None else now
        jobs = [
            (
                request.id,
                now + RANK_DELAY_S * request.rank,
                orjson.dumps(
                    {"mode": request.mode, "evidence": request.evidence.model_dump(mode="json")}
                ),
            )
            for request in requests
        ]
        flow = flows.enqueue_jobs(self.backend_id, jobs, self.max_jobs, self.done_maxlen, now)
        return [status == "queued" for status in await self.runner.run(flow)]

    async def claim(self, now: float | None = None) -> Job | None:
        """Lease the most urgent job, or None when nothing waits."""
        now = time.time() if now is None else now
        found = await self.runner.run(
            flows.claim_job(
                self.backend_id,
                now,
                self.lease_s,
                self.max_attempts,
                self.retention_s,
                self.done_maxlen,
            )
        )
        if found is None:
            return None
        job, payload, attempts = found
        data = orjson.loads(payload)
        return Job(
            id=job,
            mode=str(data["mode"]),
            evidence=Evidence.model_validate(data["evidence"]),
            attempts=attempts,
        )

    async def settle(self, job: Job, outcome: Outcome, now: float | None = None) -> str:
        """Record a worker's outcome: ``settled``, ``retry`` (an error with attempts left)
        or ``gone`` (settled already by a worker that took over an expired lease)."""
        now = time.time() if now is None else now
        return await self.runner.run(
            flows.settle_job(
                self.backend_id, job.id, outcome, now, self.max_attempts, self.done_maxlen
            )
        )

    async def states(self, ids: Sequence[str]) -> list[JobState]:
        """Where each job is: waiting, leased, settled (by outcome), or unknown."""
        if not ids:
            return []
        places = await self.runner.run(flows.job_places(self.backend_id, list(ids)))
        out: list[JobState] = []
        for queued, busy, outcome in places:
            if queued:
                out.append("pending")
            elif busy:
                out.append("leased")
            elif outcome is not None:
                out.append(_outcome(outcome))
            else:
                out.append("unknown")
        return out

    async def depth(self) -> tuple[int, int]:
        """(waiting, leased) job counts."""
        return await self.runner.run(flows.queue_depth(self.backend_id))

    async def settled_since(
        self, last_id: str, block_ms: int, count: int = 256
    ) -> tuple[str, list[tuple[str, str]]]:
        """Settled jobs announced after ``last_id``, waiting up to ``block_ms``; the new
        last id and (job id, outcome) pairs."""
        return await self.runner.run(flows.settled_since(self.backend_id, last_id, block_ms, count))

    async def last_settled_id(self) -> str:
        """The id of the newest ``done`` entry (``0-0`` when none): where a follower starts."""
        return await self.runner.run(flows.last_settled(self.backend_id))


def _outcome(value: str) -> JobState:
    if value in ("ready", "rejected", "error", "dropped"):
        return value  # type: ignore[return-value]
    return "unknown"
