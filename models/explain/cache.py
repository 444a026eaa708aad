"""Generated explanations cached in Redis, keyed by the evidence they were written from.

Key format (one hash per backend and evidence pack, with a TTL)::

    shopmode:v1:explain:<backend id>:<evidence sha256>   HASH  field <mode> -> text
                                                               field <mode>:rejected -> "1"

``<backend id>`` is e.g. ``local-smollm2-135m-instruct-q4_1`` or ``openai-gpt-4o-mini``;
the fields are the modes that wrote a text (``llm``, ``best_of``), or that wrote only
texts the grounding check rejected (``llm:rejected``: show the template, do not ask the
backend again). Any change to the evidence changes the fingerprint, so stale facts are
never served; the TTL bounds memory. Only grounded texts and complete rejections are
stored, never a timeout or a backend error (those may succeed next time). Every key is
its own single-key command, so the same code serves a standalone Redis and a Redis
Cluster (the cluster pipeline splits commands by node). A cache that is down or slow is
a miss, never an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from features.store import keys

_REJECTED_SUFFIX = ":rejected"


def cache_key(backend_id: str, fingerprint: str) -> str:
    return keys.explanation(backend_id, fingerprint)


def rejected_field(mode: str) -> str:
    """The hash field that marks ``mode`` as rejected by the grounding check."""
    return mode + _REJECTED_SUFFIX


@dataclass(frozen=True)
class CachedOutcome:
    """What an earlier request decided for one evidence pack: a text, or a rejection."""

    text: str | None = None
    rejected: bool = False


class ExplanationCache:
    """Reads and writes cached outcomes in one pipelined round trip per batch."""

    def __init__(
        self,
        client: aioredis.Redis | RedisCluster,
        ttl_s: int = 86_400,
        timeout_s: float = 0.05,
    ) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.errors = 0

    async def get_many(
        self, backend_id: str, mode: str, fingerprints: Sequence[str]
    ) -> list[CachedOutcome | None]:
        """Cached outcomes in order; all misses when Redis is down or slower than the timeout."""
        if not fingerprints:
            return []
        try:
            async with asyncio.timeout(self.timeout_s):
                pipe = self.client.pipeline(transaction=False)
                for fingerprint in fingerprints:
                    pipe.hmget(cache_key(backend_id, fingerprint), [mode, rejected_field(mode)])
                raw = await pipe.execute()
        except (RedisError, OSError, TimeoutError):
            self.errors += 1
            return [None] * len(fingerprints)
        return [_outcome(values) for values in raw]

    async def put_many(
        self,
        backend_id: str,
        mode: str,
        texts: Mapping[str, str],
        rejected: Collection[str] = (),
    ) -> bool:
        """Store texts, and rejections, by fingerprint; False (nothing raised) when Redis is
        unavailable."""
        if not texts and not rejected:
            return True
        try:
            async with asyncio.timeout(self.timeout_s):
                pipe = self.client.pipeline(transaction=False)
                for fingerprint, text in texts.items():
                    key = cache_key(backend_id, fingerprint)
                    pipe.hset(key, mode, text)
                    pipe.expire(key, self.ttl_s)
                for fingerprint in rejected:
                    key = cache_key(backend_id, fingerprint)
                    pipe.hset(key, rejected_field(mode), "1")
                    pipe.expire(key, self.ttl_s)
                await pipe.execute()
        except (RedisError, OSError, TimeoutError):
            self.errors += 1
            return False
        return True


def _outcome(values: object) -> CachedOutcome | None:
    if not isinstance(values, list | tuple) or len(values) != 2:
        return None
    text, rejected = (_text(value) for value in values)
    if text is not None:
        return CachedOutcome(text=text)
    if rejected is not None:
        return CachedOutcome(rejected=True)
    return None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None
