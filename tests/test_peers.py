"""Peers in the evaluation: tuned on a validation slice of the training part only, scored on
the held-out sessions, on a tiny log whose answer is known.

The log: products come in pairs (2k, 2k+1); each shopper views one member of their pair
on a first visit and buys the other a day later. A collaborative peer that learned the
pairs puts the partner first; popularity cannot (every product is about as popular).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.catalog import Catalog
from models.evaluation.metrics import ndcg_at_k
from models.evaluation.peers import GRIDS, PeerEvaluation, PeerSettings, evaluate_peers
from models.ranking.decisions import DAY, DecisionPoints, decision_points
from models.ranking.judgements import Judgements

PAIRS = 30
DAYS = 30
HOLDOUT = 25 * DAY
VALIDATION = 21 * DAY


def pairs_log(shoppers: int = 360, seed: int = 0) -> tuple[pd.DataFrame, Catalog]:
    rng = np.random.default_rng(seed)
    catalog = Catalog.from_frame(
        pd.DataFrame(
            {
                "product_id": [f"p{i}" for i in range(2 * PAIRS)],
                "title": [f"product {i}" for i in range(2 * PAIRS)],
                "category": [f"c{i % 3}" for i in range(2 * PAIRS)],
            }
        )
    )
    rows = []
    for u in range(shoppers):
        pair = u % PAIRS
        first, second = (2 * pair, 2 * pair + 1) if rng.random() < 0.5 else (2 * pair + 1, 2 * pair)
        start = float(rng.uniform(0, DAYS - 1.5)) * DAY
        visits = [(start, first, "view"), (start + DAY, second, "view")]
        visits.append((start + DAY + 60, second, "purchase"))
        for ts, product, kind in visits:
            rows.append(
                {
                    "event_id": f"e{len(rows)}",
                    "user_id": f"u{u}",
                    "type": kind,
                    "product_id": f"p{product}",
                    "ts": ts,
                    "query": None,
                }
            )
    events = pd.DataFrame(rows).sort_values("ts", kind="stable").reset_index(drop=True)
    return events, catalog


def run(events: pd.DataFrame, catalog: Catalog, exclude_seen: bool = True) -> PeerEvaluation:
    points = decision_points(events, catalog)
    validation = points.subset(np.flatnonzero((points.ts >= VALIDATION) & (points.ts < HOLDOUT)))
    holdout = points.subset(np.flatnonzero(points.ts >= HOLDOUT))
    popularity = np.ones(len(catalog))
    settings = PeerSettings(refits=2, exclude_seen=exclude_seen)
    return evaluate_peers(
        events, catalog, validation, VALIDATION, holdout, HOLDOUT, popularity, settings
    )


def returning(result: PeerEvaluation, points: DecisionPoints, name: str) -> float:
    """NDCG@10 of a peer's lists over the held-out sessions with a history."""
    rows = [i for i, items in enumerate(points.truth.items) if 3.0 in points.truth.gains[i]]
    truth = Judgements([points.truth.items[i] for i in rows], [points.truth.gains[i] for i in rows])
    return ndcg_at_k(result.lists[name][rows], truth, 10)


def holdout_points(events: pd.DataFrame, catalog: Catalog) -> DecisionPoints:
    points = decision_points(events, catalog)
    return points.subset(np.flatnonzero(points.ts >= HOLDOUT))


def test_collaborative_peers_find_the_partner_and_popularity_does_not() -> None:
    events, catalog = pairs_log()
    result = run(events, catalog)
    assert set(result.peers) == {
        "popularity_all_time",
        "popularity_recent",
        "als",
        "item_knn",
        "ease",
    }
    points = holdout_points(events, catalog)
    for name in ("als", "item_knn", "ease"):
        assert returning(result, points, name) > 0.9, name
        assert result.peers[name].params in GRIDS[name]
        assert result.peers[name].validation_ndcg is not None
    assert returning(result, points, "popularity_all_time") < 0.5
    # Every peer is scored on every held-out session: a first visit gets tuned popularity.
    assert all(lists.shape == (len(points), 50) for lists in result.lists.values())
    cold = [i for i, gains in enumerate(points.truth.gains) if 3.0 not in gains]
    assert cold
    for name in ("als", "item_knn", "ease"):
        assert (result.lists[name][cold] == result.lists["popularity_recent"][cold]).all()


def test_tuning_never_reads_the_holdout() -> None:
    events, catalog = pairs_log()
    before = run(events, catalog)
    # Scramble what was done in the held-out days: the holdout's answers change, the
    # validation slice and everything before the split do not.
    held = events["ts"] >= HOLDOUT
    scrambled = events.copy()
    rng = np.random.default_rng(1)
    scrambled.loc[held, "product_id"] = rng.permutation(
        scrambled.loc[held, "product_id"].to_numpy()
    )
    after = run(scrambled, catalog)
    for name, peer in before.peers.items():
        assert after.peers[name].params == peer.params, name
        assert after.peers[name].validation_ndcg == peer.validation_ndcg, name
        assert after.peers[name].grid == peer.grid, name
    holdout_ndcg = [p.scores.metrics["ndcg@10"] for p in before.peers.values()]
    assert holdout_ndcg != [p.scores.metrics["ndcg@10"] for p in after.peers.values()]


@pytest.mark.parametrize("exclude_seen", [True, False])
def test_seen_products_are_left_out_only_when_asked(exclude_seen: bool) -> None:
    events, catalog = pairs_log()
    result = run(events, catalog, exclude_seen=exclude_seen)
    points = holdout_points(events, catalog)
    # Each returning shopper's history is the pair member they viewed first.
    earlier = events[events["ts"] < HOLDOUT].groupby("user_id")["product_id"].agg(set)
    shown_seen = 0
    for row, user in enumerate(points.user_id):
        history = catalog.index_of(pd.Series(sorted(earlier.get(user, set())), dtype=str))
        for lists in result.lists.values():
            shown_seen += int(np.isin(lists[row, :10], history).sum())
    assert (shown_seen == 0) == exclude_seen
