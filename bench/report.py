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
    label: str
    module: str
    paths: tuple[str, ...]  # dotted; a list index may be negative ("runs.-1.events_per_s")
    unit: str = ""
    baseline: str = ""  # what the figure is compared with in the same run


HEADLINES = (
    Headline(
        "Data generation (largest world)",
        "bench_generate",
        ("runs.-1.events_per_s",),
        "events/s",
        "write-only Parquet of the same log: see runs",
    ),
    Headline(
        "Bulk ingest",
        "bench_feature_store",
        ("ingest.events_per_s", "bulk_ingest.events_per_s", "ingest_events_per_s"),
        "events/s",
    ),
    Headline(
        "HTTP event intake (batches of 100)",
        "bench_intake",
        ("events_per_s",),
        "events/s",
        "same batches to a trivial endpoint: see trivial_events_per_s",
    ),
    Headline(
        "Feature read, 1 user + 500 candidates p50",
        "bench_feature_store",
        ("read.p50_ms", "read_500.p50_ms", "feature_read.p50_ms", "read_p50_ms"),
        "ms",
    ),
    Headline(
        "Feature read, 1 user + 500 candidates p99",
        "bench_feature_store",
        ("read.p99_ms", "read_500.p99_ms", "feature_read.p99_ms", "read_p99_ms"),
        "ms",
    ),
    Headline(
        "/v1/recommendations explain=none p50 (c=1)",
        "bench_service",
        ("rows.recommend explain=none c=1.p50_ms",),
        "ms",
    ),
    Headline(
        "/v1/recommendations explain=none p99 (c=1)",
        "bench_service",
        ("rows.recommend explain=none c=1.p99_ms",),
        "ms",
    ),
    Headline(
        "/v1/recommendations explain=none throughput (c=8)",
        "bench_service",
        ("rows.recommend explain=none c=8.rps",),
        "req/s",
    ),
    Headline(
        "/v1/recommendations explain=template p50 (c=1)",
        "bench_service",
        ("template_p50_ms", "rows.recommend explain=template c=1.p50_ms"),
        "ms",
    ),
    Headline(
        "/v1/recommendations explain=template p99 (c=1)",
        "bench_service",
        ("template_p99_ms", "rows.recommend explain=template c=1.p99_ms"),
        "ms",
    ),
    Headline(
        "/v1/recommendations explain=template throughput (c=8)",
        "bench_service",
        ("rows.recommend explain=template c=8.rps",),
        "req/s",
    ),
    Headline(
        "Trivial FastAPI endpoint, same body size (c=8)",
        "bench_service",
        ("rows.trivial c=8.rps",),
        "req/s",
        "the baseline",
    ),
    Headline(
        "Throughput ratio, template vs trivial (c=8)",
        "bench_service",
        ("throughput_ratio",),
        "×",
    ),
    Headline(
        "explain=llm, cold (p50)",
        "bench_service",
        ("llm_cold_p50_ms", "llm.cold.p50_ms", "rows.recommend explain=llm cold.p50_ms"),
        "ms",
    ),
    Headline(
        "explain=llm, cached (p50)",
        "bench_service",
        ("llm_cached_p50_ms", "llm.cached.p50_ms", "rows.recommend explain=llm cached.p50_ms"),
        "ms",
    ),
    Headline(
        "Training, 1-million-event world",
        "bench_train",
        ("train_seconds", "seconds", "train.seconds", "runs.-1.train_seconds"),
        "s",
    ),
    Headline(
        "Redis memory per shopper (100,000 shoppers)",
        "bench_feature_store",
        ("memory.bytes_per_user", "bytes_per_user", "memory.bytes_per_shopper"),
        "bytes",
    ),
    Headline("LLM tokens/s (local SmolLM2)", "bench_llm", ("llm_single.tokens_per_s",), "tok/s"),
    Headline(
        "LLM grounded-acceptance share (one call)",
        "bench_llm",
        ("llm_single.grounded_share",),
        "share",
        "template: always 1.0",
    ),
    Headline(
        "Soak: RSS growth after warm-up", "bench_soak", ("rss_growth_pct",), "%", "warm-up RSS"
    ),
    Headline("Soak: errors", "bench_soak", ("errors",), "responses"),
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
        outcome = benchmarks.get(line.module)
        value: Any = None
        note = line.baseline
        if outcome is None:
            note = f"not run ({line.module} missing)"
        elif not outcome.get("ok"):
            note = f"{line.module} failed: {str(outcome.get('error'))[:120]}"
        else:
            for path in line.paths:
                value = pick(outcome["result"], path)
                if value is not None:
                    break
            if value is None:
                note = f"not reported by {line.module}"
        rows.append(
            {"figure": line.label, "value": value, "unit": line.unit, "source": line.module}
            | {"note": note}
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
        lines += [f"### {name} ({state}, {outcome.get('seconds')} s)", ""]
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
