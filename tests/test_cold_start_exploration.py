"""New products get a bounded share of the list until they have signals of their own."""

from __future__ import annotations

import numpy as np
import pytest

from models.recommend.exploration import DAY, ExplorationPolicy, with_exploration

NOW = 1_800_000_000.0


def test_new_means_recent_and_short_of_signals() -> None:
    policy = ExplorationPolicy(weight=0.2, max_age_days=30, min_signals=5)
    launch = np.array([NOW - 2 * DAY, NOW - 2 * DAY, NOW - 90 * DAY, np.nan, NOW + DAY])
    signals = np.array([0.0, 12.0, 0.0, 0.0, 0.0])
    assert policy.is_new(launch, signals, NOW).tolist() == [True, False, False, False, False]


def test_slots_are_a_bounded_share() -> None:
    policy = ExplorationPolicy(weight=0.2)
    assert [policy.slots(k) for k in (1, 4, 5, 10, 24)] == [0, 0, 1, 2, 4]
    with pytest.raises(ValueError, match="weight"):
        ExplorationPolicy(weight=0.9)


def test_new_products_fill_only_their_slots() -> None:
    n = 40
    scores = np.linspace(1.0, 0.0, n)
    new = np.zeros(n, dtype=bool)
    new[[30, 31, 32, 33]] = True  # new arrivals rank far down: no signals yet
    policy = ExplorationPolicy(weight=0.2)
    result = with_exploration(list(range(n)), scores, new, 10, policy, np.random.default_rng(0))
    assert len(result.order) == 10
    assert len(set(result.order)) == 10
    shown_new = [i for i in result.order if new[i]]
    assert len(shown_new) == 2
    assert result.explored == frozenset(shown_new)
    assert result.order[0] == 0  # the top stays earned
    assert [i for i in result.order if not new[i]] == [0, 1, 2, 3, 4, 5, 6, 7]


def test_new_products_that_earned_a_place_use_up_the_slots() -> None:
    n = 40
    scores = np.linspace(1.0, 0.0, n)
    new = np.zeros(n, dtype=bool)
    new[[1, 2, 30, 31]] = True
    policy = ExplorationPolicy(weight=0.2)
    result = with_exploration(list(range(n)), scores, new, 10, policy, np.random.default_rng(0))
    assert result.order == list(range(10))
    assert result.explored == frozenset()


def test_exposure_spreads_over_new_arrivals() -> None:
    n = 30
    scores = np.linspace(1.0, 0.0, n)
    new = np.zeros(n, dtype=bool)
    new[20:30] = True
    policy = ExplorationPolicy(weight=0.1)
    shown: set[int] = set()
    for user in range(60):
        rng = np.random.default_rng(user)
        shown |= with_exploration(list(range(n)), scores, new, 10, policy, rng).explored
    assert len(shown) >= 5  # not always the same new product


def test_zero_weight_means_no_exploration() -> None:
    scores = np.array([0.9, 0.8, 0.1, 0.05])
    new = np.array([False, False, False, True])
    policy = ExplorationPolicy(weight=0.0)
    result = with_exploration([0, 1, 2, 3], scores, new, 3, policy, np.random.default_rng(1))
    assert result.order == [0, 1, 2]
    assert result.explored == frozenset()


def test_declared_interests_take_every_other_place() -> None:
    from models.recommend.arrangement import interleave_promoted

    order = np.arange(12)
    promoted = np.zeros(12, dtype=bool)
    promoted[[7, 9, 10, 11]] = True
    out = interleave_promoted(order, promoted, k=6).tolist()
    assert out[:6] == [0, 7, 1, 9, 2, 10]
    assert sorted(out) == list(range(12))
    earned = np.zeros(12, dtype=bool)
    earned[[0, 8]] = True
    assert interleave_promoted(order, earned, k=6).tolist()[:5] == [0, 1, 2, 8, 3]
