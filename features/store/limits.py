"""Request counting for the service's rate limit: a fixed window per identity, counted
atomically by one script call (``lua/rate_limit.lua``) on ``keys.rate_limit``."""

from __future__ import annotations

from features.store import keys
from features.store.calls import Flow, script


def count_request(identity: str, window: int, window_seconds: int) -> Flow[tuple[int, int]]:
    """Count one request of ``identity`` in window number ``window``: (requests so far in
    the window, seconds until it ends)."""
    key = keys.rate_limit(identity, window)
    ((count, ttl),) = yield [script("rate_limit", [key], [window_seconds])]
    return int(count), int(ttl)
