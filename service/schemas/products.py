"""Products as the API shows them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProductBase(BaseModel):
    product_id: str = Field(examples=["p-000042"])
    title: str = Field(examples=["Trailblazer GTX running shoe"])
    category: str = Field(examples=["Trail Running"])
    brand: str | None = Field(examples=["Northpeak"])
    price: float = Field(description="List price.", examples=[89.9])
    discount: float = Field(description="Fraction off the list price, 0–0.9.", examples=[0.1])


class ProductPublic(ProductBase):
    description: str | None = None
    department: str | None = None
    attributes: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    popularity: float = Field(description="Decayed popularity (log2 scale); higher is hotter.")
