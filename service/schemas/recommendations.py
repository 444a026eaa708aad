"""Asking for recommendations, and what comes back."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from models.evidence import ExplanationSource, Reason

ExplainMode = Literal["none", "template", "llm", "best_of"]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MAX_PRICE = 10_000_000.0


def _no_control_characters(value: str | None) -> str | None:
    if value is not None and _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


class RecommendationContext(BaseModel):
    """What the shopper is looking for right now. Filters are hard constraints."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    query: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Free text, e.g. 'waterproof trail shoes under 120'. Understood parts "
        "(price, category, brand, colour) become filters; the rest ranks by relevance.",
        examples=["waterproof trail shoes"],
    )
    category: str | None = Field(default=None, min_length=1, max_length=128)
    brand: str | None = Field(default=None, min_length=1, max_length=128)
    # strict numbers and flags: a JSON body gets no coercion (false is not 0), as documented.
    min_price: float | None = Field(default=None, ge=0, le=_MAX_PRICE, strict=True)
    max_price: float | None = Field(default=None, ge=0, le=_MAX_PRICE, strict=True)
    exclude_purchased: bool = Field(
        default=True,
        strict=True,
        description="Leave out products the shopper already bought (their whole history).",
    )
    exclude_seen: bool = Field(
        default=False,
        strict=True,
        description="Also leave out products the shopper viewed, clicked or carted (their "
        "whole history); off by default: a shop where shoppers return to what they looked at "
        "loses its best candidates.",
    )

    @field_validator("query", "category", "brand")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return _no_control_characters(value)

    @field_validator("max_price")
    @classmethod
    def _price_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("min_price")
        if value is not None and low is not None and low > value:
            raise ValueError("must not be below min_price")
        return value


class RecommendationBase(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    k: int = Field(
        default=10, ge=1, le=100, strict=True, description="How many products to return (1–100)."
    )
    context: RecommendationContext = Field(default_factory=RecommendationContext)
    explain: ExplainMode = Field(
        default="template",
        description="none: no text; template: deterministic text (microseconds); llm: one "
        "grounded LLM text per item within the time budget; best_of: several, the most "
        "grounded kept. LLM text that fails the grounding check falls back to the template.",
    )
    diversity: float = Field(
        default=0.0,
        ge=0,
        le=1,
        strict=True,
        description="0 keeps the ranking as scored; 1 spreads the list over brands and "
        "categories (MMR re-ranking).",
    )


class RecommendationCreate(RecommendationBase):
    """A request for one shopper's recommendations."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "user_id": "u-00042",
                    "k": 5,
                    "context": {"category": "Trail Running", "max_price": 150},
                    "explain": "template",
                }
            ]
        },
    )

    user_id: str = Field(min_length=1, max_length=128, examples=["u-00042"])

    @field_validator("user_id")
    @classmethod
    def _printable_id(cls, value: str) -> str:
        if value.strip() == "":
            raise ValueError("must not be only whitespace")
        _no_control_characters(value)
        return value


class ExplanationPublic(BaseModel):
    text: str = Field(examples=["You viewed 4 items in Trail Running this week."])
    source: ExplanationSource = Field(description="Who wrote the text (see the docs).")
    grounded: bool = Field(description="Every claim in the text is in the shopper's evidence.")
    pending: bool = Field(
        default=False,
        description="The LLM is still writing this item's text: the template text shows "
        "until it arrives on the recommendation's explanation stream.",
    )


class RecommendedItemPublic(BaseModel):
    product_id: str
    title: str
    category: str
    brand: str | None
    price: float = Field(description="List price (what the price filters compare).")
    discount: float = Field(description="Fraction off the list price.")
    score: float = Field(description="Ranking score; higher ranks first.")
    sources: list[str] = Field(
        description="Which candidate generators proposed it, e.g. co_occurrence, trending."
    )
    reasons: list[Reason] = Field(description="Reason codes with their facts, strongest first.")
    explanation: ExplanationPublic | None = Field(
        default=None, description="Absent when explain is 'none'."
    )


_ANSWER_EXAMPLE: dict[str, Any] = {
    "recommendation_id": "rec-5b1c0e9a2f4d7731",
    "model_version": "20261129T101229982Z",
    "user_id": "u-00042",
    "items": [
        {
            "product_id": "p-000042",
            "title": "Trailblazer GTX running shoe",
            "category": "Trail Running",
            "brand": "Northpeak",
            "price": 89.9,
            "discount": 0.1,
            "score": 1.42,
            "sources": ["top_category", "co_occurrence"],
            "reasons": [
                {
                    "code": "category_affinity",
                    "facts": {"category": "Trail Running", "views_7d": 4},
                    "weight": 0.61,
                }
            ],
            "explanation": {
                "text": "You viewed 4 items in Trail Running this week.",
                "source": "template",
                "grounded": True,
            },
        }
    ],
    "degraded": False,
    "candidates": 312,
    "shortfall": 0,
    "note": None,
    "timings_ms": {"user_state": 0.4, "neighbours": 0.3, "rank": 6.1, "explain": 0.5},
}


class RecommendationPublic(BaseModel):
    """Ranked products for one shopper, each with its reasons and explanation."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ANSWER_EXAMPLE]})

    recommendation_id: str = Field(
        description="Send it back with events (recommendation_id) to attribute them."
    )
    model_version: str | None = Field(description="None when ranking is heuristic.")
    user_id: str
    items: list[RecommendedItemPublic]
    degraded: bool = Field(
        description="True when the answer came from a fallback: no trained model "
        "(heuristic ranking) or the feature store unreachable (popularity snapshot)."
    )
    candidates: int = Field(
        default=0, description="How many products were scored (0 for a degraded answer)."
    )
    shortfall: int = Field(default=0, description="How many fewer than k products met the filters.")
    note: str | None = Field(default=None, description="Why fewer items or a degraded answer.")
    timings_ms: dict[str, float] = Field(description="Where the time went, by stage.")
    pending_explanations: int = Field(
        default=0, description="How many items' LLM texts are still being written."
    )
    explanations_url: str | None = Field(
        default=None,
        description="Where those texts arrive: server-sent events (Accept: text/event-stream) "
        "or JSON to poll. None when nothing is pending.",
        examples=["/v1/recommendations/rec-5b1c0e9a2f4d7731/explanations"],
    )
