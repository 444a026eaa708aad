"""Which shoppers the store holds: the demo page's list of shoppers to try
(``service.api.routes.web``) walks the keyspace for their state hashes."""

from __future__ import annotations

from features.store import keys
from features.store.calls import Flow, command, scan, text


def shoppers_with_state(limit: int) -> Flow[list[tuple[str, int]]]:
    """Up to ``limit`` shoppers that have a state (by id), each with how many products
    their recent items hold."""
    (found,) = yield [scan(keys.every_user_state(), limit)]
    shoppers = sorted(keys.user_of_state(text(key)) for key in found)
    if not shoppers:
        return []
    counts = yield [command("ZCARD", keys.user_recent(user_id)) for user_id in shoppers]
    return [(user_id, int(n)) for user_id, n in zip(shoppers, counts, strict=True)]
