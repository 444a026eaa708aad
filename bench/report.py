"""The benchmark report: ``latest.json`` (everything) and ``latest.md`` (the table).

The headline table picks each figure out of its benchmark's result by path; a figure
whose benchmark failed or did not report it says so instead of showing a number. Below
it, every numeric figure each benchmark returned is listed, so nothing is hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
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
    Headline(
        "explain=llm, cold",
        (
            ("bench_llm_http", "llm_cold_p50_ms", "ms"),
            (SERVICE, "llm_cold_p50_ms", "ms"),
            (SERVICE, "rows.recommend explain=llm cold c=1.p50_ms", "ms"),
            ("bench_llm", "page_llm_1.5s.latency_s_per_item_p50", "s per item (page of 10)"),
        ),
        context=("llm_cold.p99_ms", "llm_cold.sources", "template.p50_ms", "k"),
    ),
    Headline(
        "explain=llm, cached",
        (
            ("bench_llm_http", "llm_cached_p50_ms", "ms"),
            (SERVICE, "llm_cached_p50_ms", "ms"),
            (SERVICE, "rows.recommend explain=llm cached c=1.p50_ms", "ms"),
        ),
        context=("llm_cached.p99_ms", "llm_cached.sources"),
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


def pick(result: Any, path: str) -> Any:
    """The value at a dotted path (keys may contain spaces; list indexes may be negative)."""
    node = result
    parts = path.split(".")
    i = 0
    while i < len(parts):
        if isinstance(node, dict):
            # Keys can contain dots ("page_llm_1.5s"): take the longest key that matches.
            for j in range(len(parts), i, -1):
                key = ".".join(parts[i:j])
                if key in node:
                    node, i = node[key], j
                    break
            else:
                return None
        elif isinstance(node, list):
            try:
                node, i = node[int(parts[i])], i + 1
            except (ValueError, IndexError):
                return None
        else:
            return None
    return node


def _format(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    return str(value)


def flatten(result: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """Numeric leaves of a result, as (dotted path, value)."""
    rows: list[tuple[str, Any]] = []
    if depth > 5:
        return rows
    if isinstance(result, dict):
        for key, value in result.items():
            rows += flatten(value, f"{prefix}{key}.", depth + 1)
    elif isinstance(result, list) and len(result) <= 12:
        for index, value in enumerate(result):
            rows += flatten(value, f"{prefix}{index}.", depth + 1)
    elif isinstance(result, int | float) and not isinstance(result, bool):
        rows.append((prefix.rstrip("."), result))
    return rows


def headline_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    benchmarks: dict[str, Any] = report["benchmarks"]
    rows = []
    for line in HEADLINES:
        value: Any = None
        unit, source, problems = line.sources[0][2], line.sources[0][0], []
        for module, path, path_unit in line.sources:
            outcome = benchmarks.get(module)
            if outcome is None:
                problems.append(f"{module} not run")
                continue
            if not outcome.get("ok"):
                problems.append(f"{module} failed: {str(outcome.get('error'))[:100]}")
                continue
            value = pick(outcome["result"], path)
            if value is not None:
                unit, source = path_unit, f"{module}: {path}"
                break
            problems.append(f"not reported by {module}")
        note = line.baseline if value is not None else "; ".join(dict.fromkeys(problems))
        if value is not None:
            result = benchmarks[source.split(":")[0]]["result"]
            shown = [(path, pick(result, path)) for path in line.context]
            facts = [f"{path} = {_format(extra)}" for path, extra in shown if extra is not None]
            note = "; ".join([*facts, note] if note else facts)
        rows.append(
            {"figure": line.label, "value": value, "unit": unit, "source": source, "note": note}
        )
    return rows


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# Shopmode benchmarks",
        "",
        f"Machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_gb']} GB RAM, "
        f"Python {m['python']} ({m['platform']}).  ",
        f"Command: `{report['command']}` ({'quick sizes' if report['quick'] else 'full sizes'}), "
        f"{report['started_at']} → {report['finished_at']}.  ",
        "HTTP load comes from a separate process over loopback; every figure is from this run.",
        "",
        "| figure | value | unit | benchmark | note |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for row in headline_rows(report):
        value = "—" if row["value"] is None else _format(row["value"])
        lines.append(
            f"| {row['figure']} | {value} | {row['unit']} | {row['source']} | {row['note']} |"
        )
    lines += ["", "## Every figure, by benchmark", ""]
    for name, outcome in report["benchmarks"].items():
        state = "ok" if outcome.get("ok") else f"FAILED: {outcome.get('error')}"
        how = f", `{outcome['command']}`" if outcome.get("command") else ""
        lines += [f"### {name} ({state}, {outcome.get('seconds')} s{how})", ""]
        if outcome.get("ok"):
            leaves = flatten(outcome["result"])
            if leaves:
                lines += ["| figure | value |", "| --- | ---: |"]
                lines += [f"| {path} | {_format(value)} |" for path, value in leaves[:80]]
        lines.append("")
    return "\n".join(lines)


def write_report(report: dict[str, Any], results_dir: Path) -> str:
    """Write ``latest.json`` and ``latest.md`` under ``results_dir``; the Markdown."""
    results_dir.mkdir(parents=True, exist_ok=True)
    report = report | {"headlines": headline_rows(report)}
    (results_dir / "latest.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    text = markdown(report)
    (results_dir / "latest.md").write_text(text + "\n")
    return text
