"""Shaping ``bench_quality``'s result: the CLI's printed and JSON output into figures, and
issue #10's targets flagged met / not met.

Nothing here runs a command: ``bench.bench_quality`` runs ``shopmode ingest``, ``train``
and ``evaluate --json`` and hands their output (``Step``) to ``log_figures``; ``targets``
reads the two logs' figures. Kept apart so a test can shape a tiny world's run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Issue #10 (README "Measured"): the figures each target reads, and its threshold.
MOVIELENS_TRAIN_SECONDS = 30.0
WORLD_TRAIN_SECONDS = 24.5  # the 1.1M-event world on a quiet machine before issue 10
PURCHASE_RECALL = 0.5
MAX_CANDIDATES = 200.0
VS_BEST_PEER = 1.2
VS_ALL_TIME_POPULARITY = 2.0
GAP_CLOSED = 0.75
# Systems of `shopmode evaluate` shown beside the peers (README's tables).
SYSTEMS = ("ranker", "popularity", "top_category", "oracle")
METRICS = ("ndcg@10", "recall@10", "recall@50")
_REPORT = re.compile(
    r"^(?P<what>\w+): accepted (?P<accepted>[\d,]+), duplicate (?P<duplicate>[\d,]+), "
    r"rejected (?P<rejected>[\d,]+)"
)


@dataclass
class Step:
    """One CLI command as run: its exit code, output, wall and CPU seconds, load average."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float
    load_before: float
    load_after: float
    extra: dict[str, Any] = field(default_factory=dict)

    def timing(self) -> dict[str, Any]:
        return {
            "ok": self.returncode == 0,
            "wall_s": round(self.wall_s, 2),
            "cpu_s": round(self.cpu_s, 2),
            "load_1m_before": round(self.load_before, 2),
            "load_1m_after": round(self.load_after, 2),
            **({} if self.returncode == 0 else {"error": self.stderr.strip()[-500:]}),
        }


def ingest_counts(stdout: str) -> dict[str, dict[str, int]]:
    """``shopmode ingest``'s "<what>: accepted N, duplicate N, rejected N" lines, by what."""
    out: dict[str, dict[str, int]] = {}
    for line in stdout.splitlines():
        found = _REPORT.match(line.strip())
        if found:
            out[found["what"]] = {
                k: int(found[k].replace(",", "")) for k in ("accepted", "duplicate", "rejected")
            }
    return out


def last_json_line(stdout: str) -> dict[str, Any]:
    """The JSON document ``shopmode evaluate --json`` prints last."""
    import json

    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            loaded: dict[str, Any] = json.loads(line)
            return loaded
    raise ValueError("no JSON document in the output")


def _rounded(metrics: dict[str, Any]) -> dict[str, float]:
    return {m: round(float(metrics[m]), 4) for m in METRICS if metrics.get(m) is not None}


def _ratio(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def log_figures(
    ingest: Step, train: Step, evaluate: Step, metadata: dict[str, Any] | None
) -> dict[str, Any]:
    """One log's figures: rows rejected, holdout, systems and peers, ratios, retrieval,
    and each command's wall / CPU seconds with the load average."""
    counts = ingest_counts(ingest.stdout)
    out: dict[str, Any] = {
        "ingest": {**ingest.timing(), "rows": counts},
        "rows_rejected": sum(c["rejected"] for c in counts.values()),
        "train": train.timing(),
        "evaluate": evaluate.timing(),
    }
    if metadata is not None:
        metrics = metadata.get("metrics", {})
        out["train"]["stages_s"] = {
            k.removesuffix("_seconds"): round(float(v), 2)
            for k, v in metrics.items()
            if k.endswith("_seconds")
        }
        out["train"]["rows"] = int(metrics.get("train_rows", 0))
        out["train"]["sessions"] = int(metrics.get("train_decisions", 0))
    if evaluate.returncode != 0:
        return out
    doc = last_json_line(evaluate.stdout)
    split = doc["split"]
    systems = doc["systems"]
    peers = doc.get("peers") or {}
    retrieval = doc.get("retrieval") or {}
    start = datetime.fromtimestamp(float(split["start_ts"]), UTC)
    out.update(
        {
            "model": doc["model"],
            "holdout": {
                "days": split["days"],
                "sessions": split["sessions"],
                "chosen": split["chosen"],
                "from": start.strftime("%Y-%m-%d"),
                "scored_sessions": doc["decisions"],
            },
            "exclude_seen": doc["exclude_seen"],
            "systems": {n: _rounded(systems[n]) for n in SYSTEMS if n in systems},
            "peers": {
                n: {
                    **_rounded(p),
                    "params": p.get("params"),
                    "validation_ndcg@10": p.get("validation_ndcg@10"),
                }
                for n, p in peers.items()
            },
            "best_peer": doc.get("best_peer"),
            "ranker_vs_best_peer": _ratio(doc.get("ranker_vs_best_peer")),
            "ranker_vs_popularity_all_time": _ratio(doc.get("ranker_vs_popularity_all_time")),
            "gap_closed": _ratio(doc.get("gap_closed")),
            "retrieval": {
                "purchase_recall": round(float(retrieval.get("purchase_recall_all", 0.0)), 4),
                "recall": round(float(retrieval.get("recall_all", 0.0)), 4),
                "candidates_per_session": round(float(retrieval.get("mean_candidates", 0.0)), 1),
            },
        }
    )
    return out


def _flag(value: Any, target: float, met: bool | None, **extra: Any) -> dict[str, Any]:
    return {"value": value, "target": target, "met": met, **extra}


def _beats_every_peer(figures: dict[str, Any]) -> bool | None:
    ratio = figures.get("ranker_vs_best_peer")
    return None if ratio is None else ratio > 1.0


def targets(real: dict[str, Any] | None, world: dict[str, Any] | None) -> dict[str, Any]:
    """Issue #10's targets on what was measured; ``met`` is None where a log was not run."""
    out: dict[str, Any] = {}
    logs = {"movielens": real, "world": world}
    ran = {name: figures for name, figures in logs.items() if figures is not None}
    rejected = sum(f.get("rows_rejected", 0) for f in ran.values())
    out["rows_rejected_0"] = _flag(rejected, 0, rejected == 0 if ran else None)
    no_options = all(f["train"]["ok"] and f["evaluate"]["ok"] for f in ran.values())
    out["train_evaluate_no_options"] = _flag(no_options, True, no_options if ran else None)
    if real is not None:
        train = real["train"]
        out["movielens_train_s"] = _flag(
            train["wall_s"],
            MOVIELENS_TRAIN_SECONDS,
            train["ok"] and train["wall_s"] <= MOVIELENS_TRAIN_SECONDS,
            cpu_s=train["cpu_s"],
            cpu_within=train["cpu_s"] <= MOVIELENS_TRAIN_SECONDS,
            load_1m=train["load_1m_after"],
        )
        retrieval = real.get("retrieval", {})
        recall, candidates = (
            retrieval.get("purchase_recall"),
            retrieval.get("candidates_per_session"),
        )
        out["movielens_purchase_recall"] = _flag(
            recall,
            PURCHASE_RECALL,
            None if recall is None else recall >= PURCHASE_RECALL and candidates <= MAX_CANDIDATES,
            candidates_per_session=candidates,
        )
        for key, ratio, threshold in (
            ("movielens_vs_best_peer", "ranker_vs_best_peer", VS_BEST_PEER),
            ("movielens_vs_all_time_popularity", "ranker_vs_popularity_all_time",
             VS_ALL_TIME_POPULARITY),
        ):  # fmt: skip
            value = real.get(ratio)
            out[key] = _flag(value, threshold, None if value is None else value >= threshold)
    if world is not None:
        train = world["train"]
        out["world_train_s"] = _flag(
            train["wall_s"],
            WORLD_TRAIN_SECONDS,
            train["ok"] and train["wall_s"] <= WORLD_TRAIN_SECONDS,
            cpu_s=train["cpu_s"],
            cpu_within=train["cpu_s"] <= WORLD_TRAIN_SECONDS,
            load_1m=train["load_1m_after"],
            note="this world's training; the 1.1M-event world's is bench_train's",
        )
        gap = world.get("gap_closed")
        out["world_gap_closed"] = _flag(gap, GAP_CLOSED, None if gap is None else gap >= GAP_CLOSED)
        ratio = world.get("ranker_vs_best_peer")
        out["world_beats_every_peer"] = _flag(ratio, 1.0, _beats_every_peer(world))
    return out


def summary(flags: dict[str, Any]) -> dict[str, Any]:
    """How many of the flagged targets are met, of those measured, and which are not."""
    measured = {k: f["met"] for k, f in flags.items() if f["met"] is not None}
    return {
        "met": sum(1 for met in measured.values() if met),
        "of": len(measured),
        "not_met": ", ".join(k for k, met in measured.items() if not met),
    }
