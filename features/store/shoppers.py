"""Which shoppers the store holds: the demo page's list of shoppers to try
(``service.api.routes.web``) walks the keyspace for their state hashes."""

from __future__ import annotations

from features.store import keys
from features.store.calls import Flow, command, scan, text
from features.store.state_fields import RECENT


def shoppers_with_state(limit: int) -> Flow[list[tuple[str, int]]]:
    """Up to ``limit`` shoppers that have a state (by id), each with how many products
    their recent items hold (its ``r:`` fields)."""
    (found,) = yield [scan(keys.every_user_state(), limit)]
    shoppers = sorted(keys.user_of_state(text(key)) for key in found)
    if not shoppers:
        return []
    names = yield [command("HKEYS", keys.user_state(user_id)) for user_id in shoppers]
    counts = [sum(text(name).startswith(RECENT) for name in found) for found in names]
    return list(zip(shoppers, counts, strict=True))
