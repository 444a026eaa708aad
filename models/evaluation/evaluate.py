"""Held-out evaluation: the ranker against baselines and the oracle, on the same decisions.

Every system ranks for the same held-out decisions (the last ``test_days`` of the log)
with the same point-in-time inputs:

- ``ranker``: candidates + the trained model (what the service serves);
- ``challengers`` (optional): other rankers on the same candidates, e.g. one per training
  objective (``models.ranking.objectives``), each reported under its own name;
- ``popularity``: most popular products (14-day decayed engagement) as of the decision;
- ``trending``: products whose last-day engagement outpaces their fortnight, then popular;
- ``top_category``: the shopper's top categories by affinity, popular products within;
- ``oracle``: the simulator's own expected gain for each product in the decision's
  session (``world.engagement``): the shopper's tastes then, the session's intent and
  query, and what the home and results pages would show, position bias included.
  Synthetic worlds only; the upper reference for ``gap_closed``;
- ``oracle_utility``: true utility at the decision, ignoring intent and exposure (a
  "taste oracle": what knowing the shopper's tastes alone is worth).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from models.evaluation.baselines import DEPTH, fill, oracle_rankings, pad, top_category_ranking
from models.evaluation.calibration import calibration
from models.evaluation.peers import PeerEvaluation, PeerSettings, peers_for
from models.evaluation.scoring import (
    HEADLINE,
    SystemScores,
    score_ranked,
    seen_row,
    training_popularity,
    unseen,
)
from models.ranking.decisions import DecisionPoints
from models.ranking.features import group_columns
from models.ranking.ranker import ShopRanker, one_thread
from models.ranking.reasons import score_drops
from models.ranking.registry import LoadedModel
from models.ranking.training import Prepared, sample
from models.ranking.training_set import RetrievalRecall
from models.recommend.diversity import mmr_order
from models.retrieval.candidates import candidates_for
from models.retrieval.interactions import histories_at
from shopmode.errors import DataTooSmall
from world.truth import Truth

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# The ranker re-ranked by MMR at these diversity settings (the request's `diversity`):
# what spreading brands and categories costs in relevance, on the same decisions.
DIVERSITY_SETTINGS = (0.1, 0.3, 0.6, 1.0)
DIVERSITY_POOL = 60
IMPORTANCE_DECISIONS = 300
Advance = Callable[[int], None]


@dataclass
class Evaluation:
    decisions: int
    split_ts: float
    systems: dict[str, SystemScores]
    importance: dict[str, float] = field(default_factory=dict)
    calibration: list[tuple[float, float, int]] = field(default_factory=list)
    retrieval: dict[str, float] = field(default_factory=dict)
    exclude_seen: bool = False
    peers: PeerEvaluation | None = None
    peers_skipped: str | None = None  # why no peers were scored, when asked for

    def gap_closed(self, oracle: str = "oracle") -> float | None:
        """(ranker − popularity) / (oracle − popularity) on NDCG@10; None without an oracle."""
        if oracle not in self.systems:
            return None
        values = {n: s.metrics[HEADLINE] for n, s in self.systems.items()}
        gap = values[oracle] - values["popularity"]
        return (values["ranker"] - values["popularity"]) / gap if gap > 0 else None

    def ranker_vs(self, name: str) -> float | None:
        """The ranker's NDCG@10 over a system's or peer's; None when it is not there."""
        peers = self.peers.peers if self.peers is not None else {}
        other = self.systems.get(name) or (peers[name].scores if name in peers else None)
        if other is None:
            return None
        return self.systems["ranker"].metrics[HEADLINE] / max(other.metrics[HEADLINE], 1e-12)

    def best_peer(self) -> str | None:
        found = self.peers.peers if self.peers is not None else {}
        return max(found, key=lambda n: found[n].scores.metrics[HEADLINE], default=None)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "decisions": self.decisions,
            "split_ts": self.split_ts,
            "exclude_seen": self.exclude_seen,
            "systems": {n: s.metrics for n, s in self.systems.items()},
            "by_k": {n: s.by_k for n, s in self.systems.items()},
            "gap_closed": self.gap_closed(),
            "gap_closed_vs_oracle_utility": self.gap_closed("oracle_utility"),
            "ranker_vs_popularity": self.ranker_vs("popularity"),
            "retrieval": self.retrieval,
            "importance": self.importance,
            "calibration": [
                {"predicted": p, "actual": a, "count": c} for p, a, c in self.calibration
            ],
        }
        if self.peers is not None:
            best = self.best_peer()
            out["peers"] = self.peers.to_json()
            out["peer_tuning"] = self.peers.tuning_json()
            out["best_peer"] = best
            out["ranker_vs_best_peer"] = self.ranker_vs(best) if best else None
            out["ranker_vs_popularity_all_time"] = self.ranker_vs("popularity_all_time")
        if self.peers_skipped is not None:
            out["peers_skipped"] = self.peers_skipped
        return out


def evaluate(
    prepared: Prepared,
    model: LoadedModel,
    truth: Truth | None = None,
    max_decisions: int = 5000,
    seed: int = 0,
    advance: Advance | None = None,
    challengers: Mapping[str, ShopRanker] | None = None,
    *,
    exclude_seen: bool = False,
    peers: PeerSettings | None = None,
) -> Evaluation:
    """Every system on (a sample of) the held-out decisions; with ``peers``, the peers too.

    ``exclude_seen`` drops from every list the products its shopper engaged with before
    the decision (fair on a log where a product is engaged with once, e.g. ratings).
    """
    meta = model.metadata
    groups = {k: list(v) for k, v in meta.feature_groups.items()}
    # Replay with the model's own request-time scales, as the service serves it.
    prepared.replay.scales = model.scales
    return evaluate_estimator(
        prepared,
        model.estimator,
        group_columns(meta.feature_names, groups),
        np.asarray(meta.baseline, dtype=np.float64),
        truth,
        max_decisions,
        seed,
        advance,
        challengers,
        exclude_seen=exclude_seen,
        peers=peers,
    )


def evaluate_estimator(
    prepared: Prepared,
    estimator: ShopRanker,
    groups: dict[str, list[int]],
    baseline: FloatArray,
    truth: Truth | None = None,
    max_decisions: int = 5000,
    seed: int = 0,
    advance: Advance | None = None,
    challengers: Mapping[str, ShopRanker] | None = None,
    *,
    exclude_seen: bool = False,
    peers: PeerSettings | None = None,
) -> Evaluation:
    """``evaluate`` for an estimator not (yet) in the registry."""
    points = sample(prepared.test, max_decisions, seed)
    # Hundreds of small scoring calls: threads cost more in wake-ups than they save.
    with one_thread():
        result = _evaluate(
            prepared,
            points,
            estimator,
            groups,
            baseline,
            truth,
            advance,
            dict(challengers or {}),
            exclude_seen,
        )
    if peers is not None:
        try:
            result.peers = peers_for(prepared, points, peers)
        except DataTooSmall as exc:
            result.peers_skipped = exc.message
    return result


def _evaluate(
    prepared: Prepared,
    points: DecisionPoints,
    estimator: ShopRanker,
    groups: dict[str, list[int]],
    baseline: FloatArray,
    truth: Truth | None,
    advance: Advance | None,
    challengers: dict[str, ShopRanker],
    exclude_seen: bool,
) -> Evaluation:
    catalog = prepared.log.catalog
    histories = (
        histories_at(prepared.engine.events_, catalog, points.user_id, points.ts)
        if exclude_seen
        else None
    )
    lists: dict[str, list[IntArray]] = {
        "ranker": [],
        "popularity": [],
        "trending": [],
        "top_category": [],
        # The candidates in their best order (by the held-out gain): what a perfect ranker
        # of this retrieval would reach, the ceiling of the ranker's NDCG.
        "candidates_ideal": [],
    }
    for weight in DIVERSITY_SETTINGS:
        lists[f"ranker_diversity_{weight}"] = []
    for name in challengers:
        lists[name] = []
    recall = RetrievalRecall()
    importance = dict.fromkeys(groups, 0.0)
    predicted: list[FloatArray] = []
    actual: list[FloatArray] = []
    explained = 0
    for inputs in prepared.replay(points):
        snap = inputs.snapshot
        seen = seen_row(histories, inputs.row)
        found = candidates_for(inputs.signals, snap, inputs.neighbour_map(), inputs.query_scores)
        items = points.truth.items[inputs.row]
        gains = points.truth.gains[inputs.row]
        recall.add(found, items, gains)
        rows = prepared.features.rows(inputs.state, found, inputs.products, inputs.at)
        scores = estimator.score_rows(rows)
        order = np.argsort(-scores, kind="stable")
        lists["ranker"].append(pad(unseen(found.products[order], seen)))
        for name, challenger in challengers.items():
            theirs = np.argsort(-challenger.score_rows(rows), kind="stable")
            lists[name].append(pad(unseen(found.products[theirs], seen)))
        pool = order[:DIVERSITY_POOL]
        for weight in DIVERSITY_SETTINGS:
            pooled = found.products[pool]
            picked = mmr_order(
                scores[pool],
                catalog.category_code[pooled],
                catalog.brand_code[pooled],
                weight,
                len(pool),
            )
            spread = np.concatenate([pooled[picked], found.products[order[len(pool) :]]])
            lists[f"ranker_diversity_{weight}"].append(pad(unseen(spread, seen)))
        lists["popularity"].append(pad(unseen(snap.by_popularity, seen)))
        lists["trending"].append(fill(snap.by_trending[:DEPTH], snap, seen))
        lists["top_category"].append(top_category_ranking(inputs.signals, snap, seen))
        gain_of = dict(zip(items.tolist(), gains.tolist(), strict=True))
        predicted.append(scores)
        actual.append(np.array([gain_of.get(int(p), 0.0) for p in found.products]))
        ideal = np.argsort(-actual[-1], kind="stable")
        lists["candidates_ideal"].append(pad(unseen(found.products[ideal], seen)))
        if explained < IMPORTANCE_DECISIONS and len(order):
            top = order[:10]
            for drops in score_drops(estimator, rows[top], scores[top], groups, baseline):
                for d in drops:
                    importance[d.group] += d.drop
            explained += 1
        if advance is not None:
            advance(1)
    ranked = {name: np.vstack(parts) for name, parts in lists.items()}
    if truth is not None:
        ranked.update(oracle_rankings(truth, points, catalog, histories))
    popularity = training_popularity(prepared)
    systems: dict[str, SystemScores] = {}
    for name, matrix in ranked.items():
        scores_ = score_ranked(matrix, points, catalog, popularity)
        scores_.name = name
        systems[name] = scores_
    total = sum(importance.values()) or 1.0
    return Evaluation(
        decisions=len(points),
        split_ts=prepared.split_ts,
        systems=systems,
        importance={k: v / total for k, v in sorted(importance.items(), key=lambda kv: -kv[1])},
        calibration=calibration(np.concatenate(predicted), np.concatenate(actual)),
        retrieval=recall.summary(),
        exclude_seen=exclude_seen,
    )
