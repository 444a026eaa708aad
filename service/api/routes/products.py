"""Products from the in-process catalog snapshot."""

from __future__ import annotations

import json
import math
from typing import Annotated

from fastapi import APIRouter, Path

from service.api.deps import RecommendCaller, StateDep
from service.edge.problems import Problem
from service.runtime.snapshot import CatalogSnapshot
from service.schemas.products import ProductPublic
from shopmode.errors import NotFound

router = APIRouter(prefix="/v1/products", tags=["products"])

ProductId = Annotated[str, Path(min_length=1, max_length=128, examples=["p-000042"])]


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def product_public(snapshot: CatalogSnapshot, position: int) -> ProductPublic:
    catalog = snapshot.catalog
    row = catalog.frame.iloc[position]
    attributes: dict[str, str | int | float | bool | None] = {}
    raw = _text(row.get("attributes"))
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {}
        if isinstance(parsed, dict):
            attributes = {
                str(k): v for k, v in parsed.items() if isinstance(v, str | int | float | bool)
            }
    brand_code = int(catalog.brand_code[position])
    return ProductPublic(
        product_id=str(catalog.product_ids[position]),
        title=str(row["title"]),
        category=catalog.categories[int(catalog.category_code[position])],
        brand=catalog.brands[brand_code] if brand_code >= 0 else None,
        price=float(catalog.price[position]),
        discount=float(catalog.discount[position]),
        description=_text(row.get("description")),
        department=_text(row.get("department")),
        attributes=attributes,
        popularity=float(snapshot.popularity[position]),
    )


@router.get(
    "/{product_id}",
    summary="One product",
    responses={404: {"model": Problem, "description": "No such product."}},
)
async def get_product(
    product_id: ProductId, caller: RecommendCaller, state: StateDep
) -> ProductPublic:
    snapshot = state.snapshot
    position = -1 if snapshot is None else snapshot.catalog.position(product_id)
    if snapshot is None or position < 0:
        raise NotFound(f"no product {product_id!r}")
    return product_public(snapshot, position)
