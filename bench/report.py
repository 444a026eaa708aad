"""The benchmark report: ``latest.json`` (everything) and ``latest.md`` (the table).

The headline table (``bench.headlines``) picks each figure out of its benchmark's result
by path; a figure whose benchmark failed or did not report it says so instead of showing
a number. Below it, every numeric figure each benchmark returned is listed, so nothing is
hidden.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.headlines import HEADLINES


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
