"""bench_quality's pipeline and result shaping on a tiny generated world (bench/quality.py).

The real commands in their own processes (``shopmode generate``, ``ingest``, ``train``,
``evaluate --json``) against an embedded Redis the benchmark starts; then the shaped
figures are held to the evaluation's own JSON and the targets to their thresholds.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is the repository's, not an installed package
    sys.path.insert(0, str(ROOT))

from bench import bench_quality  # noqa: E402
from bench.quality import (  # noqa: E402
    GAP_CLOSED,
    ingest_counts,
    last_json_line,
    summary,
    targets,
)

TINY = ("--users", "300", "--products", "160", "--days", "10")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return bench_quality.world(tmp_path_factory.mktemp("quality"), TINY)


def test_ingest_counts_reads_every_report_line() -> None:
    text = (
        "catalog: stored 160 products\n"
        "users: accepted 1,204, duplicate 0, rejected 3 (9,000 rows/s)\n"
        "  rejected row 4: user_id: is required\n"
        "events: accepted 12,345, duplicate 7, rejected 0 (20,000 rows/s)\n"
    )
    assert ingest_counts(text) == {
        "users": {"accepted": 1204, "duplicate": 0, "rejected": 3},
        "events": {"accepted": 12345, "duplicate": 7, "rejected": 0},
    }
    assert last_json_line('progress\n{"a": 1}\n') == {"a": 1}
    with pytest.raises(ValueError, match="no JSON"):
        last_json_line("no json here\n")


@pytest.mark.slow
def test_tiny_world_figures_match_the_evaluation(tiny: dict[str, Any]) -> None:
    assert tiny["rows_rejected"] == 0
    assert tiny["ingest"]["rows"]["events"]["accepted"] > 1000
    for step in ("ingest", "train", "evaluate"):
        assert tiny[step]["ok"], tiny[step]
        assert tiny[step]["cpu_s"] > 0
        assert tiny[step]["wall_s"] > 0
    assert {"build", "fit", "feature_engine", "learned_sources"} <= set(tiny["train"]["stages_s"])
    assert tiny["train"]["rows"] > 0
    hold = tiny["holdout"]
    assert hold["chosen"] is True  # train ran with no options: the log chose its holdout
    assert hold["sessions"] >= hold["scored_sessions"] > 0
    assert tiny["exclude_seen"] is False
    systems, peers = tiny["systems"], tiny["peers"]
    assert {"ranker", "popularity", "oracle"} <= set(systems)
    assert {"popularity_all_time", "als", "item_knn", "ease"} <= set(peers)
    best = max(peers, key=lambda name: peers[name]["ndcg@10"])
    assert tiny["best_peer"] == best
    ranker = systems["ranker"]["ndcg@10"]
    # The shaped ratios are the evaluation's, which the rounded NDCGs reproduce.
    assert tiny["ranker_vs_best_peer"] == pytest.approx(ranker / peers[best]["ndcg@10"], rel=2e-3)
    all_time = peers["popularity_all_time"]["ndcg@10"]
    assert tiny["ranker_vs_popularity_all_time"] == pytest.approx(ranker / all_time, rel=2e-3)
    pop, oracle = systems["popularity"]["ndcg@10"], systems["oracle"]["ndcg@10"]
    assert tiny["gap_closed"] == pytest.approx((ranker - pop) / (oracle - pop), abs=2e-3)
    retrieval = tiny["retrieval"]
    assert 0 < retrieval["purchase_recall"] <= 1
    assert retrieval["candidates_per_session"] > 0


@pytest.mark.slow
def test_targets_follow_the_figures(tiny: dict[str, Any]) -> None:
    flags = targets(None, tiny)
    assert flags["rows_rejected_0"]["met"] is True
    assert flags["train_evaluate_no_options"]["met"] is True
    assert flags["world_gap_closed"]["met"] is (tiny["gap_closed"] >= GAP_CLOSED)
    assert flags["world_beats_every_peer"]["met"] is (tiny["ranker_vs_best_peer"] > 1.0)
    assert flags["world_train_s"]["value"] == tiny["train"]["wall_s"]
    assert "movielens_vs_best_peer" not in flags  # not run: not flagged
    counted = summary(flags)
    assert counted["of"] == len(flags)
    assert counted["met"] == sum(1 for f in flags.values() if f["met"])
    failed = {**tiny, "rows_rejected": 2, "train": {**tiny["train"], "ok": False}}
    flags = targets(None, failed)
    assert flags["rows_rejected_0"]["met"] is False
    assert flags["train_evaluate_no_options"]["met"] is False
    assert flags["world_train_s"]["met"] is False
    assert "rows_rejected_0" in summary(flags)["not_met"]


def test_no_log_run_flags_nothing() -> None:
    flags = targets(None, None)
    assert flags["rows_rejected_0"]["met"] is None
    assert set(flags) == {"rows_rejected_0", "train_evaluate_no_options"}


def test_bench_quality_is_a_full_run_only_benchmark() -> None:
    from bench.run import FULL_ONLY, discover

    assert "bench_quality" in discover()
    assert "bench_quality" in FULL_ONLY
    assert Path(bench_quality.__file__).name == "bench_quality.py"
