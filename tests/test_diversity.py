"""MMR re-ranking spreads brands and categories; diversity 0 keeps the ranker's order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.recommend.diversity import intra_list_diversity, likeness, mmr_order

# Ten products: the six best are all one brand in one category.
RELEVANCE = [0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.60, 0.55, 0.50, 0.45]
CATEGORIES = ["Tents"] * 6 + ["Backpacks", "Hiking Boots", "Tents", "Sleeping Bags"]
BRANDS = ["Northpeak"] * 6 + ["Cedarline", "Foxwave", "Oakhaus", "Northpeak"]


def _repeats(order: list[int], k: int) -> int:
    shown = [(CATEGORIES[i], BRANDS[i]) for i in order[:k]]
    return len(shown) - len(set(shown))


def test_zero_diversity_keeps_the_ranking() -> None:
    assert mmr_order(RELEVANCE, CATEGORIES, BRANDS, 0.0, 5) == [0, 1, 2, 3, 4]


def test_diversity_limits_repeats_of_one_brand_and_category() -> None:
    plain = mmr_order(RELEVANCE, CATEGORIES, BRANDS, 0.0, 5)
    diverse = mmr_order(RELEVANCE, CATEGORIES, BRANDS, 0.7, 5)
    assert diverse[0] == 0  # the best product still leads
    assert _repeats(diverse, 5) < _repeats(plain, 5)
    assert {BRANDS[i] for i in diverse} >= {"Northpeak", "Cedarline", "Foxwave", "Oakhaus"}
    assert intra_list_diversity(
        [CATEGORIES[i] for i in diverse], [BRANDS[i] for i in diverse]
    ) > intra_list_diversity([CATEGORIES[i] for i in plain], [BRANDS[i] for i in plain])


def test_more_diversity_never_lowers_intra_list_diversity_here() -> None:
    values = []
    for weight in (0.0, 0.3, 0.6, 1.0):
        order = mmr_order(RELEVANCE, CATEGORIES, BRANDS, weight, 6)
        values.append(
            intra_list_diversity([CATEGORIES[i] for i in order], [BRANDS[i] for i in order])
        )
    assert values == sorted(values)
    assert values[0] < values[-1]


def test_intra_list_diversity_bounds() -> None:
    assert intra_list_diversity(["a", "a", "a"], ["x", "x", "x"]) == 0.0
    assert intra_list_diversity(["a", "b", "c"], ["x", "y", "z"]) == 1.0
    assert intra_list_diversity(["a", "a"], ["x", "y"]) == 0.5
    assert intra_list_diversity(["a"], ["x"]) == 0.0


def test_likeness_is_half_category_half_brand() -> None:
    alike = likeness(["a", "a", "b"], ["x", "y", "x"])
    assert alike.tolist() == [[1.0, 0.5, 0.5], [0.5, 1.0, 0.0], [0.5, 0.0, 1.0]]


def test_bad_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="diversity"):
        mmr_order(RELEVANCE, CATEGORIES, BRANDS, 1.5, 3)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-5, 5), st.sampled_from("abc"), st.sampled_from("xyz")),
        min_size=0,
        max_size=30,
    ),
    st.floats(0, 1),
    st.integers(0, 40),
)
def test_mmr_returns_distinct_positions(
    rows: list[tuple[float, str, str]], weight: float, k: int
) -> None:
    rel = np.array([r[0] for r in rows])
    order = mmr_order(rel, [r[1] for r in rows], [r[2] for r in rows], weight, k)
    assert len(order) == min(k, len(rows))
    assert len(set(order)) == len(order)
    if order:
        assert rel[order[0]] == rel.max() or weight > 0
