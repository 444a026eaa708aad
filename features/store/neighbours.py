"""Neighbours fitted by training, in Redis: one sorted set per product and family
(member = neighbour product id, score = neighbour score): ``cooc`` (``keys.product_cooc``,
learned by ``models.retrieval.cooccurrence``) and ``knn`` (``keys.product_knn``, item-kNN
from ``models.retrieval.learned``); and the popularity over the fitted window
(``keys.popular_window``).

Written by every ``shopmode train``; read by the service for the shopper's recent
products. Every key expires after ``NEIGHBOURS_TTL_SECONDS``: left to go rather than go
stale if training stops.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from features.store import keys
from features.store.calls import Call, Flow, command, scored, script

NEIGHBOURS_TTL_SECONDS = 14 * 86_400
NeighbourMap = dict[str, list[tuple[str, float]]]
_FAMILY = {"cooc": keys.product_cooc, "knn": keys.product_knn}


def save_neighbours(
    lists: Iterable[tuple[str, Sequence[tuple[str, float]]]],
    batch: int = 500,
    family: str = "cooc",
) -> Flow[int]:
    """Replace each product's neighbour set of ``family`` (an empty list deletes it),
    ``batch`` products per round trip; returns how many sets were written."""
    key_of = _FAMILY[family]
    written = 0
    pending = iter(lists)
    while chunk := list(islice(pending, batch)):
        calls: list[Call] = []
        for product_id, pairs in chunk:
            key = key_of(product_id)
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


def neighbours_of(
    product_ids: Sequence[str], width: int, family: str = "cooc"
) -> Flow[NeighbourMap]:
    """The ``width`` strongest neighbours of each product, in one pipelined round trip."""
    key_of = _FAMILY[family]
    replies = yield [
        command("ZREVRANGE", key_of(p), 0, width - 1, "WITHSCORES") for p in product_ids
    ]
    return {p: scored(reply) for p, reply in zip(product_ids, replies, strict=True)}


def save_popular_window(ranked: Sequence[tuple[str, float]]) -> Flow[int]:
    """Replace the fitted-window popularity ranking; returns how many products it holds."""
    key = keys.popular_window()
    calls = [command("DEL", key)]
    if ranked:
        flat = [x for product, score in ranked for x in (float(score), product)]
        calls += [command("ZADD", key, *flat), command("EXPIRE", key, NEIGHBOURS_TTL_SECONDS)]
    yield calls
    return len(ranked)


@dataclass(frozen=True)
class LearnedInputs:
    """What one request reads of the training-fitted sources."""

    cooc: NeighbourMap
    knn: NeighbourMap
    popular_window: list[tuple[str, float]]


def learned_inputs(
    recent: Sequence[str], history: Sequence[str], width: int, knn_width: int, depth: int
) -> Flow[LearnedInputs]:
    """Co-occurrence neighbours of ``recent``, kNN neighbours of ``history`` and the
    fitted-window popularity's top ``depth``, in one pipelined round trip."""
    calls = neighbour_calls(recent, history, width, knn_width)
    replies = yield [*calls, popular_window_call(depth)]
    return decode_learned(recent, history, replies[:-1], replies[-1])


def neighbour_calls(
    recent: Sequence[str],
    history: Sequence[str],
    width: int,
    knn_width: int,
    *,
    cluster: bool = True,
) -> list[Call]:
    """The co-occurrence neighbours of ``recent`` then the kNN ones of ``history``: one
    ZREVRANGE each on a cluster (a slot each), one ``top_members`` script call on a
    standalone server (one command to send and parse, not one per list);
    ``neighbour_replies`` gives one reply per list either way."""
    lists = [(keys.product_cooc(p), width) for p in recent]
    lists += [(keys.product_knn(p), knn_width) for p in history]
    if cluster or len(lists) < 2:
        return [command("ZREVRANGE", key, 0, n - 1, "WITHSCORES") for key, n in lists]
    return [script("top_members", [key for key, _ in lists], [n for _, n in lists])]


def neighbour_replies(replies: Sequence[Any], lists: int, *, cluster: bool = True) -> list[Any]:
    """One reply per list from the replies to ``neighbour_calls`` (``lists`` of them)."""
    if cluster or lists < 2:
        return list(replies[:lists])
    return list(replies[0])


def popular_window_call(depth: int) -> Call:
    return command("ZREVRANGE", keys.popular_window(), 0, depth - 1, "WITHSCORES")


def decode_learned(
    recent: Sequence[str],
    history: Sequence[str],
    neighbour_replies: Sequence[Any],
    popular_reply: Any,
) -> LearnedInputs:
    """``LearnedInputs`` from the replies to ``neighbour_calls`` and ``popular_window_call``."""
    cooc = neighbour_replies[: len(recent)]
    knn = neighbour_replies[len(recent) :]
    return LearnedInputs(
        cooc={p: scored(r) for p, r in zip(recent, cooc, strict=True)},
        knn={p: scored(r) for p, r in zip(history, knn, strict=True)},
        popular_window=scored(popular_reply),
    )
