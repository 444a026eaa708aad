"""The service's one async Redis connection and what it knows about its health.

Timeouts are short on purpose (``redis_socket_timeout``): a slow Redis must turn into a
degraded answer quickly, not a hung request. ``RedisHealth`` remembers the last failure;
while Redis is known to be down, requests skip it instead of waiting for another timeout,
and a background probe flips it back up once a PING succeeds. Every command goes through
the store layer's ``AsyncRunner`` (``features.store``).
"""

from __future__ import annotations

import logging
import time
from typing import TypeAlias

from features.store.connect import open_async, ping
from features.store.runner import AsyncClient, AsyncRunner
from service.settings import Settings
from shopmode.errors import StoreUnavailable

log = logging.getLogger("shopmode.service")

AsyncRedis: TypeAlias = AsyncClient


def open_redis(url: str, settings: Settings, socket_timeout: float | None = None) -> AsyncRedis:
    """A standalone or cluster async client with the service's short timeouts (a longer
    ``socket_timeout`` for a connection that blocks on purpose, like a stream follower)."""
    timeout = socket_timeout or settings.redis_socket_timeout
    return open_async(url, cluster=settings.redis_cluster, timeout=timeout)


class RedisHealth:
    """Up/down state of the store as seen by this process."""

    def __init__(self, store: AsyncRunner) -> None:
        self.store = store
        self.up = True
        self.last_error: str | None = None
        self.down_since: float | None = None

    def mark_down(self, exc: BaseException) -> None:
        if self.up:
            log.warning("Redis is unavailable: %s", exc)
            self.down_since = time.monotonic()
        self.up = False
        # The store's errors already say what failed; others get their type.
        known = isinstance(exc, StoreUnavailable)
        self.last_error = str(exc) if known else f"{type(exc).__name__}: {exc}"

    def mark_up(self) -> None:
        if not self.up:
            log.info("Redis is reachable again")
        self.up = True
        self.last_error = None
        self.down_since = None

    async def probe(self) -> bool:
        """PING once; update the state; True when Redis answered."""
        try:
            await self.store.run(ping())
        except StoreUnavailable as exc:
            self.mark_down(exc)
            return False
        self.mark_up()
        return True
