"""A world's hidden truth on disk: ``truth/`` beside the world's files (Parquet tables and
``model.json``), written by ``shopmode generate`` and read only by the evaluation."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shopmode.errors import NotFound
from world.catalog import CATEGORY_REF_PRICE
from world.plans import FILE as PLANS_FILE
from world.plans import SessionPlans
from world.truth import Coefficients, Truth
from world.vocabulary import CATEGORIES, COLOURS


def save_truth(truth: Truth, directory: Path) -> None:
    """Write the truth of a world into ``directory`` (the world's ``truth/`` folder)."""
    directory.mkdir(parents=True, exist_ok=True)
    users, cats = np.nonzero((truth.taste_start > 0) | (truth.taste_end > 0))
    n_brands = len(truth.brand_names)
    tables = {
        "shoppers": {
            "user_id": truth.user_ids,
            "price_sensitivity": truth.price_sensitivity,
            "drift": truth.drift,
            "activity": truth.activity,
        },
        "tastes": {
            "user_id": truth.user_ids[users],
            "category": np.array([c.name for c in CATEGORIES])[cats],
            "weight_start": truth.taste_start[users, cats],
            "weight_end": truth.taste_end[users, cats],
        },
        "brand_affinity": {
            "user_id": truth.user_ids[truth.affinity_key // n_brands],
            "brand": truth.brand_names[truth.affinity_key % n_brands],
            "affinity": truth.affinity_value,
        },
        "products": {
            "product_id": truth.product_ids,
            "quality": truth.quality,
            "popularity": truth.popularity,
            "colour": np.array(COLOURS)[truth.colour],
            "material": truth.material_names[truth.material],
        },
    }
    for name, columns in tables.items():
        pq.write_table(pa.table(dict(columns.items())), directory / f"{name}.parquet")
    model = {
        "start_ts": truth.start_ts,
        "end_ts": truth.end_ts,
        "coefficients": asdict(truth.coefficients),
        "reference_price": {
            c.name: float(p) for c, p in zip(CATEGORIES, CATEGORY_REF_PRICE, strict=True)
        },
        "brands": truth.brand_names.tolist(),
    }
    (directory / "model.json").write_text(json.dumps(model, indent=2) + "\n")
    if truth.sessions is not None:
        truth.sessions.save(directory, truth.user_ids, truth.brand_names, truth.material_names)


def load_truth(directory: Path | str) -> Truth:
    """Load the truth of a world; ``directory`` is the world or its ``truth/`` folder."""
    root = Path(directory)
    truth_dir = root if (root / "model.json").exists() else root / "truth"
    world_dir = truth_dir.parent
    if not (truth_dir / "model.json").exists():
        raise NotFound(f"no world truth under {root}")
    model = json.loads((truth_dir / "model.json").read_text())
    brands = np.array(model["brands"])
    catalog = pq.read_table(world_dir / "catalog.parquet").to_pandas()
    products = pq.read_table(truth_dir / "products.parquet").to_pandas()
    shoppers = pq.read_table(truth_dir / "shoppers.parquet").to_pandas()
    tastes = pq.read_table(truth_dir / "tastes.parquet").to_pandas()
    affinity = pq.read_table(truth_dir / "brand_affinity.parquet").to_pandas()

    user_ids = shoppers["user_id"].to_numpy(dtype=str)
    users = pd.Index(user_ids)
    cat_index = pd.Index([c.name for c in CATEGORIES])
    brand_index = pd.Index(brands)
    shape = (len(user_ids), len(CATEGORIES))
    rows = users.get_indexer(tastes["user_id"])
    cols = cat_index.get_indexer(tastes["category"])
    taste_start, taste_end = np.zeros(shape), np.zeros(shape)
    taste_start[rows, cols] = tastes["weight_start"].to_numpy()
    taste_end[rows, cols] = tastes["weight_end"].to_numpy()
    key = users.get_indexer(affinity["user_id"]) * len(brands) + brand_index.get_indexer(
        affinity["brand"]
    )
    order = np.argsort(key, kind="stable")
    colour = pd.Index(COLOURS).get_indexer(products.get("colour", pd.Series(dtype=str)))
    materials = products.get("material", pd.Series([""] * len(products))).astype(str)
    material_names = np.unique(materials.to_numpy(dtype=str))
    sessions = None
    if (truth_dir / PLANS_FILE).exists():
        sessions = SessionPlans.load(truth_dir, users, brands, material_names)
    return Truth(
        start_ts=float(model["start_ts"]),
        end_ts=float(model["end_ts"]),
        coefficients=Coefficients(**model["coefficients"]),
        user_ids=user_ids,
        taste_start=taste_start,
        taste_end=taste_end,
        drift=shoppers["drift"].to_numpy(),
        price_sensitivity=shoppers["price_sensitivity"].to_numpy(),
        activity=shoppers["activity"].to_numpy(),
        affinity_key=key[order],
        affinity_value=affinity["affinity"].to_numpy()[order],
        product_ids=products["product_id"].to_numpy(dtype=str),
        category=cat_index.get_indexer(catalog["category"]),
        brand=brand_index.get_indexer(catalog["brand"]),
        price=catalog["price"].to_numpy(),
        discount=catalog["discount"].to_numpy(),
        launch_ts=catalog["launch_ts"].to_numpy(),
        quality=products["quality"].to_numpy(),
        popularity=products["popularity"].to_numpy(),
        brand_names=brands,
        colour=colour if len(colour) == len(products) else np.full(len(products), -1),
        material=np.searchsorted(material_names, materials.to_numpy(dtype=str)),
        material_names=material_names,
        sessions=sessions,
    )
