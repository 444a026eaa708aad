"""The held-out days chosen from the log (models/ranking/splits.py), and the CLI that uses
them: a years-long, sparse log with no session ids trains and evaluates with no options."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.events.rules import EVENT_FIELDS
from models.ranking.decisions import DAY, MIN_DECISIONS, decision_times
from models.ranking.splits import Split, choose_holdout, validation_split
from service.cli import app
from shopmode.errors import DataTooSmall

START = 820_454_400.0  # 1996-01-01: an old log, as real ones are
YEARS = 3


def sparse_log(users: int = 260, products: int = 40, seed: int = 3) -> pd.DataFrame:
    """A MovieLens-shaped log: shoppers arrive over years, come back after weeks or months,
    rate a few items per visit (a view, and a purchase a second later when liked); no
    session ids, so sessions come from 30-minute gaps."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    span = YEARS * 365 * DAY
    for u in range(users):
        at = START + rng.uniform(0, span)
        for _ in range(int(rng.integers(1, 6))):
            if at >= START + span:
                break
            for k in range(int(rng.integers(2, 6))):
                product = f"p{int(rng.integers(products)):03d}"
                ts = at + 60.0 * k
                rows.append({"user_id": f"u{u:04d}", "type": "view", "product_id": product})
                rows[-1]["ts"] = ts
                if rng.random() < 0.4:
                    rows.append({"user_id": f"u{u:04d}", "type": "purchase", "product_id": product})
                    rows[-1]["ts"] = ts + 1.0
            at += rng.exponential(40 * DAY) + DAY
    frame = pd.DataFrame(rows).sort_values("ts", kind="stable").reset_index(drop=True)
    frame["event_id"] = [f"e{i}" for i in range(len(frame))]
    return frame.reindex(columns=list(EVENT_FIELDS))


def sparse_catalog(products: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": [f"p{i:03d}" for i in range(products)],
            "title": [f"Film number {i}" for i in range(products)],
            "category": [["Drama", "Comedy", "Action", "Horror"][i % 4] for i in range(products)],
            "price": [5.0 + i % 7 for i in range(products)],
        }
    )


def test_sessions_come_from_30_minute_gaps_when_the_log_has_no_session_id() -> None:
    base = {"type": "view", "product_id": "p1", "query": None}
    times = [0.0, 600.0, 1_700.0, 1_700.0 + 31 * 60, 90_000.0]
    events = pd.DataFrame([{**base, "user_id": "u1", "ts": START + t} for t in times])
    # 0, 10 min, 28 min: one visit; 31 minutes later a second; the next day a third.
    assert len(decision_times(events)) == 3
    raw = events.drop(columns=["query"])  # a file straight from a shop: optional columns
    assert len(decision_times(raw)) == 3
    logged = events.assign(session_id=["a", "a", "a", "a", "a"])
    assert len(decision_times(logged)) == 1  # a logged session id wins over the gaps


def test_a_years_long_sparse_log_holds_out_its_last_tenth_widened_to_enough_sessions() -> None:
    events = sparse_log()
    split = choose_holdout(events)
    assert split.chosen
    assert split.start_ts % DAY == 0
    assert split.end_ts % DAY == 0
    span_days = (events["ts"].max() - events["ts"].min()) / DAY
    assert split.days >= math.ceil(0.1 * span_days)
    assert split.days == round((split.end_ts - split.start_ts) / DAY)
    decided = decision_times(events)
    assert split.sessions == int((decided >= split.start_ts).sum()) >= MIN_DECISIONS
    assert (decided < split.start_ts).sum() >= MIN_DECISIONS
    # Widened a day at a time: one day fewer would hold out too few sessions, or is 10%.
    shorter = split.start_ts + DAY
    assert (decided >= shorter).sum() < MIN_DECISIONS or split.days == math.ceil(
        0.1 * (split.end_ts - events["ts"].min()) / DAY
    )
    assert split.describe().startswith(f"held out: the last {split.days:,} days (")
    assert split.describe().endswith(f"), {split.sessions:,} sessions")


def test_describe_reads_like_the_research_note() -> None:
    split = Split(
        start_ts=1_407_888_000.0, end_ts=1_476_662_400.0, days=796, sessions=839, chosen=True
    )
    assert split.describe() == "held out: the last 796 days (2014-08-13 → 2016-10-16), 839 sessions"
    given = Split(1_476_576_000.0, 1_476_662_400.0, 1, 60, chosen=False)
    assert (
        given.describe()
        == "held out: the last day (2016-10-16 → 2016-10-16), 60 sessions (--test-days)"
    )


def test_test_days_override_and_a_refusal_that_names_the_option() -> None:
    events = sparse_log()
    given = choose_holdout(events, test_days=400)
    assert not given.chosen
    assert given.days == 400
    assert given.end_ts - given.start_ts == 400 * DAY
    with pytest.raises(DataTooSmall) as caught:
        choose_holdout(events, test_days=7)
    assert caught.value.field == "test_days"
    message = caught.value.message
    assert "held-out sessions in the last 7 days" in message
    assert "drop --test-days" in message
    assert "import at least" in message
    span = round((given.end_ts - math.floor(events["ts"].min() / DAY) * DAY) / DAY)
    assert f"spans {span:,} days" in message


def test_a_log_too_small_for_any_split_says_how_many_more_sessions() -> None:
    events = sparse_log(users=20)
    sessions = len(decision_times(events))
    with pytest.raises(DataTooSmall) as caught:
        choose_holdout(events)
    assert caught.value.field == "events"
    assert f"import at least {2 * MIN_DECISIONS - sessions:,} more sessions" in (
        caught.value.message
    )


def test_the_validation_slice_is_carved_before_the_holdout_by_the_same_rule() -> None:
    events = sparse_log(users=600)
    holdout = choose_holdout(events)
    validation = validation_split(events, holdout)
    assert validation.end_ts == holdout.start_ts
    assert validation.start_ts < holdout.start_ts
    assert validation.chosen
    decided = decision_times(events)
    inside = (decided >= validation.start_ts) & (decided < validation.end_ts)
    assert validation.sessions == int(inside.sum()) >= MIN_DECISIONS


def test_a_two_week_world_holds_out_about_its_last_tenth(small_world: Path) -> None:
    events = pd.read_parquet(small_world / "events.parquet")
    split = choose_holdout(events)
    assert split.chosen
    assert 2 <= split.days <= 3  # 10% of 14 days, rounded out: enough sessions already
    assert split.sessions >= MIN_DECISIONS


@pytest.mark.slow
def test_train_and_evaluate_a_sparse_years_long_log_with_no_options(
    shopmode_home: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHOPMODE_REDIS_URL", redis_url)
    from service.settings import get_settings

    get_settings.cache_clear()
    data = tmp_path / "log"
    data.mkdir()
    # As a shop's export comes: only the columns it has (no query, no session id).
    raw = sparse_log()[["event_id", "user_id", "type", "product_id", "ts"]]
    raw.to_parquet(data / "events.parquet")
    sparse_catalog().to_parquet(data / "catalog.parquet")
    runner = CliRunner()
    refused = runner.invoke(app, ["train", "--data", str(data), "--test-days", "7"])
    assert refused.exit_code == 2
    assert "--test-days" in refused.output
    assert "drop --test-days" in refused.output
    trained = runner.invoke(app, ["train", "--data", str(data), "--max-iter", "20"])
    assert trained.exit_code == 0, trained.output
    assert "held out: the last " in trained.output
    evaluated = runner.invoke(app, ["evaluate", "--json", "--max-decisions", "100"])
    assert evaluated.exit_code == 0, evaluated.output
    result = json.loads(evaluated.output.strip().splitlines()[-1])
    expected = choose_holdout(pd.read_parquet(data / "events.parquet"))
    assert result["split"] == {
        "start_ts": expected.start_ts,
        "days": expected.days,
        "sessions": expected.sessions,
        "chosen": True,
    }
    assert result["systems"]["ranker"]["ndcg@10"] >= 0.0
    text = runner.invoke(app, ["evaluate", "--max-decisions", "100"])
    assert text.exit_code == 0, text.output
    assert expected.describe() in text.output
