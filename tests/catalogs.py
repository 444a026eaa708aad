"""The small hand-made catalogs the service tests share (the feature store's own, with the
characters that could break a key layout, is ``features_support.small_catalog``)."""

from __future__ import annotations

import pandas as pd

from features.catalog import Catalog
from features.store.catalog import save_catalog
from features.store.runner import SyncClient, SyncRunner

SHOP_CATEGORIES = ["Trail Running", "Outerwear", "Camping"]


def three_products() -> Catalog:
    """A trail shoe (red, 10% off), a rain jacket and a camp mug; two brands."""
    return Catalog.from_frame(
        pd.DataFrame(
            {
                "product_id": ["p1", "p2", "p3"],
                "title": ["Trail shoe", "Rain jacket", "Camp mug"],
                "category": ["Trail Running", "Outerwear", "Camping"],
                "brand": ["Northpeak", "Northpeak", "Ember"],
                "price": [89.9, 120.0, 12.5],
                "discount": [0.1, 0.0, 0.0],
                "attributes": ['{"colour": "red"}', "{}", "{}"],
            }
        )
    )


def shop_catalog(n: int = 30) -> Catalog:
    """``n`` items ``p0``.. over three categories and two brands, priced 10, 15, 20..."""
    return Catalog.from_frame(
        pd.DataFrame(
            {
                "product_id": [f"p{i}" for i in range(n)],
                "title": [f"Item {i}" for i in range(n)],
                "category": [SHOP_CATEGORIES[i % 3] for i in range(n)],
                "brand": ["Northpeak" if i % 2 else "Ember" for i in range(n)],
                "price": [10.0 + 5 * i for i in range(n)],
                "discount": [0.0] * n,
            }
        )
    )


def store_catalog(client: SyncClient, catalog: Catalog) -> None:
    """Store ``catalog`` as ``shopmode ingest --catalog`` does."""
    SyncRunner(client).run(save_catalog(catalog))
