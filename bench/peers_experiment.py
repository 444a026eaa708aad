"""Peers, new candidate sources and a learned-ranker estimate on one log (research).

    python -m bench.peers_experiment --data DIR [--sessions gap|day] [--holdout 0.1]
        [--validation 0.1] [--max-eval 2000] [--today] [--out FILE]

The split is by time: the last ``--holdout`` of the log's span is held out; the last
``--validation`` of the rest is the validation slice. Every hyper-parameter is chosen by
NDCG@10 on the validation slice (models fitted on events before it), then refitted on
all events before the holdout and scored on it. A decision's history is everything the
shopper did strictly before it (what a live feature store holds); already-seen products
are never recommended. ``--today`` also trains and evaluates today's ranker on the same
split (gap sessions only) with daily co-occurrence from ``NeighbourTimeline``.

Prints JSON; asserts nothing. Research code: it may be deleted once the sources land.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.peers_ranker import candidate_rows, evaluate_ranker
from bench.peers_sources import (
    FIXED,
    KIND,
    Context,
    Split,
    allow_old_events,
    fused,
    load,
    purchases_only,
    quality,
    ranked,
    recall_within,
    round_robin,
    rows_of,
    scorer,
    sessions,
    tune_fusion,
    tune_quota,
    window,
)
from models.evaluation.peer_scorers import filled
from models.evaluation.peers import tune as tune_peers
from models.ranking.decisions import DAY
from models.retrieval.interactions import top_unseen

NEIGHBOUR_MODELS = {
    "item_knn",
    "ease",
    "content",
    "popularity_recent",
    "popularity_all_time",
    "popularity_30d",
}
RETRIEVAL_DEPTH = 200
RANKER_GROUPS = {
    "als": ("als_",),
    "item_knn": ("item_knn_",),
    "ease": ("ease_",),
    "content": ("content_",),
    "popularity": ("popularity_",),
    "tuned_popularity_only": ("popularity_30d", "popularity_all_time"),
    "shopper_and_product": (
        "category_share",
        "history_size",
        "idle_days",
        "product_age_days",
        "seen_weight",
    ),
}


def timescales(events: Any, points: Any) -> dict[str, float]:
    """Days between a shopper's consecutive sessions, and idle days at each decision."""
    order = np.lexsort((points.ts, points.user_id.astype(str)))
    users, ts = points.user_id.astype(str)[order], points.ts[order]
    same = users[1:] == users[:-1]
    gaps = (ts[1:] - ts[:-1])[same] / DAY
    q = np.percentile(gaps, [25, 50, 75, 90]) if len(gaps) else [np.nan] * 4
    return {
        "sessions": len(points),
        "session_gap_days_p25": float(q[0]),
        "session_gap_days_median": float(q[1]),
        "session_gap_days_p75": float(q[2]),
        "session_gap_days_p90": float(q[3]),
        "log_span_days": float((points.ts.max() - points.ts.min()) / DAY),
    }


def tune(val_ctx: Context) -> tuple[dict[str, dict[str, Any]], dict[str, list[Any]]]:
    """The production tuning (``models.evaluation.peers.tune``): chosen settings, grids."""
    tuned = tune_peers(val_ctx)
    return {n: p for n, (p, _, _) in tuned.items()}, {n: t for n, (_, _, t) in tuned.items()}


def all_scores(ctx: Context, chosen: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for name, params in chosen.items():
        out[name] = scorer(KIND[name], params)(ctx)
    for name, (kind, params) in FIXED.items():
        out[name] = scorer(kind, params)(ctx)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    allow_old_events()
    events, catalog = load(args.data)
    points = sessions(events, catalog, args.sessions)
    split = Split.of(events, args.holdout, args.validation)
    val_pts = window(points, split.validation, split.test, args.max_eval, args.seed)
    test_pts = window(points, split.test, np.inf, args.max_eval, args.seed)
    result: dict[str, Any] = {
        "data": str(args.data),
        "sessions_rule": args.sessions,
        "events": len(events),
        "products": len(catalog),
        "split": {"validation_from": split.validation, "holdout_from": split.test},
        "decisions": {
            "all": len(points),
            "validation": len(val_pts),
            "holdout": len(test_pts),
            "items_per_session": float(np.mean([len(i) for i in points.truth.items])),
        },
        "timescales": timescales(events, points),
    }
    began = time.perf_counter()
    exclude = not args.keep_seen
    before_test = events[events["ts"] < split.test]
    val_ctx = Context.build(before_test, catalog, val_pts, split.validation, args.refits, exclude)
    test_ctx = Context.build(events, catalog, test_pts, split.test, args.refits, exclude)
    result["exclude_seen"] = not args.keep_seen
    chosen, trials = tune(val_ctx)
    result["tuned"] = chosen
    result["trials"] = trials
    result["seconds_tuning"] = time.perf_counter() - began
    val_scores = all_scores(val_ctx, chosen)
    test_scores = all_scores(test_ctx, chosen)
    truth, bought = test_ctx.points.truth, purchases_only(test_ctx.points.truth)
    val_lists = {
        n: top_unseen(s, val_ctx.seen(), RETRIEVAL_DEPTH, positive_only=n in NEIGHBOUR_MODELS)
        for n, s in val_scores.items()
    }
    quota = tune_quota(val_lists, val_ctx.points.truth, RETRIEVAL_DEPTH)
    peers, retrieval, lists200 = {}, {}, {}
    warm = np.flatnonzero(np.diff(test_ctx.histories.indptr) > 0)
    fallback = ranked(test_scores["popularity_recent"], test_ctx, True)
    peers_warm: dict[str, Any] = {}
    for name, scores in test_scores.items():
        positive = name in NEIGHBOUR_MODELS
        lists = filled(ranked(scores, test_ctx, positive), fallback)
        if not name.startswith("popularity"):
            # A first visit has no history to score from: every peer serves popularity.
            cold = np.setdiff1d(np.arange(len(lists)), warm)
            lists[cold] = fallback[cold]
        peers[name] = quality(lists, truth)
        peers_warm[name] = quality(lists[warm], rows_of(truth, warm))
        top = top_unseen(scores, test_ctx.seen(), RETRIEVAL_DEPTH, positive_only=positive)
        lists200[name] = top
        retrieval[name] = {
            "recall": recall_within(top, truth),
            "purchase_recall": recall_within(top, bought),
        }
    union = round_robin(lists200, quota, RETRIEVAL_DEPTH)
    retrieval["union"] = {
        "recall": recall_within(union, truth),
        "purchase_recall": recall_within(union, bought),
        "quota_tuned_on_validation": quota,
        "mean_candidates": float((union >= 0).sum(axis=1).mean()),
    }
    fusion = tune_fusion(val_scores, val_ctx, RETRIEVAL_DEPTH)
    fused_top = top_unseen(fused(test_scores, test_ctx, fusion), test_ctx.seen(), RETRIEVAL_DEPTH)
    retrieval["fusion"] = {
        "recall": recall_within(fused_top, truth),
        "purchase_recall": recall_within(fused_top, bought),
        "sources_chosen_on_validation": fusion,
    }
    result["peers"] = peers
    result["peers_returning_shoppers"] = peers_warm
    result["decisions"]["holdout_first_visits"] = len(test_ctx.points) - len(warm)
    result["retrieval@200"] = retrieval
    # The ranker learns from a longer stretch than the validation slice (more decisions),
    # still all before the holdout, with sources refitted along it.
    ranker_from = split.test - args.ranker_span * (split.test - split.first)
    fit_pts = window(points, ranker_from, split.test, args.max_eval * 2, args.seed)
    fit_ctx = Context.build(before_test, catalog, fit_pts, ranker_from, args.refits, exclude)
    fit_scores = all_scores(fit_ctx, chosen)
    fit_lists = {
        n: top_unseen(s, fit_ctx.seen(), RETRIEVAL_DEPTH, positive_only=n in NEIGHBOUR_MODELS)
        for n, s in fit_scores.items()
    }
    fit_union = round_robin(fit_lists, quota, RETRIEVAL_DEPTH)
    train_rows = candidate_rows(fit_ctx, fit_scores, fit_union, args.seed, train=True)
    result["learned_ranker_training_decisions"] = len(fit_pts)
    test_rows = candidate_rows(test_ctx, test_scores, union, args.seed, train=False)
    result["learned_ranker"] = evaluate_ranker(train_rows, test_rows, test_ctx, RANKER_GROUPS, warm)
    best_peer = max(v["ndcg@10"] for v in peers.values())
    result["learned_ranker"]["vs_best_peer"] = result["learned_ranker"]["ndcg@10"] / best_peer
    best_warm = max(v["ndcg@10"] for v in peers_warm.values())
    result["learned_ranker"]["returning_vs_best_peer"] = (
        result["learned_ranker"]["ndcg@10_returning"] / best_warm
    )
    result["learned_ranker"]["vs_popularity_all_time"] = result["learned_ranker"]["ndcg@10"] / max(
        peers["popularity_all_time"]["ndcg@10"], 1e-12
    )
    if args.today:
        from bench.peers_today import today_on_split

        result["today"] = today_on_split(events, catalog, split, test_ctx)
    result["seconds_total"] = time.perf_counter() - began
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--sessions", choices=("gap", "day"), default="gap")
    parser.add_argument("--holdout", type=float, default=0.1)
    parser.add_argument("--validation", type=float, default=0.1)
    parser.add_argument("--max-eval", type=int, default=2000)
    parser.add_argument("--refits", type=int, default=8)
    parser.add_argument("--ranker-span", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--today", action="store_true")
    parser.add_argument(
        "--keep-seen",
        action="store_true",
        help="Let products the shopper already engaged with be recommended (shops where "
        "people come back to what they viewed; MovieLens: one rating per movie).",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=2, default=float)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
