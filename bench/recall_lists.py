"""The extra ranked lists ``bench.recall_research`` tries on the validation slice: the
peers' models, "popular among shoppers like you", popularity over several windows and
within the shopper's whole-history categories; each a top ``BUDGET`` per decision with
the shopper's seen products left out."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from models.evaluation.peer_scorers import PeerContext, popularity_at, scorer
from models.ranking.decisions import DecisionPoints
from models.ranking.training import Prepared
from models.retrieval.interactions import top_unseen

IntArray = npt.NDArray[np.int64]
BUDGET = 200


def ranked(scores: npt.NDArray[np.float32], seen: sp.csr_matrix, depth: int = BUDGET) -> IntArray:
    return top_unseen(scores, seen, depth, positive_only=True)


def category_popularity(
    popularity: npt.NDArray[np.float32], histories: sp.csr_matrix, category: IntArray
) -> npt.NDArray[np.float32]:
    """Popularity times the shopper's whole-history share of the product's category."""
    n_cats = int(category.max()) + 1
    onehot = sp.csr_matrix(
        (np.ones(len(category)), (np.arange(len(category)), category)),
        shape=(len(category), n_cats),
    )
    binary = histories.copy()
    binary.data[:] = 1.0
    counts = np.asarray((binary @ onehot).todense())
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    return (popularity * share[:, category]).astype(np.float32)


def user_knn(ctx: PeerContext, neighbours: int = 50) -> npt.NDArray[np.float32]:
    """What the ``neighbours`` shoppers most like this one (cosine of binary histories,
    fitted on events before each refit) engaged with, weighted by similarity."""
    out = np.zeros((len(ctx.points), len(ctx.catalog)), dtype=np.float32)
    for at in np.unique(ctx.fit_at):
        rows = np.flatnonzero(ctx.fit_at == at)
        matrix = ctx.interactions(float(at)).tocsr()
        if matrix.nnz == 0:
            continue
        matrix.data[:] = 1.0
        norm = np.sqrt(np.asarray(matrix.sum(axis=1)).ravel()) + 1e-9
        unit = sp.diags(1.0 / norm) @ matrix
        mine = ctx.histories[rows].copy()
        mine.data[:] = 1.0
        mine_norm = np.sqrt(np.asarray(mine.sum(axis=1)).ravel()) + 1e-9
        sims = np.asarray((sp.diags(1.0 / mine_norm) @ mine @ unit.T).todense())
        for i, row in enumerate(rows):
            top = np.argsort(-sims[i])[:neighbours]
            top = top[sims[i][top] > 0]
            if len(top):
                out[row] = np.asarray(sims[i][top] @ matrix[top].todense()).ravel()
    return out


def extra_lists(
    prepared: Prepared, points: DecisionPoints, start: float, before: float
) -> dict[str, IntArray]:
    """Per extra source, its top ``BUDGET`` per decision (seen excluded), refitted 4 times
    along the stretch from ``start``, from events before ``before`` only."""
    events = prepared.engine.events_
    catalog = prepared.log.catalog
    ctx = PeerContext.build(events[events["ts"] < before], catalog, points, start, 4, True)
    seen = ctx.seen()
    out: dict[str, IntArray] = {}
    makers: dict[str, Callable[[PeerContext], npt.NDArray[np.float32]]] = {
        "als": scorer(
            "als", {"factors": 32, "regularization": 0.05, "alpha": 1.0, "iterations": 15}
        ),
        "knn_whole_history": scorer("item_knn", {"weighting": "bm25", "k": 50}),
        "ease": scorer("ease", {"l2": 100.0, "max_items": 3000}),
        "user_knn": user_knn,
    }
    for name, make in makers.items():
        t0 = time.perf_counter()
        out[name] = ranked(make(ctx), seen)
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", flush=True)
    category = np.asarray(catalog.category_code, dtype=np.int64)
    for days in (30, 90, 365, 1095, 2920, None):
        popularity = popularity_at(ctx, days)
        label = "all" if days is None else f"{days}d"
        out[f"pop_{label}"] = ranked(popularity, seen)
        out[f"category_pop_{label}"] = ranked(
            category_popularity(popularity, ctx.histories, category), seen
        )
    return out
