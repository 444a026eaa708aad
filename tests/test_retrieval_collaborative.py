"""Collaborative and content candidate sources (models/retrieval/: collaborative.py,
content.py, interactions.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from features.catalog import Catalog
from models.retrieval.collaborative import ALS, EASE, ItemKNN
from models.retrieval.content import ContentIndex
from models.retrieval.interactions import InteractionMatrix, histories_at, top_unseen

# Two tastes that never mix: shoppers 0-19 engage with products 0-9, shoppers 20-39 with
# products 10-19; each shopper with six products of their side.
GROUP = 10


def _catalog(n: int = 2 * GROUP) -> Catalog:
    """Products 0-9 (and 20, when asked for) are trail shoes, 10-19 espresso cups."""
    shoe = [i < GROUP or i >= 2 * GROUP for i in range(n)]
    return Catalog.from_frame(
        pd.DataFrame(
            {
                "product_id": [f"p{i:02d}" for i in range(n)],
                "title": [
                    ("Trail shoe " if shoe[i] else "Espresso cup ") + str(i) for i in range(n)
                ],
                "category": ["Running" if shoe[i] else "Kitchen" for i in range(n)],
                "attributes": [json.dumps({"colour": "red", "size": i}) for i in range(n)],
            }
        )
    )


def _events() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for user in range(4 * GROUP):
        side = 0 if user < 2 * GROUP else GROUP
        for k, product in enumerate(rng.choice(GROUP, size=6, replace=False)):
            kind = "purchase" if k == 0 else "view"
            rows.append((f"u{user}", kind, f"p{side + product:02d}", 1000.0 + 10 * user + k))
    return pd.DataFrame(rows, columns=["user_id", "type", "product_id", "ts"])


@pytest.fixture(scope="module")
def matrix() -> InteractionMatrix:
    return InteractionMatrix.from_events(_events(), _catalog())


def test_interactions_are_weighted_and_stop_strictly_before_the_time() -> None:
    events, catalog = _events(), _catalog()
    everything = InteractionMatrix.from_events(events, catalog)
    assert everything.matrix.shape == (40, 20)
    assert everything.matrix.sum() == pytest.approx(40 * (5 * 1.0 + 3.0))
    cut = float(events["ts"].iloc[7])
    before = InteractionMatrix.from_events(events, catalog, before=cut)
    assert before.matrix.nnz == 7
    rows = histories_at(
        events,
        catalog,
        np.array(["u1", "u1", "nobody"], dtype=object),
        np.array([cut, np.inf, np.inf]),
    )
    assert rows[0].nnz == 1  # u1's first event only: the second is at `cut` itself
    assert rows[1].nnz == 6
    assert rows[2].nnz == 0


@pytest.mark.parametrize(
    "model",
    [ItemKNN("bm25", k=20), ItemKNN("cosine", k=20), EASE(l2=1.0), ALS(factors=4, iterations=10)],
    ids=["knn-bm25", "knn-cosine", "ease", "als"],
)
def test_a_shoppers_own_side_comes_first_and_seen_products_never(
    model: ItemKNN | EASE | ALS, matrix: InteractionMatrix
) -> None:
    fitted = model.fit(matrix.matrix)
    history = sp.csr_matrix(([1.0, 1.0], ([0, 0], [1, 2])), shape=(1, 20), dtype=np.float32)
    top = top_unseen(fitted.scores(history), history, 5)[0]
    assert set(top.tolist()) <= set(range(GROUP)) - {1, 2}
    index, _ = fitted.neighbours(3)
    assert index.shape == (20, 3)
    for product in (0, 15):
        found = index[product][index[product] >= 0]
        assert len(found) > 0
        assert product not in found
        assert (found[0] < GROUP) == (product < GROUP)


def test_als_is_deterministic_for_a_seed(matrix: InteractionMatrix) -> None:
    a = ALS(factors=4, iterations=5, seed=3).fit(matrix.matrix)
    b = ALS(factors=4, iterations=5, seed=3).fit(matrix.matrix)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)


def test_ease_scores_only_its_most_engaged_products(matrix: InteractionMatrix) -> None:
    fitted = EASE(l2=1.0, max_items=5).fit(matrix.matrix)
    history = sp.csr_matrix(np.ones((1, 20), dtype=np.float32))
    scored = np.flatnonzero(fitted.scores(history)[0] != 0)
    assert set(scored.tolist()) <= set(fitted.items_.tolist())
    assert len(fitted.items_) == 5


def test_content_finds_a_product_nobody_engaged_with() -> None:
    catalog = _catalog(21)  # p20: a trail shoe no shopper has seen
    index = ContentIndex().fit(catalog)
    history = sp.csr_matrix(([1.0], ([0], [3])), shape=(1, 21), dtype=np.float32)
    top = top_unseen(index.scores(history), history, 10)[0]
    assert 20 in top.tolist()
    assert set(top.tolist()) <= set(range(GROUP)) | {20}
    neighbours, _ = index.neighbours(2)
    assert neighbours[12][0] >= GROUP


def test_top_unseen_leaves_unscored_products_out_when_asked() -> None:
    scores = np.array([[0.0, 2.0, 0.0, 1.0]], dtype=np.float32)
    seen = sp.csr_matrix(([1.0], ([0], [1])), shape=(1, 4))
    assert top_unseen(scores, seen, 3, positive_only=True)[0].tolist() == [3, -1, -1]
    assert top_unseen(scores, seen, 3)[0].tolist()[0] == 3
