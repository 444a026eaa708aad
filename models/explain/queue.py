"""The explanation job queue: bounded, prioritised, deduplicated, safe against dead workers.

One queue per LLM backend in Redis (keys ``features.store.keys.explain_queue``, one cluster slot,
so every step is one atomic script in ``models/explain/lua/``). Every Redis command of the
queue is in this module.

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
from importlib import resources
from typing import Any, Literal

import orjson
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from features.store import keys
from models.evidence import Evidence

Outcome = Literal["ready", "rejected", "error", "dropped"]
JobState = Literal["pending", "leased", "ready", "rejected", "error", "dropped", "unknown"]
RANK_DELAY_S = 1.0
_PARTS = ("pending", "jobs", "meta", "outcomes", "settled", "done", "leased")


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


def _script(name: str) -> str:
    return resources.files("models.explain").joinpath("lua", name).read_text(encoding="utf-8")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class ExplanationQueue:
    """A backend's queue of explanation jobs in Redis (standalone or cluster)."""

    def __init__(
        self,
        client: aioredis.Redis | RedisCluster,
        backend_id: str,
        *,
        max_jobs: int = 500,
        lease_s: float = 30.0,
        max_attempts: int = 3,
        retention_s: float = 900.0,
        done_maxlen: int = 10_000,
    ) -> None:
        self.client = client
        self.backend_id = backend_id
        self.max_jobs = max_jobs
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.retention_s = retention_s
        self.done_maxlen = done_maxlen
        self.keys = [keys.explain_queue(backend_id, part) for part in _PARTS]
        self._enqueue = client.register_script(_script("enqueue.lua"))
        self._claim = client.register_script(_script("claim.lua"))
        self._settle = client.register_script(_script("settle.lua"))

    @property
    def done_key(self) -> str:
        return self.keys[_PARTS.index("done")]

    async def enqueue(self, requests: Sequence[Request], now: float | None = None) -> list[bool]:
        """Queue each request (True) or refuse it because the queue is full (False)."""
        if not requests:
            return []
        now = time.time() if now is None else now
        args: list[str | int | float | bytes] = [self.max_jobs, self.done_maxlen, now]
        for request in requests:
            payload = orjson.dumps(
                {"mode": request.mode, "evidence": request.evidence.model_dump(mode="json")}
            )
            args += [request.id, now + RANK_DELAY_S * request.rank, payload]
        statuses = await self._enqueue(keys=self.keys[:6], args=args)
        return [_text(s) == "queued" for s in statuses]

    async def claim(self, now: float | None = None) -> Job | None:
        """Lease the most urgent job, or None when nothing waits."""
        now = time.time() if now is None else now
        args = [now, self.lease_s, self.max_attempts, self.retention_s, self.done_maxlen]
        found = await self._claim(keys=self.keys, args=args)
        if not found:
            return None
        raw_id, payload, attempts = found
        data = orjson.loads(payload)
        return Job(
            id=_text(raw_id),
            mode=str(data["mode"]),
            evidence=Evidence.model_validate(data["evidence"]),
            attempts=int(attempts),
        )

    async def settle(self, job: Job, outcome: Outcome, now: float | None = None) -> str:
        """Record a worker's outcome: ``settled``, ``retry`` (an error with attempts left)
        or ``gone`` (settled already by a worker that took over an expired lease)."""
        now = time.time() if now is None else now
        args: list[str | int | float] = [job.id, outcome, now, self.max_attempts, self.done_maxlen]
        return _text(await self._settle(keys=self.keys, args=args))

    async def states(self, ids: Sequence[str]) -> list[JobState]:
        """Where each job is: waiting, leased, settled (by outcome), or unknown."""
        if not ids:
            return []
        pending, _, _, outcomes, _, _, leased = self.keys
        pipe = self.client.pipeline(transaction=False)
        pipe.zmscore(pending, list(ids))
        pipe.zmscore(leased, list(ids))
        pipe.hmget(outcomes, list(ids))
        waiting, working, settled = await pipe.execute()
        out: list[JobState] = []
        for queued, busy, outcome in zip(waiting, working, settled, strict=True):
            if queued is not None:
                out.append("pending")
            elif busy is not None:
                out.append("leased")
            elif outcome is not None:
                out.append(_outcome(_text(outcome)))
            else:
                out.append("unknown")
        return out

    async def depth(self) -> tuple[int, int]:
        """(waiting, leased) job counts."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zcard(self.keys[0])
        pipe.zcard(self.keys[-1])
        waiting, leased = await pipe.execute()
        return int(waiting), int(leased)

    async def settled_since(
        self, last_id: str, block_ms: int, count: int = 256
    ) -> tuple[str, list[tuple[str, str]]]:
        """Settled jobs announced after ``last_id`` (``$``: from now), waiting up to
        ``block_ms``; the new last id and (job id, outcome) pairs."""
        found: Any = await self.client.xread({self.done_key: last_id}, count=count, block=block_ms)
        pairs: list[tuple[str, str]] = []
        for _, entries in found or []:
            for entry_id, fields in entries:
                last_id = _text(entry_id)
                values = {_text(k): _text(v) for k, v in fields.items()}
                pairs.append((values.get("job", ""), values.get("outcome", "")))
        return last_id, pairs

    async def last_settled_id(self) -> str:
        """The id of the newest ``done`` entry (``0-0`` when none): where a follower starts."""
        newest = await self.client.xrevrange(self.done_key, count=1)
        return _text(newest[0][0]) if newest else "0-0"


def _outcome(value: str) -> JobState:
    if value in ("ready", "rejected", "error", "dropped"):
        return value  # type: ignore[return-value]
    return "unknown"
