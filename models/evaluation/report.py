"""The evaluation report: a table, a JSON file, and plots, under ``SHOPMODE_HOME/reports``.

Plots use matplotlib's Agg backend (files only, no display needed), imported when a plot
is drawn: every ``shopmode`` command imports this module, few draw.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import ModuleType

from models.evaluation.evaluate import Evaluation
from models.evaluation.scoring import KS

COLUMNS = (
    "ndcg@10",
    "recall@10",
    "recall@50",
    "map@10",
    "hit_rate@10",
    "coverage@10",
    "diversity@10",
    "novelty@10",
)


def table_rows(evaluation: Evaluation) -> list[list[str]]:
    return [
        [name, *(f"{scores.metrics[c]:.4f}" for c in COLUMNS)]
        for name, scores in evaluation.systems.items()
    ]


def markdown_table(evaluation: Evaluation) -> str:
    head = "| system | " + " | ".join(COLUMNS) + " |"
    rule = "|" + " --- |" * (len(COLUMNS) + 1)
    body = ["| " + " | ".join(row) + " |" for row in table_rows(evaluation)]
    return "\n".join([head, rule, *body])


def peer_rows(evaluation: Evaluation) -> list[list[str]]:
    """Per peer: name, NDCG@10 on the holdout, on validation, and the chosen settings."""
    if evaluation.peers is None:
        return []
    rows = []
    for name, peer in evaluation.peers.peers.items():
        validation = "-" if peer.validation_ndcg is None else f"{peer.validation_ndcg:.4f}"
        params = ", ".join(f"{k}={v}" for k, v in peer.params.items()) or "-"
        rows.append([name, f"{peer.scores.metrics['ndcg@10']:.4f}", validation, params])
    return rows


def peer_section(evaluation: Evaluation) -> list[str]:
    """The peers' table (same columns as the systems'), their tuning, and the ratios."""
    peers = evaluation.peers
    if peers is None:
        return []
    tuning = peers.tuning_json()
    lines = [
        "## Peers",
        "",
        "Well-known recommenders on the same held-out sessions. Each hyper-parameter was "
        f"chosen by NDCG@10 on a validation slice of the training part only "
        f"({int(tuning['validation_sessions'])} sessions from "
        f"{_day(tuning['validation_from'])} to the split), then refitted "
        f"{tuning['refits']} time(s) along the holdout. A first visit "
        f"({int(tuning['holdout_first_visits'])} held-out sessions) gets the tuned recent "
        "popularity from every peer.",
        "",
        "| peer | " + " | ".join(COLUMNS) + " |",
        "|" + " --- |" * (len(COLUMNS) + 1),
    ]
    for name, peer in peers.peers.items():
        values = " | ".join(f"{peer.scores.metrics[c]:.4f}" for c in COLUMNS)
        lines.append(f"| {name} | {values} |")
    lines += ["", "| peer | validation ndcg@10 | chosen |", "| --- | --- | --- |"]
    lines += [f"| {n} | {v} | {p} |" for n, _, v, p in peer_rows(evaluation)]
    best = evaluation.best_peer()
    if best is not None:
        lines += ["", f"Ranker vs the best peer ({best}): {evaluation.ranker_vs(best):.2f}×."]
    return [*lines, ""]


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_by_k(evaluation: Evaluation, path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("ndcg", "recall"), strict=True):
        for name, scores in evaluation.systems.items():
            values = [scores.by_k[metric][k] for k in KS]
            ax.plot(KS, values, marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xticks(KS, [str(k) for k in KS])
        ax.set_xlabel("k")
        ax.set_ylabel(f"{metric}@k")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Held-out quality by cut-off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_importance(evaluation: Evaluation, path: Path) -> None:
    plt = _pyplot()
    items = [(k, v) for k, v in evaluation.importance.items() if v > 0][:15]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.barh([k for k, _ in items][::-1], [v for _, v in items][::-1])
    ax.set_xlabel("share of score drop when the group is set to its baseline (top-10 items)")
    ax.set_title("What drives the ranker's scores")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_calibration(evaluation: Evaluation, path: Path) -> None:
    plt = _pyplot()
    predicted = [p for p, _, _ in evaluation.calibration]
    actual = [a for _, a, _ in evaluation.calibration]
    fig, ax = plt.subplots(figsize=(5, 5))
    top = max([*predicted, *actual, 1e-3])
    ax.plot([0, top], [0, top], linestyle="--", color="grey", label="perfect")
    ax.plot(predicted, actual, marker="o", label="ranker (score quantile bins)")
    ax.set_xlabel("predicted gain")
    ax.set_ylabel("observed gain (purchase 3, cart 2, click/view 1)")
    ax.set_title("Calibration on held-out candidates")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(
    evaluation: Evaluation, reports_dir: Path, model_version: str, source: str
) -> Path:
    """Write report.md, evaluation.json and three PNGs; returns the report directory."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = reports_dir / f"{model_version}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    _plot_by_k(evaluation, out / "metric_by_k.png")
    _plot_importance(evaluation, out / "feature_importance.png")
    _plot_calibration(evaluation, out / "calibration.png")
    (out / "evaluation.json").write_text(json.dumps(evaluation.to_json(), indent=2) + "\n")
    gap = evaluation.gap_closed()
    gap_taste = evaluation.gap_closed("oracle_utility")
    lines = [
        f"# Evaluation of model {model_version}",
        "",
        f"Data: {source}. Held-out decisions: {evaluation.decisions} sessions after "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(evaluation.split_ts))} "
        "(time split; the model never saw them). Products the shopper engaged with before "
        f"a session were {'excluded from' if evaluation.exclude_seen else 'kept in'} every list.",
        "",
        markdown_table(evaluation),
        "",
    ]
    if gap is not None:
        lines.append(
            f"gap_closed (NDCG@10, popularity → oracle, the simulator's expected gain "
            f"given the session's intent, query and exposure): {gap:.3f}"
        )
    if gap_taste is not None:
        lines.append(f"gap_closed vs the taste oracle (true utility only): {gap_taste:.3f}")
    if gap is None:
        lines.append("No oracle: the log has no world truth (an imported log).")
    lines += ["", *peer_section(evaluation)]
    retrieval = evaluation.retrieval
    lines += [
        "",
        "## Retrieval",
        "",
        f"Mean candidates per decision: {retrieval.get('mean_candidates', 0):.0f}. "
        "Share of held-out engaged products (and purchases) each source retrieved:",
        "",
        "| source | recall | purchase recall |",
        "| --- | --- | --- |",
    ]
    for key, value in retrieval.items():
        if key.startswith("recall_"):
            name = key.removeprefix("recall_")
            lines.append(f"| {name} | {value:.3f} | {retrieval[f'purchase_recall_{name}']:.3f} |")
    lines += [
        "",
        "## Plots",
        "",
        "![metric by k](metric_by_k.png)",
        "![feature importance](feature_importance.png)",
        "![calibration](calibration.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))
    return out
