"""Everything one recommendation reads of a shopper, in two pipelined round trips at most.

The first batch reads what needs nothing but the shopper's id: their state (hash and
recent set), their whole-history set when the request excludes what they have, their
region, and the fitted-window popularity. What the second reads depends on that state,
so the caller's ``NextReads`` decides it: the co-occurrence neighbours of the recent
products, the item-kNN neighbours of the history (one script call for all the lists on a
standalone server, one ZREVRANGE per list on a cluster), and the region's trending
products for a shopper with no behaviour yet. A second batch with nothing in it costs no round
trip (the runners send nothing for an empty batch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from features.state import UserState, decode_user_state
from features.store.calls import Call, Flow, optional_text
from features.store.flows import decode_user_replies, user_calls
from features.store.neighbours import (
    LearnedInputs,
    decode_learned,
    neighbour_calls,
    neighbour_replies,
    popular_window_call,
)
from features.store.owned import OwnedProducts, decode_owned, owned_calls
from features.store.regions import decode_trending, region_call, trending_call


@dataclass(frozen=True)
class NextReads:
    """What the second batch reads, decided from the shopper's state."""

    recent: Sequence[str]  # whose co-occurrence neighbours
    history: Sequence[str]  # whose item-kNN neighbours
    region_trending: bool  # the region's trending products (a shopper with no behaviour)


@dataclass(frozen=True)
class ReadWidths:
    """How much of each list a request reads."""

    neighbours: int  # co-occurrence neighbours per recent product
    knn: int  # item-kNN neighbours per history product
    popular_depth: int  # the fitted-window popularity's top
    trending: int  # the region's trending products


@dataclass(frozen=True)
class ShopperReads:
    state: UserState
    owned: OwnedProducts  # empty unless asked for
    learned: LearnedInputs
    region: str | None  # read only for a shopper whose region's trending was asked for
    trending: tuple[tuple[str, float], ...]


def shopper_reads(
    user_id: str,
    at: float,
    widths: ReadWidths,
    next_reads: Callable[[UserState], NextReads],
    *,
    owned: bool,
    cluster: bool,
    popular: bool = True,
) -> Flow[ShopperReads]:
    """The shopper's state (as of ``at``), what they own (``owned``), the learned sources'
    inputs (the fitted-window popularity only when ``popular``: else an empty list) and,
    when ``next_reads`` asks, their region's trending products."""
    state_calls = user_calls(user_id)
    first: list[Call] = [*state_calls, region_call(user_id)]
    if popular:
        first.append(popular_window_call(widths.popular_depth))
    if owned:
        first += owned_calls(user_id)
    replies = yield first
    n = len(state_calls)
    state = decode_user_state(user_id, *decode_user_replies(replies[:n]), at)
    stored_region = optional_text(replies[n])
    popular_reply = replies[n + 1] if popular else []
    rest = n + 2 if popular else n + 1
    found = decode_owned(replies[rest:]) if owned else OwnedProducts()
    then = next_reads(state)
    region = stored_region if then.region_trending else None
    second = neighbour_calls(
        then.recent, then.history, widths.neighbours, widths.knn, cluster=cluster
    )
    sent = len(second)
    if region is not None:
        second.append(trending_call(region, widths.trending))
    more = yield second
    lists = neighbour_replies(more[:sent], len(then.recent) + len(then.history), cluster=cluster)
    return ShopperReads(
        state=state,
        owned=found,
        learned=decode_learned(then.recent, then.history, lists, popular_reply),
        region=region,
        trending=tuple(decode_trending(more[sent])) if region is not None else (),
    )
