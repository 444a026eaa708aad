"""The MovieLens sample converted to the import schema (bench/movielens.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.catalog import Catalog
from features.events.frame import validate_frame
from features.ingest import read_events

ROOT = Path(__file__).resolve().parents[1]


def convert(*args: str) -> dict[str, int]:
    """``python -m bench.movielens ARGS`` from the repository root; its printed counts."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.movielens", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    counts: dict[str, int] = json.loads(done.stdout)
    return counts


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("movielens")
    return out, convert("--out", str(out))


def test_counts_match_the_sample(converted: tuple[Path, dict[str, int]]) -> None:
    _, counts = converted
    assert counts == {
        "ratings": 100_004,
        "users": 671,
        "products": 9_066,
        "categories": 901,
        "events": 151_572,
        "views": 100_004,
        "purchases": 51_568,
    }


def test_catalog_reads_with_a_title_category_and_year_for_every_movie(
    converted: tuple[Path, dict[str, int]],
) -> None:
    out, _ = converted
    catalog = Catalog.read(out / "catalog.parquet")
    frame = catalog.frame
    assert len(catalog) == 9_066
    assert frame["title"].str.strip().ne("").all()
    toy_story = frame[frame["product_id"] == "m1"].iloc[0]
    assert toy_story["title"] == "Toy Story"
    assert toy_story["category"] == "Adventure|Animation|Children|Comedy|Fantasy"
    assert json.loads(toy_story["attributes"]) == {
        "genres": "Adventure|Animation|Children|Comedy|Fantasy",
        "year": 1995,
    }


def test_each_rating_is_a_view_and_good_ones_a_purchase_a_second_later(
    converted: tuple[Path, dict[str, int]],
) -> None:
    out, _ = converted
    events = read_events(out / "events.parquet")
    assert set(events.columns) == {"event_id", "user_id", "type", "product_id", "ts"}
    assert events["event_id"].is_unique
    assert np.all(np.diff(events["ts"].to_numpy()) >= 0)
    catalog = Catalog.read(out / "catalog.parquet")
    assert (catalog.index_of(events["product_id"]) >= 0).all()
    views = events[events["type"] == "view"].set_index(["user_id", "product_id"])["ts"]
    bought = events[events["type"] == "purchase"].set_index(["user_id", "product_id"])["ts"]
    assert views.index.is_unique
    assert (bought - views.reindex(bought.index)).eq(1.0).all()


def test_the_contract_refuses_no_row_of_a_decades_old_log(
    converted: tuple[Path, dict[str, int]],
) -> None:
    out, counts = converted
    events = read_events(out / "events.parquet")
    assert float(events["ts"].min()) < 946_684_800.0  # ratings from before 2000 are in it
    valid, rejected = validate_frame(events, now=float(events["ts"].max()) + 1.0)
    assert rejected == []
    assert len(valid) == counts["events"]


def test_conversion_is_deterministic_and_the_command_takes_csv(
    converted: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    out, counts = converted
    again = convert("--out", str(tmp_path), "--catalog-format", "csv", "--category", "first")
    assert again["categories"] == 19
    assert (tmp_path / "events.parquet").read_bytes() == (out / "events.parquet").read_bytes()
    first = pd.read_csv(tmp_path / "catalog.csv")
    assert len(first) == counts["products"]
    assert first.loc[first["product_id"] == "m1", "category"].item() == "Adventure"
