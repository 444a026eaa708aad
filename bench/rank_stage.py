"""In-process timings for ``bench.bench_service``: the rank stage for 500 candidates and
the compiled trees alone, on one thread, against the benchmark's own store and model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

RANK_CANDIDATES = 500


def scoring_floor(home: Path, version: str, candidates: int) -> dict[str, float]:
    """The trees alone, in this process on one thread: ``score_rows`` over ``candidates``
    rows and over 500, and the rows the reasons pass scores (10 items × reason groups).
    Two such calls per request bound what one worker can serve."""
    import numpy as np

    from models.ranking.ranker import one_thread
    from models.ranking.reasons import NOT_A_REASON
    from models.ranking.registry import load_version

    model = load_version(home / "models", version)
    baseline = np.asarray(model.metadata.baseline, dtype=np.float32)
    groups = [g for g, cols in model.metadata.feature_groups.items() if cols]
    reason_rows = 10 * len([g for g in groups if g not in NOT_A_REASON])
    rng = np.random.default_rng(0)
    out: dict[str, float] = {}
    for name, n in (("candidates", candidates), ("rows_500", 500), ("reasons", reason_rows)):
        rows = (baseline * rng.lognormal(0.0, 1.0, (n, len(baseline)))).astype(np.float32)
        with one_thread():
            model.estimator.score_rows(rows)
            began = time.perf_counter()
            for _ in range(200):
                model.estimator.score_rows(rows)
        out[f"score_{name}_ms"] = round(1000 * (time.perf_counter() - began) / 200, 3)
    out["rows_candidates"], out["rows_reasons"] = candidates, reason_rows
    return out


def rank_stage(redis_url: str, home: Path, version: str, users: list[str]) -> dict[str, Any]:
    """What ``timings_ms.rank`` spends past retrieval, for ``RANK_CANDIDATES`` candidates,
    in this process on one thread: the feature matrix, the compiled trees over every
    candidate, the order, and the reasons of the 10 shown (``Reasoner.reasons``: the
    score drops, re-scoring only what can change, and their facts). Each shopper's state
    comes from the store; their retrieval candidates are topped up with other launched
    products to ``RANK_CANDIDATES``."""
    import numpy as np
    import redis

    from features.store.catalog import load_catalog
    from features.store.online import OnlineFeatureStore
    from features.store.runner import SyncRunner
    from models.ranking.ranker import one_thread
    from models.ranking.registry import load_version
    from models.recommend.recommender import Recommender
    from models.retrieval.candidates import CandidateSet, candidates_for
    from models.retrieval.signals import signals_from_state

    client = redis.Redis.from_url(redis_url)
    catalog = SyncRunner(client).run(load_catalog())
    store = OnlineFeatureStore(client, catalog)
    recommender = Recommender(catalog, load_version(home / "models", version))
    reasoner = recommender.reasoner
    assert reasoner is not None  # a model was loaded
    products = store.product_features()
    shown = 10
    rng = np.random.default_rng(0)
    stages: dict[str, list[float]] = {"rank_500": [], "features": [], "score": [], "reasons": []}
    with one_thread():
        for user in users:
            state = store.user_state(user)
            snapshot = recommender.snapshot(products)
            found = candidates_for(signals_from_state(state, catalog), snapshot, {})
            others = np.setdiff1d(np.flatnonzero(snapshot.available()), found.products)
            extra = rng.choice(others, max(0, RANK_CANDIDATES - len(found)), replace=False)
            candidates = CandidateSet(
                products=np.concatenate([found.products, extra])[:RANK_CANDIDATES],
                sources=np.vstack(
                    [found.sources, np.zeros((len(extra), found.sources.shape[1]), bool)]
                )[:RANK_CANDIDATES],
                cooc_score=np.concatenate([found.cooc_score, np.zeros(len(extra))])[
                    :RANK_CANDIDATES
                ],
                query_score=np.concatenate([found.query_score, np.zeros(len(extra))])[
                    :RANK_CANDIDATES
                ],
            )
            began = time.perf_counter()
            rows = recommender.features.rows(state, candidates, products, state.at)
            built = time.perf_counter()
            scores = recommender.score(rows)
            scored = time.perf_counter()
            top = np.argsort(-scores, kind="stable")[:shown]
            reasoner.reasons(state, candidates.products[top], rows[top], scores[top], None, {})
            done = time.perf_counter()
            stages["rank_500"].append(done - began)
            stages["features"].append(built - began)
            stages["score"].append(scored - built)
            stages["reasons"].append(done - scored)
    client.close()
    return {
        name: {
            "p50_ms": round(1000 * float(np.median(values)), 3),
            "p99_ms": round(1000 * float(np.quantile(values, 0.99)), 3),
        }
        for name, values in stages.items()
    } | {"requests": len(users), "candidates": RANK_CANDIDATES}
