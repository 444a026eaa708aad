"""Co-occurrence neighbours in Redis: one sorted set per product
(``keys.product_cooc``: member = neighbour product id, score = neighbour score).

Written by every ``shopmode train`` (``models.retrieval.cooccurrence`` learns them); read
by the service for the shopper's recent products. The sets expire after
``NEIGHBOURS_TTL_SECONDS``: left to go rather than go stale if training stops.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice

from features.store import keys
from features.store.calls import Call, Flow, command, scored

NEIGHBOURS_TTL_SECONDS = 14 * 86_400
NeighbourMap = dict[str, list[tuple[str, float]]]


def save_neighbours(
    lists: Iterable[tuple[str, Sequence[tuple[str, float]]]], batch: int = 500
) -> Flow[int]:
    """Replace each product's neighbour set (an empty list deletes it), ``batch`` products
    per round trip; returns how many sets were written."""
    written = 0
    pending = iter(lists)
    while chunk := list(islice(pending, batch)):
        calls: list[Call] = []
        for product_id, pairs in chunk:
            key = keys.product_cooc(product_id)
            calls.append(command("DEL", key))
            if pairs:
                flat = [x for neighbour, score in pairs for x in (float(score), neighbour)]
                calls += [
                    command("ZADD", key, *flat),
                    command("EXPIRE", key, NEIGHBOURS_TTL_SECONDS),
                ]
                written += 1
        yield calls
    return written


def neighbours_of(product_ids: Sequence[str], width: int) -> Flow[NeighbourMap]:
    """The ``width`` strongest neighbours of each product, in one pipelined round trip."""
    replies = yield [
        command("ZREVRANGE", keys.product_cooc(p), 0, width - 1, "WITHSCORES") for p in product_ids
    ]
    return {p: scored(reply) for p, reply in zip(product_ids, replies, strict=True)}
