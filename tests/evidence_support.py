"""The evidence packs the explanation tests share: a pair of hiking boots and a tent, each
with the reasons most tests give it; a test that needs other reasons or a query passes
them (``boots(reasons=[...], query=...)``), the product stays the same."""

from __future__ import annotations

from typing import Any

from models.evidence import Evidence, Reason

VIEWED_BOOTS = Reason(code="category_affinity", facts={"category": "Hiking Boots", "views_7d": 4})
BOOTS_OFF = Reason(code="discount", facts={"discount_pct": 20}, weight=0.5)
BOOTS_QUERY = "waterproof hiking boots under $80"
SEARCHED_BOOTS = Reason(code="query_match", facts={"terms": "waterproof hiking boots"})
FOLLOWS_CEDARWOOD = Reason(code="followed_brand", facts={"brand": "Cedarwood"})
TENTS_TRENDING = Reason(code="trending", facts={"category": "Tents"}, weight=0.5)


def boots(product_id: str = "p1", **fields: Any) -> Evidence:
    """Northpeak Waterproof Hiking Boots, $79.99 at 20% off, for a shopper who viewed four
    hiking boots this week."""
    values: dict[str, Any] = {
        "product_id": product_id,
        "title": "Northpeak Waterproof Hiking Boots",
        "brand": "Northpeak",
        "category": "Hiking Boots",
        "price": 79.99,
        "discount": 0.2,
        "reasons": [VIEWED_BOOTS, BOOTS_OFF],
    }
    return Evidence(**(values | fields))


def tent(product_id: str = "p-tent", **fields: Any) -> Evidence:
    """Cedarwood Ultralight Dome Tent, $249, from a brand the shopper follows, trending in
    Tents."""
    values: dict[str, Any] = {
        "product_id": product_id,
        "title": "Cedarwood Ultralight Dome Tent",
        "brand": "Cedarwood",
        "category": "Tents",
        "price": 249.0,
        "reasons": [FOLLOWS_CEDARWOOD, TENTS_TRENDING],
    }
    return Evidence(**(values | fields))
