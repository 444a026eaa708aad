"""``shopmode ingest`` and ``shopmode features`` through the real CLI and a real Redis."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import redis
from features_support import BASE_TS, assert_same_products, assert_same_state, small_catalog
from typer.testing import CliRunner

from features.catalog import Catalog
from features.ingest import interest_events
from features.offline import OfflineFeatureEngine
from features.store import keys
from features.store.online import OnlineFeatureStore
from service.cli import app

CATALOG_FRAME = small_catalog().frame


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def cli_env(redis_url: str, shopmode_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHOPMODE_REDIS_URL", redis_url)
    from service.settings import get_settings

    get_settings.cache_clear()
    return shopmode_home


def _files(tmp_path: Path) -> tuple[Path, Path]:
    catalog = tmp_path / "catalog.csv"
    CATALOG_FRAME[["product_id", "title", "category", "brand", "price"]].to_csv(
        catalog, index=False
    )
    events = tmp_path / "events.jsonl"
    rows = [
        {"event_id": "1", "user_id": "007", "type": "view", "product_id": "p1", "ts": BASE_TS},
        {"event_id": "2", "user_id": "007", "type": "purchase", "product_id": "p:2",
         "ts": "2026-10-28T00:10:00Z", "price": 90},
        {"event_id": "3", "user_id": "007", "type": "levitate", "product_id": "p1", "ts": BASE_TS},
        {"event_id": "4", "user_id": "007", "type": "click", "ts": BASE_TS},
    ]  # fmt: skip
    events.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return catalog, events


def test_ingest_reports_counts_and_reasons_and_is_idempotent(
    cli_env: Path, tmp_path: Path, redis_client: redis.Redis
) -> None:
    catalog, events = _files(tmp_path)
    code, output = _run("ingest", "--events", str(events), "--catalog", str(catalog))
    assert code == 0, output
    assert "catalog: stored 5 products" in output
    assert "accepted 2, duplicate 0, rejected 2" in output
    assert "row 2: type: unknown event type" in output
    assert "row 3: product_id: is required for a 'click' event" in output
    assert redis_client.exists(keys.user_state("007"))
    assert list((cli_env / "data" / "events").glob("*.parquet"))
    code, output = _run("ingest", "--events", str(events))
    assert code == 0, output
    assert "accepted 0, duplicate 2, rejected 2" in output


def test_users_file_interests_become_features(cli_env: Path, tmp_path: Path) -> None:
    catalog, _ = _files(tmp_path)
    users = tmp_path / "users.parquet"
    pd.DataFrame(
        {
            "user_id": ["ann"],
            "signup_ts": [BASE_TS],
            "brands_followed": [["Nord"]],
            "categories_liked": [["Caps", "Bags:Totes"]],
        }
    ).to_parquet(users)
    code, output = _run("ingest", "--catalog", str(catalog), "--users", str(users))
    assert code == 0, output
    assert "users: accepted 3" in output
    code, output = _run("features", "ann", "--at", str(BASE_TS + 60))
    state = json.loads(output)["user"]
    assert set(state["liked_categories"]) == {"Caps", "Bags:Totes"}
    assert set(state["followed_brands"]) == {"Nord"}


def test_users_with_events_of_text_timestamps_ingest(cli_env: Path, tmp_path: Path) -> None:
    # The events file mixes epoch seconds and RFC 3339 text (and holds bad rows): region
    # trending must read the validated events, not the raw cells.
    catalog, events = _files(tmp_path)
    users = tmp_path / "users.csv"
    pd.DataFrame({"user_id": ["007"], "region": ["North"]}).to_csv(users, index=False)
    code, output = _run(
        "ingest", "--events", str(events), "--catalog", str(catalog), "--users", str(users)
    )
    assert code == 0, output
    assert "regions: 1 shoppers, trending sets for 1 regions" in output


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--events", "nope.parquet"], "--events"),
        (["--events", "events.txt"], "--events"),
        (["--catalog", "missing.csv"], "--catalog"),
        ([], "--events"),
    ],
)
def test_unreadable_input_exits_2_naming_it(
    cli_env: Path, tmp_path: Path, args: list[str], named: str
) -> None:
    (tmp_path / "events.txt").write_text("hello")
    code, output = _run("ingest", *[str(tmp_path / a) if "." in a else a for a in args])
    assert code == 2
    assert named in output


def test_missing_column_exits_2_naming_the_column(cli_env: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    pd.DataFrame({"user_id": ["u"], "type": ["view"]}).to_csv(events, index=False)
    code, output = _run("ingest", "--events", str(events))
    assert code == 2
    assert "missing required column ts" in output


def test_events_without_any_catalog_exit_2(cli_env: Path, tmp_path: Path) -> None:
    _, events = _files(tmp_path)
    code, output = _run("ingest", "--events", str(events))
    assert code == 2
    assert "--catalog" in output


def test_features_online_and_offline_print_the_same(cli_env: Path, tmp_path: Path) -> None:
    catalog, events = _files(tmp_path)
    assert _run("ingest", "--events", str(events), "--catalog", str(catalog))[0] == 0
    at = str(BASE_TS + 7200)
    code, online = _run("features", "007", "--products", "p1,p:2,p 5", "--at", at)
    assert code == 0, online
    offline_args = ["--offline", "--events", str(events), "--catalog", str(catalog)]
    code, offline = _run("features", "007", "--products", "p1,p:2,p 5", "--at", at, *offline_args)
    assert code == 0, offline
    a, b = json.loads(online), json.loads(offline)
    _assert_same_numbers(a, b)
    assert a["cross_features"]["p:2"]["purchased_before"] == 1.0
    assert a["user"]["counts"]["24h"]["purchase"] == 1


def test_declared_interests_are_the_same_online_and_offline(cli_env: Path, tmp_path: Path) -> None:
    catalog, events = _files(tmp_path)
    users = tmp_path / "users.parquet"
    pd.DataFrame(
        {
            "user_id": ["007"],
            "signup_ts": [BASE_TS - 86_400],
            "brands_followed": [["Nord"]],
            "categories_liked": [["Caps"]],
        }
    ).to_parquet(users)
    ingested = _run(
        "ingest", "--events", str(events), "--catalog", str(catalog), "--users", str(users)
    )
    assert ingested[0] == 0, ingested[1]
    # p1 and p*4 are Nord's, p 5 is a cap: the shopper's own declared interests.
    asked = ["features", "007", "--products", "p1,p*4,p 5,p:2", "--at", str(BASE_TS + 7200)]
    code, online = _run(*asked)
    assert code == 0, online
    replay = ["--offline", "--events", str(events), "--catalog", str(catalog)]
    code, offline = _run(*asked, *replay, "--users", str(users))
    assert code == 0, offline
    a, b = json.loads(online), json.loads(offline)
    _assert_same_numbers(a, b)
    crossed = a["cross_features"]
    assert [crossed[p]["followed_brand"] for p in ("p1", "p*4", "p 5", "p:2")] == [1, 1, 0, 0]
    assert [crossed[p]["liked_category"] for p in ("p1", "p*4", "p 5", "p:2")] == [0, 0, 1, 0]
    # Without the users file the replay has no interests: the two would disagree.
    code, forgetful = _run(*asked, *replay)
    assert json.loads(forgetful)["cross_features"]["p1"]["followed_brand"] == 0


def test_users_without_offline_exit_2_naming_it(cli_env: Path, tmp_path: Path) -> None:
    code, output = _run("features", "007", "--users", str(tmp_path / "users.parquet"))
    assert code == 2
    assert "--users" in output


def test_features_rejects_unknown_products_and_bad_times(cli_env: Path, tmp_path: Path) -> None:
    catalog, _ = _files(tmp_path)
    assert _run("ingest", "--catalog", str(catalog))[0] == 0
    code, output = _run("features", "007", "--products", "p1,nope")
    assert code == 2
    assert "--products" in output
    assert "nope" in output
    code, output = _run("features", "007", "--at", "soon")
    assert code == 2
    assert "--at" in output


def _assert_same_numbers(a: object, b: object) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same_numbers(a[key], b[key])
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same_numbers(x, y)
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9), (a, b)
    else:
        assert a == b


def test_ingesting_the_generated_world_matches_its_replay(
    cli_env: Path, small_world: Path, redis_client: redis.Redis
) -> None:
    code, output = _run(
        "ingest",
        "--catalog", str(small_world / "catalog.parquet"),
        "--users", str(small_world / "users.parquet"),
        "--events", str(small_world / "events.parquet"),
    )  # fmt: skip
    assert code == 0, output
    assert "rejected 0" in output
    catalog = Catalog.read(small_world / "catalog.parquet")
    users = pd.read_parquet(small_world / "users.parquet")
    log = pd.concat(
        [interest_events(users), pd.read_parquet(small_world / "events.parquet")],
        ignore_index=True,
    )
    offline = OfflineFeatureEngine(log, catalog)
    store = OnlineFeatureStore(redis_client, catalog)
    at = float(offline.events_["ts"].max()) + 3600
    for user_id in users["user_id"].iloc[:40]:
        assert_same_state(store.user_state(user_id, at), offline.user_state(user_id, at))
    assert_same_products(store.product_features(at=at), offline.product_features(at))


@pytest.mark.cluster
def test_cli_works_against_a_redis_cluster(
    redis_cluster_url: str, shopmode_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHOPMODE_REDIS_URL", redis_cluster_url)
    monkeypatch.setenv("SHOPMODE_REDIS_CLUSTER", "true")
    from service.settings import get_settings

    get_settings.cache_clear()
    catalog, events = _files(tmp_path)
    code, output = _run("ingest", "--events", str(events), "--catalog", str(catalog))
    assert code == 0, output
    assert "accepted 2, duplicate 0, rejected 2" in output
    code, output = _run("features", "007", "--products", "p:2", "--at", str(BASE_TS + 60))
    assert code == 0, output
    assert json.loads(output)["cross_features"]["p:2"]["purchased_before"] == 1.0
