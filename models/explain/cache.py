"""Generated explanations cached in Redis, keyed by the evidence they were written from.

Key format (one hash per backend and evidence pack, with a TTL)::

    shopmode:v1:explain:<backend id>:<evidence sha256>   HASH  field <mode> -> text

``<backend id>`` is e.g. ``local-smollm2-135m-instruct-q4_1`` or ``openai-gpt-4o-mini``;
the fields are the modes that wrote a text (``llm``, ``best_of``). Any change to the
evidence changes the fingerprint, so stale facts are never served; the TTL bounds memory.
Only grounded LLM texts are stored. A cache that is down or slow is a miss, never an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from features import keys


def cache_key(backend_id: str, fingerprint: str) -> str:
    return keys.explanation(backend_id, fingerprint)


class ExplanationCache:
    """Reads and writes cached texts in one pipelined round trip per batch."""

    def __init__(
        self, client: aioredis.Redis, ttl_s: int = 86_400, timeout_s: float = 0.05
    ) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.errors = 0

    async def get_many(
        self, backend_id: str, mode: str, fingerprints: Sequence[str]
    ) -> list[str | None]:
        """Cached texts in order; all misses when Redis is down or slower than the timeout."""
        if not fingerprints:
            return []
        try:
            async with asyncio.timeout(self.timeout_s):
                pipe = self.client.pipeline(transaction=False)
                for fingerprint in fingerprints:
                    pipe.hget(cache_key(backend_id, fingerprint), mode)
                raw = await pipe.execute()
        except (RedisError, OSError, TimeoutError):
            self.errors += 1
            return [None] * len(fingerprints)
        return [_text(value) for value in raw]

    async def put_many(self, backend_id: str, mode: str, texts: dict[str, str]) -> bool:
        """Store texts by fingerprint; False (and nothing raised) when Redis is unavailable."""
        if not texts:
            return True
        try:
            async with asyncio.timeout(self.timeout_s):
                pipe = self.client.pipeline(transaction=False)
                for fingerprint, text in texts.items():
                    key = cache_key(backend_id, fingerprint)
                    pipe.hset(key, mode, text)
                    pipe.expire(key, self.ttl_s)
                await pipe.execute()
        except (RedisError, OSError, TimeoutError):
            self.errors += 1
            return False
        return True


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None
