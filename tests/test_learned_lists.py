"""What a recommender holds of its model's fitted lists (``models.recommend.learned_lists``):
read once, decoded once, bounded, re-read when old; lists a caller passes are used as
given. And the store read that skips the fitted-window popularity when it is held."""

from __future__ import annotations

import numpy as np
import pytest
import redis
from features_support import small_catalog
from test_shopper_reads import AT, WIDTHS, _counted, _plan, _read, _seed

from features.store.calls import Call
from features.store.neighbours import LearnedInputs
from features.store.shopper_reads import ShopperReads, shopper_reads
from models.recommend.learned_lists import LearnedLists, decode_pairs

CATALOG = small_catalog()
LISTS = LearnedInputs(
    cooc={"p1": [("p*4", 0.9), ("gone", 0.6), ("p 5", 0.5)]},
    knn={"p{3}": [("p 5", 0.7)], "p1": []},
    popular_window=[("p 5", 3.0), ("p1", 2.0)],
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lists_are_read_once_then_held() -> None:
    lists = LearnedLists(CATALOG)
    assert lists.missing("cooc", ["p1", "p:2"]) == ["p1", "p:2"]
    assert lists.needs_popular()
    held = lists.complete(LISTS, ["p1"], ["p{3}", "p1"], popular_fetched=True)
    assert held == LISTS
    assert lists.missing("cooc", ["p1", "p:2"]) == ["p:2"]
    assert lists.missing("knn", ["p{3}", "p1"]) == []  # an empty list is held too
    assert not lists.needs_popular()
    # Nothing read this time: everything comes from what is held.
    nothing = LearnedInputs(cooc={}, knn={}, popular_window=[])
    again = lists.complete(nothing, ["p1"], ["p{3}"], popular_fetched=False)
    assert again.cooc == LISTS.cooc
    assert again.knn == {"p{3}": LISTS.knn["p{3}"]}
    assert again.popular_window == LISTS.popular_window


def test_a_held_list_is_decoded_once_and_a_callers_list_afresh() -> None:
    lists = LearnedLists(CATALOG)
    held = lists.complete(LISTS, ["p1"], [], popular_fetched=True)
    decode = lists.decoder("cooc")
    first = decode("p1", held.cooc["p1"])
    assert decode("p1", held.cooc["p1"]) is first
    index, score = first
    assert [str(CATALOG.product_ids[i]) for i in index] == ["p*4", "p 5"]  # "gone" dropped
    np.testing.assert_array_equal(score, [0.9, 0.5])
    # An equal list that is not the held object is the caller's: decoded as given.
    other = [("p 5", 0.1)]
    index, score = decode("p1", other)
    assert [str(CATALOG.product_ids[i]) for i in index] == ["p 5"]
    assert lists.popular(held.popular_window) is lists.popular(held.popular_window)
    np.testing.assert_array_equal(
        lists.popular(held.popular_window)[1], decode_pairs(CATALOG, LISTS.popular_window)[1]
    )


def test_the_least_recently_used_go_first_and_old_lists_are_read_again() -> None:
    clock = Clock()
    lists = LearnedLists(CATALOG, capacity=2, max_age_seconds=60.0, clock=clock)
    many = LearnedInputs(
        cooc={"p1": [("p 5", 1.0)], "p:2": [("p1", 1.0)]}, knn={}, popular_window=[]
    )
    lists.complete(many, ["p1", "p:2"], [], popular_fetched=False)
    assert lists.missing("cooc", ["p1"]) == []  # p1 is now the most recently used
    lists.complete(LearnedInputs(cooc={"p{3}": []}, knn={}, popular_window=[]), ["p{3}"], [], False)
    assert len(lists) == 2
    assert lists.missing("cooc", ["p1", "p:2", "p{3}"]) == ["p:2"]
    clock.now = 61.0
    assert lists.missing("cooc", ["p1", "p{3}"]) == ["p1", "p{3}"]
    assert len(lists) == 0


@pytest.mark.parametrize("held", [False, True])
def test_the_store_read_skips_the_popularity_when_held(
    store_client: redis.Redis, held: bool
) -> None:
    runner = _seed(store_client)
    next_reads, _ = _plan(["p1"], [])
    everything, sent = _read(runner, "ann", next_reads, owned=True)
    batches: list[list[Call]] = []
    flow = shopper_reads(
        "ann", AT, WIDTHS, next_reads, owned=True, cluster=runner.cluster, popular=not held
    )
    found: ShopperReads = runner.run(_counted(flow, batches))
    assert (found.state, found.owned) == (everything.state, everything.owned)
    assert found.learned.cooc == everything.learned.cooc
    assert len(batches[0]) == len(sent[0]) - held
    assert found.learned.popular_window == ([] if held else everything.learned.popular_window)
