"""Ranking metrics against values worked out by hand on tiny inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluation.metrics import (
    catalog_coverage,
    hit_rate_at_k,
    intra_list_diversity,
    map_at_k,
    ndcg_at_k,
    novelty,
    recall_at_k,
)
from models.ranking.judgements import Judgements

# list 0: relevant 1 (purchase, 3) and 2 (click, 1) at ranks 2 and 3
# list 1: nothing relevant (left out of every average)
# list 2: relevant 9 (cart, 2) at rank 3
RANKED = np.array([[5, 1, 2, -1], [0, 1, 2, 3], [7, 8, 9, 4]], dtype=np.int64)
TRUTH = Judgements(
    items=[np.array([1, 2]), np.array([], dtype=np.int64), np.array([9])],
    gains=[np.array([3.0, 1.0]), np.array([], dtype=np.float64), np.array([2.0])],
)


def test_ndcg_matches_hand_computation() -> None:
    dcg0 = 7 / math.log2(3) + 1 / math.log2(4)
    idcg0 = 7 / 1 + 1 / math.log2(3)
    ndcg2 = (3 / math.log2(4)) / 3
    assert ndcg_at_k(RANKED, TRUTH, 3) == pytest.approx((dcg0 / idcg0 + ndcg2) / 2)


def test_ndcg_of_the_ideal_ranking_is_one() -> None:
    ranked = np.array([[1, 2, 5], [9, 0, 4]], dtype=np.int64)
    truth = Judgements(
        items=[np.array([2, 1]), np.array([9])], gains=[np.array([1.0, 3.0]), np.array([2.0])]
    )
    assert ndcg_at_k(ranked, truth, 3) == pytest.approx(1.0)


def test_recall_and_hit_rate() -> None:
    assert recall_at_k(RANKED, TRUTH, 1) == 0.0
    assert recall_at_k(RANKED, TRUTH, 2) == pytest.approx((0.5 + 0.0) / 2)
    assert recall_at_k(RANKED, TRUTH, 3) == pytest.approx(1.0)
    assert hit_rate_at_k(RANKED, TRUTH, 2) == pytest.approx(0.5)
    assert hit_rate_at_k(RANKED, TRUTH, 3) == pytest.approx(1.0)


def test_map_matches_hand_computation() -> None:
    ap0 = (1 / 2 + 2 / 3) / 2
    ap2 = (1 / 3) / 1
    assert map_at_k(RANKED, TRUTH, 3) == pytest.approx((ap0 + ap2) / 2)


def test_coverage_counts_distinct_products_in_top_k() -> None:
    assert catalog_coverage(RANKED, n_products=20, k=2) == pytest.approx(5 / 20)


def test_intra_list_diversity_is_one_minus_shared_attribute_share() -> None:
    category = np.array([0, 0, 1, 1])
    brand = np.array([0, 1, 0, 1])
    ranked = np.array([[0, 1, 2], [0, 1, -1]], dtype=np.int64)
    # list 0 pairs: (0,1) share category -> 0.5; (0,2) share brand -> 0.5; (1,2) none -> 0
    # list 1 pair (0,1): 0.5
    expected = ((1 - (0.5 + 0.5 + 0.0) / 3) + (1 - 0.5)) / 2
    assert intra_list_diversity(ranked, [category, brand], k=3) == pytest.approx(expected)


def test_novelty_is_mean_self_information() -> None:
    popularity = np.array([6.0, 2.0, 0.0])  # share with smoothing: 6/8.5, 2/8.5, 0.5/8.5
    ranked = np.array([[0, 1], [2, -1]], dtype=np.int64)
    expected = -(math.log2(6 / 8.5) + math.log2(2 / 8.5) + math.log2(0.5 / 8.5)) / 3
    assert novelty(ranked, popularity, k=2) == pytest.approx(expected)
