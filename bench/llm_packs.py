"""Evidence packs for the LLM benchmarks, built from a small generated world.

Real catalog products, brands and categories; each shopper's own views, follows and
likes, co-viewed items, discounts, new arrivals and requests typed in words; a few
reasons per pack, drawn at random with weights, as the ranker would give them.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from models.evidence import Evidence, Reason
from models.explain import Vocabulary


def world_packs(n: int, seed: int) -> tuple[list[Evidence], Vocabulary]:
    from world.config import WorldConfig
    from world.generate import generate_world

    out = Path(tempfile.mkdtemp(prefix="bench_llm_")) / "world"
    generate_world(WorldConfig(users=300, products=300, days=14, seed=seed), out)
    catalog = pd.read_parquet(out / "catalog.parquet").set_index("product_id")
    users = pd.read_parquet(out / "users.parquet").set_index("user_id")
    events = pd.read_parquet(out / "events.parquet")
    vocabulary = Vocabulary(
        brands=catalog["brand"].unique(),
        categories=catalog["category"].unique(),
        titles=catalog["title"],
        regions=users["region"].unique(),
        attributes={
            str(v)
            for raw in catalog["attributes"]
            for k, v in json.loads(raw).items()
            if isinstance(v, str) and k in ("colour", "material")
        },
    )
    rng = np.random.default_rng(seed)
    end = float(events["ts"].max())
    views = events.loc[
        (events["type"] == "view") & events["product_id"].notna(), ["user_id", "product_id", "ts"]
    ]
    views = views.join(catalog[["category", "brand", "title", "price"]], on="product_id")
    active = views["user_id"].value_counts()
    packs: list[Evidence] = []
    for user_id in active.index[: n * 3]:
        if len(packs) == n:
            break
        mine = views[views["user_id"] == user_id]
        user = users.loc[user_id]
        top_category = mine["category"].value_counts().index[0]
        pool = catalog[
            (catalog["category"] == top_category) & ~catalog.index.isin(mine["product_id"])
        ]
        if pool.empty:
            continue
        product_id = str(rng.choice(pool.index))
        product = catalog.loc[product_id]
        recent = mine[mine["ts"] > end - 7 * 86_400]
        last = mine.sort_values("ts").iloc[-1]
        candidates = [
            Reason(
                code="category_affinity",
                facts={
                    "category": top_category,
                    "views_7d": int((recent["category"] == top_category).sum()),
                },
                weight=float(rng.uniform(0.4, 1.0)),
            ),
            Reason(
                code="recently_viewed",
                facts={"title": str(last["title"]), "days_ago": int((end - last["ts"]) // 86_400)},
                weight=float(rng.uniform(0.2, 0.9)),
            ),
            Reason(
                code="trending", facts={"category": top_category}, weight=float(rng.uniform(0, 0.5))
            ),
            Reason(
                code="region_trending",
                facts={"region": str(user["region"])},
                weight=float(rng.uniform(0, 0.4)),
            ),
            Reason(
                code="price_fit",
                facts={
                    "price": float(product["price"]),
                    "typical_price": round(float(mine["price"].median()), 2),
                },
                weight=float(rng.uniform(0, 0.6)),
            ),
            Reason(
                code="co_viewed",
                facts={"title": str(last["title"])},
                weight=float(rng.uniform(0, 0.6)),
            ),
        ]
        if product["brand"] in list(user["brands_followed"]):
            candidates.append(
                Reason(code="followed_brand", facts={"brand": str(product["brand"])}, weight=0.8)
            )
        if top_category in list(user["categories_liked"]):
            candidates.append(
                Reason(code="liked_category", facts={"category": top_category}, weight=0.7)
            )
        if float(product["discount"]) > 0:
            pct = round(float(product["discount"]) * 100)
            candidates.append(Reason(code="discount", facts={"discount_pct": pct}, weight=0.6))
        days_since_launch = int((end - float(product["launch_ts"])) // 86_400)
        if 0 <= days_since_launch <= 30:
            candidates.append(
                Reason(
                    code="new_arrival", facts={"days_since_launch": days_since_launch}, weight=0.5
                )
            )
        k = int(rng.integers(1, 4))
        reasons = list(
            rng.choice(
                np.array(candidates, dtype=object), size=min(k, len(candidates)), replace=False
            )
        )
        query = None
        if rng.random() < 0.35:
            cap = next(
                c for c in (25, 50, 100, 200, 500, 1000, 5000) if c >= float(product["price"])
            )
            query = f"{top_category.lower()} under ${cap}"
            reasons.insert(
                0, Reason(code="query_match", facts={"terms": top_category.lower()}, weight=0.9)
            )
        packs.append(
            Evidence(
                product_id=product_id,
                title=str(product["title"]),
                brand=str(product["brand"]),
                category=str(product["category"]),
                price=float(product["price"]),
                discount=float(product["discount"]),
                reasons=reasons,
                query=query,
            )
        )
    return packs, vocabulary
