"""The figures of the benchmark report's headline table, and where each is read from.

Each ``Headline`` names its benchmark module and the dotted path of its value in that
benchmark's result (``bench.report.pick``), the first of several sources that reported
one, and the paths whose values the note beside it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Headline:
    """One figure of the table: the first ``(module, path, unit)`` source that reported it."""

    label: str
    sources: tuple[tuple[str, str, str], ...]  # a path's list index may be negative
    baseline: str = ""  # what the figure is compared with in the same run
    context: tuple[str, ...] = ()  # paths (same benchmark) whose values the note shows


def _h(label: str, module: str, paths: tuple[str, ...], unit: str, **kw: Any) -> Headline:
    return Headline(label, tuple((module, path, unit) for path in paths), **kw)


SERVICE = "bench_service"
HEADLINES = (
    _h(
        "Data generation (largest world)",
        "bench_generate",
        ("runs.-1.events_per_s",),
        "events/s",
        context=("runs.-1.events", "runs.-1.seconds", "runs.-1.write_only_seconds"),
    ),
    _h(
        "Bulk ingest into Redis",
        "bench_feature_store",
        ("ingest.events_per_s",),
        "events/s",
        context=("ingest.validate_only_events_per_s", "ingest.redis_floor_events_per_s"),
    ),
    _h(
        "HTTP event intake, batches of 100",
        "bench_intake",
        ("events_per_s",),
        "events/s",
        context=("trivial_events_per_s", "batch_p50_ms", "batch_p99_ms", "stored_in_stream"),
    ),
    _h(
        "Feature read, 1 user + 500 candidates, p50",
        "bench_feature_store",
        ("read.p50_ms",),
        "ms",
        context=("baseline_mget_500.p50_ms", "baseline_ping.p50_ms"),
    ),
    _h(
        "Feature read, 1 user + 500 candidates, p99",
        "bench_feature_store",
        ("read.p99_ms",),
        "ms",
        context=("baseline_mget_500.p99_ms",),
    ),
    _h(
        "/v1/recommendations explain=none, p50 (c=1)",
        SERVICE,
        ("rows.recommend explain=none c=1.p50_ms",),
        "ms",
    ),
    _h(
        "/v1/recommendations explain=none, p99 (c=1)",
        SERVICE,
        ("rows.recommend explain=none c=1.p99_ms",),
        "ms",
    ),
    _h(
        "/v1/recommendations explain=none, throughput (c=8)",
        SERVICE,
        ("rows.recommend explain=none c=8.rps",),
        "req/s",
    ),
    _h(
        "/v1/recommendations explain=template, p50 (c=1)",
        SERVICE,
        ("template_p50_ms", "rows.recommend explain=template c=1.p50_ms"),
        "ms",
    ),
    _h(
        "/v1/recommendations explain=template, p99 (c=1)",
        SERVICE,
        ("template_p99_ms", "rows.recommend explain=template c=1.p99_ms"),
        "ms",
    ),
    _h(
        "/v1/recommendations explain=template, throughput (c=8)",
        SERVICE,
        ("rows.recommend explain=template c=8.rps",),
        "req/s",
    ),
    _h(
        "Floor: one MGET of 500 products, same body size (c=1), p50",
        SERVICE,
        ("floor_p50_ms",),
        "ms",
        baseline="the baseline",
        context=("latency_ratio_p50",),
    ),
    _h(
        "Floor: one MGET of 500 products, same body size (c=8)",
        SERVICE,
        ("rows.floor c=8.rps", "rows.trivial c=8.rps"),
        "req/s",
        baseline="the baseline",
    ),
    _h("Throughput ratio, template / floor (c=8)", SERVICE, ("throughput_ratio",), "×"),
    _h(
        "Rank stage, 500 candidates (features, trees, reasons), p50",
        SERVICE,
        ("rank_stage_ms.rank_500.p50_ms",),
        "ms",
        context=(
            "rank_stage_ms.rank_500.p99_ms",
            "rank_stage_ms.features.p50_ms",
            "rank_stage_ms.score.p50_ms",
            "rank_stage_ms.reasons.p50_ms",
        ),
    ),
    _h(
        "Tree scoring, 500 rows, one thread (served: compiled)",
        "bench_scoring",
        ("predictors.lleaves, compiled (served: ShopRanker.score_rows).p50_ms",),
        "ms",
        context=(
            "predictors.lightgbm Booster.predict.p50_ms",
            "predictors.sklearn HGB predict.p50_ms",
            "predictors.onnxruntime (skl2onnx from HGB).p50_ms",
        ),
    ),
    _h(
        "explain=llm, page of 10: first LLM text on the stream (slowest page)",
        "bench_llm_http",
        ("llm.first_llm_text_s.max",),
        "s",
        context=("llm.first_llm_text_s.p50", "llm.pages", "load_average"),
    ),
    _h(
        "explain=llm, page of 10: all ten settled (slowest page)",
        "bench_llm_http",
        ("llm.all_settled_s.max",),
        "s",
        context=("llm.all_settled_s.p50", "llm.settled"),
    ),
    _h(
        "explain=llm, the same page again: items with LLM text (fewest of 10)",
        "bench_llm_http",
        ("llm.llm_items_on_repeat_view.min",),
        "of 10",
        context=("llm.llm_items_on_repeat_view.mean",),
    ),
    _h(
        "explain=llm, answer p99 (the page again)",
        "bench_llm_http",
        ("llm.answer_again_ms.p99",),
        "ms",
        context=("llm.answer_again_ms.p50", "llm.answer_cold_ms.p50", "llm.answer_cold_ms.p99"),
    ),
    _h(
        "Shown LLM texts citing a personal fact (evidence holds one)",
        "bench_llm_http",
        ("llm.personal_citation",),
        "share",
        context=("llm.personal_holds",),
    ),
    _h(
        "Grounded acceptance, llm mode",
        "bench_llm_http",
        ("llm.grounded_acceptance",),
        "share",
    ),
    _h(
        "Grounded acceptance, best_of mode",
        "bench_llm_http",
        ("best_of.grounded_acceptance",),
        "share",
        context=("best_of.settled",),
    ),
    _h(
        "Training (1-million-event world in full runs)",
        "bench_train",
        ("train_seconds", "seconds", "train.seconds", "runs.-1.train_seconds"),
        "s",
        context=("world.events",),
    ),
    _h(
        "Redis memory per shopper",
        "bench_feature_store",
        ("memory.bytes_per_user",),
        "bytes",
        context=("world.users", "memory.memory_usage_per_user_p50", "memory.events_per_user"),
    ),
    *(
        _h(
            f"{name}: {label}",
            "bench_quality",
            (f"{log}.{path}",),
            unit,
            context=tuple(f"{log}.{c}" for c in context),
        )
        for log, name in (("movielens", "MovieLens"), ("world", "Default world"))
        for label, path, unit, context in (
            ("rows rejected at import", "rows_rejected", "rows", ("ingest.wall_s",)),
            (
                "shopmode train, no options",
                "train.wall_s",
                "s",
                (
                    "train.cpu_s",
                    "train.load_1m_after",
                    "train.stages_s.build",
                    "train.stages_s.learned_sources",
                    "train.stages_s.fit",
                ),
            ),
            (
                "ranker NDCG@10 on the chosen holdout",
                "systems.ranker.ndcg@10",
                "",
                (
                    "holdout.days",
                    "holdout.sessions",
                    "systems.ranker.recall@10",
                    "systems.ranker.recall@50",
                    "exclude_seen",
                ),
            ),
            ("ranker / best peer, NDCG@10", "ranker_vs_best_peer", "×", ("best_peer",)),
            (
                "ranker / all-time popularity, NDCG@10",
                "ranker_vs_popularity_all_time",
                "×",
                ("peers.popularity_all_time.ndcg@10",),
            ),
            ("gap closed, popularity → oracle", "gap_closed", "share", ()),
            (
                "purchase recall of retrieval, holdout",
                "retrieval.purchase_recall",
                "share",
                ("retrieval.candidates_per_session",),
            ),
            (
                "shopmode evaluate",
                "evaluate.wall_s",
                "s",
                ("evaluate.cpu_s", "evaluate.load_1m_after"),
            ),
        )
        if not (log == "movielens" and path == "gap_closed")
    ),
    _h(
        "Issue #10 targets met (bench_quality)",
        "bench_quality",
        ("targets_summary.met",),
        "targets",
        context=("targets_summary.of", "targets_summary.not_met"),
    ),
    _h("LLM tokens/s (SmolLM2-135M, local)", "bench_llm", ("llm_single.tokens_per_s",), "tok/s"),
    _h(
        "LLM grounded-acceptance share (one call)",
        "bench_llm",
        ("llm_single.grounded_share",),
        "share",
        context=("template.grounded_share", "packs"),
    ),
    _h(
        "Soak: RSS growth after warm-up",
        "bench_soak",
        ("rss_growth_pct",),
        "%",
        context=("rss_after_warmup_mb", "rss_end_mb", "duration_s", "rate_per_s"),
    ),
    _h(
        "Soak: errors",
        "bench_soak",
        ("errors",),
        "responses",
        context=("requests", "traffic.statuses"),
    ),
)
